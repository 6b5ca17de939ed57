"""A refused form, redirected back (post/redirect/get) with its errors and values.

A refused POST answers 303 to the page it came from, so the browser never rests on
the POST's URL (a reload does not post again, the back button works). What the page
needs to show the refusal, which form, the message beside each field and what was
typed, travels in a short-lived cookie (``fu_form``, HttpOnly, SameSite=Lax, path
/dashboard, 10 minutes) signed with an HMAC under ``SECRET_KEY`` and bound to the
session's cookie, read once by the next GET of that page and then cleared. Passwords
are never put in it; values are cut to a few hundred characters each.
"""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Final

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from service.security import keyed_hash
from service.web.dashboard.csrf import SESSION_COOKIE

COOKIE: Final = "fu_form"
MAX_AGE: Final = 600
VALUE_MAX: Final = 300
COOKIE_MAX: Final = 3600  # bytes: under the 4096 every browser keeps
SECRET_FIELDS: Final = frozenset({"password", "csrf_token"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a page shows after its form was refused (``form`` names the form)."""

    form: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> message msgid
    values: dict[str, str] = field(default_factory=dict)
    path: str = ""

    def value(self, form: str, name: str, default: str = "") -> str:
        return self.values.get(name, default) if form == self.form else default

    def error(self, form: str, name: str) -> str | None:
        return self.errors.get(name) if form == self.form else None


def _signature(request: Request[Any, Any, Any], payload: str) -> str:
    secret: str = request.app.state.runtime.settings.secret_key
    session = request.cookies.get(SESSION_COOKIE, "")
    return keyed_hash(secret, f"form:{session}:{payload}")


def _cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    secure = request.url.scheme == "https" or str(
        request.app.state.runtime.settings.public_base_url
    ).startswith("https://")
    return Cookie(
        key=COOKIE,
        value=value,
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=max_age,
    )


def refused(
    request: Request[Any, Any, Any],
    to: str,
    form: str,
    errors: dict[str, str],
    values: dict[str, str],
) -> Redirect:
    """303 back to ``to`` (a local path), the refusal riding along in the cookie."""
    kept = {k: v[:VALUE_MAX] for k, v in values.items() if k not in SECRET_FIELDS}
    path = to.split("?", 1)[0]
    body = {"f": form, "e": errors, "v": kept, "p": path}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    if len(payload) > COOKIE_MAX:  # keep the messages, drop what was typed
        body["v"] = {}
        payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    value = f"{payload}.{_signature(request, payload)}"
    return Redirect(to, status_code=303, cookies=[_cookie(request, value, MAX_AGE)])


def taken(request: Request[Any, Any, Any]) -> Refusal:
    """The refusal waiting for this page (an empty one if none, or forged, or stale)."""
    raw = request.cookies.get(COOKIE, "")
    payload, _, signature = raw.partition(".")
    if not payload or not hmac.compare_digest(signature, _signature(request, payload)):
        return Refusal()
    try:
        body = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return Refusal()
    if body.get("p") != request.url.path:
        return Refusal()
    return Refusal(
        form=str(body.get("f", "")),
        errors={str(k): str(v) for k, v in dict(body.get("e", {})).items()},
        values={str(k): str(v) for k, v in dict(body.get("v", {})).items()},
        path=str(body.get("p", "")),
    )


def shown(request: Request[Any, Any, Any], page: Template, refusal: Refusal) -> Template:
    """The page, clearing the cookie once its refusal has been shown."""
    if refusal.form or COOKIE in request.cookies:
        page.cookies.append(_cookie(request, "", 0))
    return page
