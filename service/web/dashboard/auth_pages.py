"""Sign-in and sign-out, and ``/`` pointing at the dashboard.

Sign-in goes through ``service.actions.access.authenticate_staff`` like the API's token
route (same accounts, same throttle per account and per address, channel
"dashboard"); a success starts a server-side session whose token is the cookie.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from service.actions.access import (
    BadCredentials,
    LoginThrottled,
    authenticate_staff,
    end_session,
    start_dashboard_session,
)
from service.runtime import Runtime
from service.security import new_secret
from service.web.dashboard.csrf import PRESESSION_COOKIE, SESSION_COOKIE, presession_token
from service.web.dashboard.errors import LANG_COOKIE, visitor_locale
from service.web.dashboard.forms import read_form
from service.web.dashboard.render import N_, render_public
from service.web.dashboard.session import safe_next

FIELD_MAX: Final = 254
LANG_MAX_AGE: Final = 365 * 24 * 3600


def _secure(rt: Runtime, request: Request[Any, Any, Any]) -> bool:
    """Secure cookies when the service is reached over https: its public URL says so,
    or this request came over https (uvicorn reads X-Forwarded-Proto only from the
    proxies FORWARDED_ALLOW_IPS trusts)."""
    return rt.settings.public_base_url.startswith("https://") or request.url.scheme == "https"


def _cookie(
    rt: Runtime, request: Request[Any, Any, Any], key: str, value: str, **kw: Any
) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(rt, request),
        **kw,
    )


def _login_page(
    rt: Runtime,
    request: Request[Any, Any, Any],
    nonce: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    locale = visitor_locale(request)
    context.setdefault("next", safe_next(request.query_params.get("next")))
    context.setdefault("email", "")
    return render_public(
        locale,
        presession_token(rt.settings.secret_key, nonce),
        "dashboard/login.html",
        status_code=status_code,
        **context,
    )


class DashboardAuthController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", status_code=303)
    async def root(self) -> Redirect:
        return Redirect("/dashboard", status_code=303)

    @get("/dashboard/login")
    async def login_form(self, rt: Runtime, request: Request[Any, Any, Any]) -> Response[Any]:
        # Shown even to someone signed in: on a shared clinic computer the next person
        # signs in over the previous session, which the POST then ends.
        nonce = request.cookies.get(PRESESSION_COOKIE) or new_secret()
        page = _login_page(rt, request, nonce)
        page.cookies.append(_cookie(rt, request, PRESESSION_COOKIE, nonce))
        lang = request.query_params.get("lang")
        if lang in {"es", "en"}:
            page.cookies.append(_cookie(rt, request, LANG_COOKIE, lang, max_age=LANG_MAX_AGE))
        return page

    @post("/dashboard/login", status_code=303)
    async def login(self, rt: Runtime, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await read_form(request, ("email", "password", "next"))
        email = form["email"].strip()[:FIELD_MAX]
        password = form["password"]
        next_path = safe_next(form["next"])
        nonce = request.cookies.get(PRESESSION_COOKIE, "")
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = N_("Enter your email address.")
        if not password:
            errors["password"] = N_("Enter your password.")
        if errors:
            return _login_page(
                rt, request, nonce, status_code=400, errors=errors, email=email, next=next_path
            )
        address = request.client.host if request.client else None
        try:
            user = await authenticate_staff(rt, email, password, address, channel="dashboard")
        except LoginThrottled as exc:
            page = _login_page(
                rt,
                request,
                nonce,
                status_code=429,
                errors={"form": N_("Too many failed sign-ins. Wait a few minutes and try again.")},
                email=email,
                next=next_path,
            )
            page.headers["Retry-After"] = str(exc.retry_after_s)
            return page
        except BadCredentials:
            return _login_page(
                rt,
                request,
                nonce,
                status_code=401,
                errors={"form": N_("The email or the password is wrong.")},
                email=email,
                next=next_path,
            )
        previous = request.cookies.get(SESSION_COOKIE, "")
        if previous:  # whoever was signed in on this browser is signed out first
            await end_session(rt, previous)
        token = await start_dashboard_session(rt, user, visitor_locale(request))
        return Redirect(
            next_path, status_code=303, cookies=[_cookie(rt, request, SESSION_COOKIE, token)]
        )

    @post("/dashboard/logout", status_code=303)
    async def logout(self, rt: Runtime, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            await end_session(rt, token)
        gone = _cookie(rt, request, SESSION_COOKIE, "", max_age=0)
        return Redirect("/dashboard/login", status_code=303, cookies=[gone])
