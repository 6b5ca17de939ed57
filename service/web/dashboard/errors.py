"""Dashboard failures as pages, not the API's JSON.

A GET without a session goes to the sign-in form; a refused POST (CSRF, monitor,
ended session), another site's study id (404) or bad input gets an HTML page in the
visitor's language with a way back. Registered on the dashboard's router only, so the
API keeps its JSON errors.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from service.actions.access import normal_locale
from service.actions.errors import ActionError
from service.web.dashboard.csrf import PRESESSION_COOKIE, presession_token
from service.web.dashboard.headers import SECURITY_HEADER_VALUES
from service.web.dashboard.render import N_, render_public
from service.web.dashboard.session import SignInRequired, login_url

LANG_COOKIE: Final = "fu_lang"

MESSAGES: Final = {
    400: N_("The request could not be read."),
    401: N_("Please sign in."),
    403: N_("You are not allowed to do this, or the form has expired. Nothing was changed."),
    404: N_("This page does not exist, or it belongs to a site you do not see."),
    405: N_("This page does not accept that request."),
    409: N_("This conflicts with what is already recorded. Nothing was changed."),
    429: N_("Too many attempts. Please wait a moment and try again."),
    503: N_("The database is not answering. Nothing was changed; try again in a minute."),
    507: N_("The database's disk is full. Nothing was changed; try again later."),
}
FALLBACK: Final = N_("Something went wrong. Nothing was changed.")


def visitor_locale(request: Request[Any, Any, Any]) -> str:
    """The language of a page shown without a session: ``?lang=``, then the cookie."""
    return normal_locale(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def error_page(request: Request[Any, Any, Any], status_code: int) -> Response[Any]:
    nonce = request.cookies.get(PRESESSION_COOKIE, "")
    secret_key: str = request.app.state.runtime.settings.secret_key
    page = render_public(
        visitor_locale(request),
        presession_token(secret_key, nonce) if nonce else "",
        "dashboard/error.html",
        status_code=status_code,
        message=MESSAGES.get(status_code, FALLBACK),
        code=status_code,
        public_nav=True,  # the main pages, whoever is asking (they lead to sign-in if needed)
    )
    page.headers.update(SECURITY_HEADER_VALUES)  # the router's headers skip error answers
    return page


def sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    """A 303 to the sign-in form; for an htmx request (a poll, a partial) an
    ``HX-Redirect`` instead, so the login page is not swapped into a table cell."""
    if request.headers.get("hx-request") == "true":
        page = urlsplit(request.headers.get("hx-current-url", ""))
        back = page.path + (f"?{page.query}" if page.query else "") or exc.next_path
        return Response(b"", status_code=204, headers={"HX-Redirect": login_url(back)})
    return Redirect(login_url(exc.next_path), status_code=303)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return error_page(request, exc.status_code)


def action_error(request: Request[Any, Any, Any], exc: ActionError) -> Response[Any]:
    return error_page(request, exc.status_code)


DASHBOARD_EXCEPTION_HANDLERS: Final[dict[Any, Any]] = {
    SignInRequired: sign_in_required,
    HTTPException: http_error,
    ActionError: action_error,
}
