"""One way every new dashboard form runs: read, act, redirect (post/redirect/get).

Order of checks on a POST: the router's CSRF guard (403, nothing read), the page's
role check (403), the form's shape (unknown or repeated fields: 400), then the action,
which validates and writes in one transaction. Success: 303 to the page with
``?saved=<what>``, which says so. A refusal the person can correct: 303 back to the page
with the message beside the field and what was typed kept (``form_state``). A 403/404
from the action (another site's record) stays the dashboard's error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request
from litestar.response import Redirect, Template

from service.actions.errors import ActionError
from service.web.dashboard.form_state import FormState, cleared, pending, refused
from service.web.dashboard.forms import read_form
from service.web.dashboard.render import N_, render_page
from service.web.dashboard.session import Viewer

FORM_PROBLEM: Final = N_("Please correct the marked field; nothing was saved.")


class Refuse(Exception):
    """A value the person must correct: the field and the message (a msgid)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field)
        self.field, self.message = field, message


def with_query(path: str, **params: str) -> str:
    joiner = "&" if "?" in path else "?"
    return path + joiner + urlencode(params)


async def run_form(
    request: Request[Any, Any, Any],
    *,
    back: str,
    form: str,
    fields: Iterable[str],
    action: Callable[[dict[str, str]], Awaitable[str]],
    messages: Mapping[str, str],
    multi: Iterable[str] = (),
    done: Callable[[str], str] | None = None,
) -> Redirect:
    """Run ``action`` on the posted values; ``messages`` words an action's refusal per
    field (``"409:phone"`` for a conflict on that field, else ``"phone"``); ``done``
    maps what the action returned to the page to go to (default: ``back?saved=…``)."""
    values = await read_form(request, fields, multi=multi)
    try:
        saved = await action(values)
    except Refuse as refusal:
        errors = {refusal.field: refusal.message}
    except ActionError as exc:
        if exc.status_code in (403, 404) and exc.field is None:
            raise
        name = exc.field if exc.field in values else "form"
        message = messages.get(f"{exc.status_code}:{name}") or messages.get(name)
        errors = {name: message or FORM_PROBLEM}
    else:
        to = done(saved) if done else with_query(back, saved=saved)
        return Redirect(to, status_code=303)
    return refused(request, back, FormState(form=form, errors=errors, values=values))


def form_page(
    request: Request[Any, Any, Any], viewer: Viewer, template: str, **context: Any
) -> Template:
    """A page with forms: the refusal waiting for it (if any) as ``refusal``, shown once."""
    refusal = pending(request) or FormState()
    return cleared(request, render_page(viewer, template, refusal=refusal, **context))
