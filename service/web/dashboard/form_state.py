"""Post/redirect/get for refused forms: the browser never stays on a POST URL.

A form the service refuses (a field to correct, a conflict) answers ``303`` back to
the page it came from, like a success does; what the page needs to show the refusal
(which form, the message beside each field, what was typed, a flash) travels in a
short-lived cookie that the next GET of that page reads once and clears. Reloading
then re-reads the page instead of re-posting the form, and the back button works.

The cookie is signed (HMAC under ``SECRET_KEY``) and bound to the session (or, before
sign-in, to the pre-session cookie) and to the page's path, so it cannot be planted
from elsewhere or replayed in another session. It never holds a password.
"""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from service.security import keyed_hash
from service.web.auth import runtime_of
from service.web.dashboard.csrf import PRESESSION_COOKIE, SESSION_COOKIE

COOKIE: Final = "fu_form"
MAX_AGE: Final = 300
_VALUE_MAX: Final = 600  # per field: enough to keep what was typed, bounded cookie size
_NEVER_KEPT: Final = frozenset({"password", "csrf_token"})

__all__ = ["FormState", "cleared", "pending", "refused"]

R = TypeVar("R", bound=Response[Any])


@dataclass(frozen=True, slots=True)
class FormState:
    """A refused form, as the page shows it after the redirect."""

    form: str | None = None  # which form on the page (None: only a flash)
    errors: dict[str, str] = field(default_factory=dict)  # field -> message (msgid)
    values: dict[str, str] = field(default_factory=dict)  # what was typed
    flash: str | None = None  # a message (msgid) above the page
    target: str | None = None  # the item the form was about (an alert id, a queue item)


def _binding(request: Request[Any, Any, Any]) -> str:
    return request.cookies.get(SESSION_COOKIE) or "pre:" + request.cookies.get(
        PRESESSION_COOKIE, ""
    )


def _signature(request: Request[Any, Any, Any], path: str, payload: str) -> str:
    secret: str = runtime_of(request).settings.secret_key
    return keyed_hash(secret, f"form:{_binding(request)}:{path}:{payload}")


def _cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    secure = request.url.scheme == "https" or runtime_of(
        request
    ).settings.public_base_url.startswith("https://")
    return Cookie(
        key=COOKIE,
        value=value,
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=max_age,
    )


def refused(request: Request[Any, Any, Any], to: str, state: FormState) -> Redirect:
    """A 303 back to ``to`` (a path, maybe with ``#fragment``) carrying ``state``."""
    path = to.split("#", 1)[0].split("?", 1)[0]
    kept = {k: v[:_VALUE_MAX] for k, v in state.values.items() if k not in _NEVER_KEPT}
    data = {
        "form": state.form,
        "errors": state.errors,
        "values": kept,
        "flash": state.flash,
        "target": state.target,
    }
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    signed = f"{payload}.{_signature(request, path, payload)}"
    return Redirect(to, status_code=303, cookies=[_cookie(request, signed, MAX_AGE)])


def pending(request: Request[Any, Any, Any]) -> FormState | None:
    """The refused form waiting for this page, if any (pass the page to ``cleared``)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    payload, _, signature = raw.rpartition(".")
    expected = _signature(request, request.url.path, payload)
    if not payload or not hmac.compare_digest(signature, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    return FormState(
        form=data.get("form"),
        errors={str(k): str(v) for k, v in (data.get("errors") or {}).items()},
        values={str(k): str(v) for k, v in (data.get("values") or {}).items()},
        flash=data.get("flash"),
        target=data.get("target"),
    )


def cleared(request: Request[Any, Any, Any], page: R) -> R:
    """``page``, clearing the refused form's cookie if the request brought one (it is
    shown once; a reload shows the page as it is)."""
    if request.cookies.get(COOKIE):
        page.cookies.append(_cookie(request, "", 0))
    return page
