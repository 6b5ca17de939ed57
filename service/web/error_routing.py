"""Which error answer a request gets when no router of its own decided: the API's
JSON, or under /dashboard an HTML page.

Why a module of its own: the API's handlers (``service.web.errors``) use the
dashboard's translations, so the dashboard cannot import them back; this module
imports both and is registered on the app.

* An ``HTTPException`` raised before a route is found (an unknown path, a method the
  path does not take) under /dashboard gets the dashboard's error page, with its
  security headers.
* A database that is away, full or read-only answers 503 (507 disk full) with
  ``Retry-After``, as a page under /dashboard and as JSON elsewhere, logged once per
  outage (``service.db.faults``); anything else is the API's logged 500.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from service.db.faults import OUTAGES, database_fault
from service.web.dashboard.errors import error_page
from service.web.errors import database_fault_headers, http_error_handler, internal_error_handler


def _dashboard(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path == "/dashboard" or path.startswith("/dashboard/")


def any_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if _dashboard(request):
        return error_page(request, exc.status_code)
    return http_error_handler(request, exc)


def any_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    fault = database_fault(exc)
    if fault is None or not _dashboard(request):
        return internal_error_handler(request, exc)  # JSON 503/507 for a fault, else 500
    OUTAGES.met(fault, exc)
    page = error_page(request, fault.status_code)
    page.headers.update(database_fault_headers(fault))
    return page
