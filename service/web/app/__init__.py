"""The participant web app at ``/app``: server-rendered pages for ordinary phones.

Spanish by default, English on request (``?lang=en``), no front-end framework and no
inline script. Sign-in, the next visit and check-ins are the mobile API's own use
cases (access, calendars, checkins), so a participant's answer here is the same record
under the same rules as by SMS or the app (channel ``web``). ``app_router`` mounts the
pages with the CSRF guard and HTML error pages.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException

from service.web.app.demo_phone import DemoPhoneController
from service.web.app.history import AppHistoryController
from service.web.app.installable import AppInstallController
from service.web.app.pages import AppPagesController
from service.web.app.preferences import AppPreferencesController
from service.web.app.report import AppReportController
from service.web.app.session import csrf_guard, render
from service.web.error_codes import ERROR_CODES, error_code

__all__ = ["app_router"]


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    words = ERROR_CODES.get(error_code(status, None))
    return render(
        request,
        "app/error.html",
        actor=None,
        status_code=status,
        error=words.words if words else None,
    )


def app_router() -> Router:
    """The app's pages, and ``/demo/phone`` (a 404 unless ``serve --demo`` with console
    SMS: see ``demo_phone``)."""
    return Router(
        path="/",
        route_handlers=[
            AppPagesController,
            AppReportController,
            AppPreferencesController,
            AppHistoryController,
            AppInstallController,
            DemoPhoneController,
        ],
        guards=[csrf_guard],
        exception_handlers={HTTPException: _error_page},
        include_in_schema=False,
    )
