"""Map failures onto Litestar's error shape: {status_code, detail, extra}.

An ``ActionError`` is the caller's fault and names the field. Anything else is ours:
it is logged once with its traceback (the log set-up redacts phone numbers and
secrets from it) and the request id, and the caller gets a bare 500 carrying the
same request id, so a report from the field can be found in the log. A database that
is away, full or read-only is not ours: 503 (507 for a full disk) with
``Retry-After``, one log line per outage (``service.db.faults``).

On the participant's routes (``/api/v1/mobile/``) every 4xx also carries a stable
``code`` (``service.web.error_codes``) and a ``detail`` worded for the participant, in
their language (the session's; before sign-in, the request's ``Accept-Language``,
Spanish by default). The technical English stays in ``extra[].message``.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from service.actions.errors import ActionError
from service.db.errors import ColumnValueInvalid
from service.db.faults import OUTAGES, DatabaseFault, database_fault
from service.web.dashboard.errors import error_page
from service.web.dashboard.render import say_in
from service.web.error_codes import ERROR_CODES, error_code
from service.web.participant_language import participant_locale

log = logging.getLogger("service.web")

MOBILE_PREFIX = "/api/v1/mobile/"
DASHBOARD_PREFIX = "/dashboard/"


def _for_participant(request: Request, body: dict[str, object], code: str | None) -> None:
    """Add ``code`` and the participant's words to a 4xx body on the mobile routes."""
    status = int(str(body["status_code"]))
    if not request.url.path.startswith(MOBILE_PREFIX) or not 400 <= status < 500:
        return
    if code is None and status == 400 and "unknown field" in str(body.get("extra", "")):
        code = "unknown_field"
    body["code"] = name = error_code(status, code)
    body["detail"] = say_in(participant_locale(request))(ERROR_CODES[name].words)


def action_error_handler(request: Request, exc: ActionError) -> Response[dict[str, object]]:
    extra: list[dict[str, str]] = []
    if exc.field:
        extra.append({"key": exc.field, "message": exc.message, "source": exc.source})
    retry_after = getattr(exc, "retry_after_s", None)
    body: dict[str, object] = {"status_code": exc.status_code, "detail": exc.message}
    body["extra"] = extra
    _for_participant(request, body, exc.code)
    return Response(
        body,
        status_code=exc.status_code,
        headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
    )


def http_error_handler(request: Request, exc: HTTPException) -> Response[Any]:
    """Litestar's own 4xx (auth, validation, not found) as JSON on every route.

    Without it an error on a route that answers another media type (calendar.ics)
    took that media type, and a client expecting the documented JSON error broke.
    A path under /dashboard that matches no route is a person's mistyped address: the
    dashboard's error page answers it, with the navigation.
    """
    if exc.status_code == 404 and request.url.path.startswith(DASHBOARD_PREFIX):
        return error_page(request, 404)
    body: dict[str, object] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    _for_participant(request, body, None)
    return Response(
        body,
        status_code=exc.status_code,
        headers=exc.headers,
        media_type="application/json",
    )


def model_validation_handler(
    request: Request, exc: ColumnValueInvalid
) -> Response[dict[str, object]]:
    """A value the database column cannot hold, caught by Tortoise (too long for a
    lookup, say). Actions check their input first; this is the net under them. The
    value itself is never echoed: it is whatever a caller sent."""
    field = str(exc).split(":", 1)[0].strip() if ":" in str(exc) else "body"
    if not field.isidentifier():
        field = "body"
    message = f"{field} is too long or not valid"
    body: dict[str, object] = {
        "status_code": 400,
        "detail": message,
        "extra": [{"key": field, "message": message, "source": "body"}],
    }
    _for_participant(request, body, None)
    return Response(body, status_code=400)


DATABASE_DETAILS = {
    DatabaseFault.UNAVAILABLE: "The database is not answering; try again shortly.",
    DatabaseFault.FULL: "The database's disk is full; nothing was saved. Try again later.",
    DatabaseFault.READ_ONLY: "The database cannot be written; nothing was saved.",
}


def database_fault_headers(fault: DatabaseFault) -> dict[str, str]:
    return {"Retry-After": str(fault.retry_after_s)}


def internal_error_handler(request: Request, exc: Exception) -> Response[dict[str, object]]:
    fault = database_fault(exc)
    if fault is not None:
        OUTAGES.met(fault, exc)  # one log line per outage, not a traceback per request
        return Response(
            {"status_code": fault.status_code, "detail": DATABASE_DETAILS[fault], "extra": {}},
            status_code=fault.status_code,
            headers=database_fault_headers(fault),
        )
    request_id = str(request.scope.get("state", {}).get("request_id", "-"))
    where = str(request.scope.get("path_template") or "unrouted")
    # The route template, not the URL: a URL can carry a participant's identifiers.
    log.error(
        "unhandled %s in %s %s (request %s)",
        type(exc).__name__,
        request.method,
        where,
        request_id,
        exc_info=exc,
    )
    return Response(
        {
            "status_code": 500,
            "detail": "Internal Server Error",
            "extra": {"request_id": request_id},
        },
        status_code=500,
    )
