"""The query parameters and the ``Link`` header of every paged list route.

The body stays the bare JSON list the contract names, so a client that reads one
response keeps working; the next page's URL travels in ``Link: <…>; rel="next"``
(RFC 8288), as GitHub's and many other JSON APIs do, with the caller's filters and
limit kept. No header on the last page.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter

from service.domain.paging import CURSOR_MAX_CHARS, DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["LINK_HEADER", "Cursor", "Limit", "paged"]

T = TypeVar("T")

Limit = Annotated[
    int,
    Parameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
    ),
]
Cursor = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=CURSOR_MAX_CHARS,
        description="where the previous page ended: take it from that page's "
        '`Link: <…>; rel="next"` header (opaque; stable while rows are added)',
    ),
]
LINK_HEADER = ResponseHeader(
    name="Link",
    documentation_only=True,
    description='`<URL>; rel="next"` when another page follows (RFC 8288); absent on the last page',
)


def next_url(request: Request[Any, Any, Any], cursor: str) -> str:
    parts = urlsplit(str(request.url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
    query.append(("cursor", cursor))
    return urlunsplit(parts._replace(query=urlencode(query)))


def paged(request: Request[Any, Any, Any], items: list[T], cursor: str | None) -> Response[list[T]]:
    headers = {"Link": f'<{next_url(request, cursor)}>; rel="next"'} if cursor else None
    return Response(items, headers=headers)
