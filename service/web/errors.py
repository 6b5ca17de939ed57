"""Map action failures onto Litestar's error shape: {status_code, detail, extra}."""

from __future__ import annotations

from litestar import Request, Response

from service.actions.errors import ActionError


def action_error_handler(_: Request, exc: ActionError) -> Response[dict[str, object]]:
    extra: list[dict[str, str]] = []
    if exc.field:
        extra.append({"key": exc.field, "message": exc.message, "source": "body"})
    return Response(
        {"status_code": exc.status_code, "detail": exc.message, "extra": extra},
        status_code=exc.status_code,
    )
