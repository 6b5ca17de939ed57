"""The participant web app's session, CSRF tokens, language and page rendering.

The session is the API's participant session (``access.participant_for_session``):
the same sliding 30 days, ended the same way by withdrawal, an opt-out, a phone
change or a coordinator's revocation. Its token lives only in an HttpOnly,
SameSite=Strict cookie (Secure over https), never in page storage or a URL.

CSRF: every form carries ``csrf_token``, an HMAC under SECRET_KEY of the session
cookie (signed in) or of a random pre-session cookie (the sign-in forms), never
stored; the router's guard refuses an unsafe request without it before any handler.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, Final

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Template

from service.actions import access
from service.domain.actors import Actor
from service.domain.languages import DEFAULT_LANGUAGE, LANGUAGES
from service.runtime import Runtime
from service.security import keyed_hash
from service.web.dashboard.render import page_context
from service.web.participant_language import accepted_language

SESSION_COOKIE: Final = "fu_app"
PRESESSION_COOKIE: Final = "fu_app_csrf"
LANG_COOKIE: Final = "fu_app_lang"
FIELD: Final = "csrf_token"
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_YEAR: Final = 365 * 24 * 3600

# Scripts, styles and images from this origin only, no inline script or style, no
# framing, forms only to this origin (the dashboard's rule, stricter).
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class FormExpired(PermissionDeniedException):
    """An app form POST whose CSRF token is missing or wrong (403, nothing read)."""


def _runtime(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    rt: Runtime = connection.app.state.runtime
    return rt


DEMO_PREFIX: Final = "/demo/"


def csrf_token(secret_key: str, cookies: dict[str, str], path: str = "/app") -> str | None:
    """The token forms must carry with these cookies (None: no cookie to bind it to).

    The demo's phones bind theirs to the pre-session cookie alone, so signing in to
    ``/app`` in another tab does not expire the reply forms already on screen."""
    session = "" if path.startswith(DEMO_PREFIX) else cookies.get(SESSION_COOKIE, "")
    if session:
        return keyed_hash(secret_key, "app-csrf:session:" + session)
    nonce = cookies.get(PRESESSION_COOKIE, "")
    return keyed_hash(secret_key, "app-csrf:pre:" + nonce) if nonce else None


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method") not in _UNSAFE:
        return
    expected = csrf_token(
        _runtime(connection).settings.secret_key, connection.cookies, connection.scope["path"]
    )
    sent = ""
    if isinstance(connection, Request):
        value = (await connection.form()).get(FIELD, "")
        sent = value if isinstance(value, str) else ""
    if expected is None or not sent or not hmac.compare_digest(sent, expected):
        raise FormExpired("the form has expired or did not come from this site")


async def current_participant(request: Request[Any, Any, Any]) -> Actor | None:
    """The signed-in participant, or None (no cookie, or a session that has ended)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    return await access.participant_for_session(_runtime(request), token)


def secure(request: Request[Any, Any, Any]) -> bool:
    rt = _runtime(request)
    return rt.settings.public_base_url.startswith("https://") or request.url.scheme == "https"


def cookie(request: Request[Any, Any, Any], key: str, value: str, **kw: Any) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
        **kw,
    )


def locale_of(request: Request[Any, Any, Any], actor: Actor | None) -> str:
    """``?lang=`` first, then the visitor's choice (cookie), then the participant's
    own language, then the browser's; Spanish when nothing says otherwise."""
    for wanted in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        actor.language if actor else None,
        accepted_language(request.headers.get("accept-language", "")),
    ):
        if wanted in LANGUAGES:
            return str(wanted)
    return DEFAULT_LANGUAGE


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    actor: Actor | None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """An app page in the visitor's language, its CSRF token bound to their cookies
    (a first visit gets its pre-session cookie here)."""
    locale = locale_of(request, actor)
    cookies = dict(request.cookies)
    new: list[Cookie] = []
    path = request.url.path
    bound_to_session = cookies.get(SESSION_COOKIE) and not path.startswith(DEMO_PREFIX)
    if not bound_to_session and not cookies.get(PRESESSION_COOKIE):
        cookies[PRESESSION_COOKIE] = secrets.token_urlsafe(24)
        new.append(cookie(request, PRESESSION_COOKIE, cookies[PRESESSION_COOKIE]))
    wanted = request.query_params.get("lang")
    if wanted in LANGUAGES:
        new.append(cookie(request, LANG_COOKIE, str(wanted), max_age=_YEAR))
    token = csrf_token(_runtime(request).settings.secret_key, cookies, path) or ""
    return Template(
        template_name=template,
        context={**context, **page_context(locale, token), "signed_in": actor is not None},
        status_code=status_code,
        headers=SECURITY_HEADERS,
        cookies=new,
    )
