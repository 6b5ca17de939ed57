"""CSRF tokens for every POST under /dashboard, the sign-in form included.

The token is an HMAC under SECRET_KEY, never stored:

* signed in, it is bound to the session cookie's token, so a token taken from one
  session is worthless in another and ends with the session;
* before sign-in (the login form) it is bound to a random pre-session cookie
  (``fu_csrf``): a signed double-submit cookie. An attacker who plants a cookie of
  their own cannot compute the matching token without the key.

Forms send it as the ``csrf_token`` field, htmx requests as the ``X-CSRF-Token``
header (base.html sets ``hx-headers``). The check is a guard on the dashboard's
router, so it runs before any handler or dependency: a POST without a valid token gets
a 403 page and nothing is read from or written to the database.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from service.security import keyed_hash

SESSION_COOKIE: Final = "fu_dash"
PRESESSION_COOKIE: Final = "fu_csrf"
FIELD: Final = "csrf_token"
HEADER: Final = "x-csrf-token"
LOGIN_PATH: Final = "/dashboard/login"
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfRefused(PermissionDeniedException):
    """A dashboard POST whose token is missing or does not match (403 page)."""


def session_token(secret_key: str, session_cookie: str) -> str:
    return keyed_hash(secret_key, "csrf:session:" + session_cookie)


def presession_token(secret_key: str, presession_cookie: str) -> str:
    return keyed_hash(secret_key, "csrf:login:" + presession_cookie)


def expected_token(secret_key: str, path: str, cookies: dict[str, str]) -> str | None:
    """The token a POST to ``path`` must carry with these cookies (None: no valid one)."""
    if path.rstrip("/") == LOGIN_PATH:
        nonce = cookies.get(PRESESSION_COOKIE, "")
        return presession_token(secret_key, nonce) if nonce else None
    session = cookies.get(SESSION_COOKIE, "")
    return session_token(secret_key, session) if session else None


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse an unsafe request under /dashboard without the right token."""
    if connection.scope.get("method") not in _UNSAFE:
        return
    secret_key: str = connection.app.state.runtime.settings.secret_key
    expected = expected_token(secret_key, connection.scope["path"], connection.cookies)
    sent = connection.headers.get(HEADER, "")
    if not sent and isinstance(connection, Request):
        content_type = connection.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await connection.form()).get(FIELD, "")
            sent = value if isinstance(value, str) else ""
    if expected is None or not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRefused("the form has expired or did not come from this site")
