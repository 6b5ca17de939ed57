"""The session cookie as a dependency: every dashboard handler receives a ``Viewer``.

No valid session (none, unknown, revoked, idle too long, past its lifetime, account
disabled): a GET is sent to the sign-in form with ``next=`` the page it asked for
(303); any other method gets a 403 page, because a form posted into an ended session
must not be replayed after sign-in. In practice the CSRF guard answers such a POST
first (its token was bound to the old cookie), with the same 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.exceptions import PermissionDeniedException

from service.actions.access import set_session_locale, signed_in
from service.domain.actors import Actor
from service.domain.languages import LANGUAGES
from service.domain.states import StaffRole
from service.web.auth import runtime_of
from service.web.dashboard.csrf import SESSION_COOKIE, session_token


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at a dashboard page, and in which language."""

    actor: Actor
    email: str
    locale: str  # "es" or "en"
    csrf_token: str
    can_write: bool  # False for monitors: no writing forms, 403 on a POST


class SignInRequired(Exception):
    """Raised on a GET without a valid session; answered with a 303 to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class NotAllowed(PermissionDeniedException):
    """A 403 shown as the dashboard's error page."""


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything else (another host, a scheme,
    ``//host``, a backslash trick) becomes ``/dashboard``: no open redirect."""
    default = "/dashboard"
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in value):
        return default
    return value


def login_url(next_path: str) -> str:
    return "/dashboard/login?next=" + quote(safe_next(next_path), safe="/")


def requested_path(request: Request[Any, Any, Any]) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.scope["path"] + (f"?{query}" if query else "")


async def provide_viewer(request: Request[Any, Any, Any]) -> Viewer:
    rt = runtime_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    found = await signed_in(rt, token) if token else None
    if found is None:
        if request.method == "GET":
            raise SignInRequired(requested_path(request))
        raise NotAllowed("your session has ended; sign in again")
    locale = found.locale
    wanted = request.query_params.get("lang")
    if wanted in LANGUAGES and wanted != locale:
        await set_session_locale(rt, token, wanted, email=found.email)
        locale = wanted
    return Viewer(
        actor=found.actor,
        email=found.email,
        locale=locale,
        csrf_token=session_token(rt.settings.secret_key, token),
        can_write=found.actor.can_write,
    )


def require_writer(viewer: Viewer) -> None:
    """Monitors read everything of their sites and write nothing: 403."""
    if not viewer.can_write:
        raise NotAllowed("a monitor cannot change records")


def require_admin(viewer: Viewer) -> None:
    """Staff accounts and on-call numbers are an admin's: 403 for anyone else."""
    if viewer.actor.role is not StaffRole.ADMIN:
        raise NotAllowed("only an admin may open this page")


def require_reviewer(viewer: Viewer) -> None:
    """The audit trail is for monitors and admins (the review 21 CFR 11 expects)."""
    if viewer.actor.role not in (StaffRole.ADMIN, StaffRole.MONITOR):
        raise NotAllowed("only monitors and admins review the audit trail")
