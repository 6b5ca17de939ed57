"""One page of each list that grows with the study: participants, alerts, the queue.

Every page is one bounded query (``LIMIT`` the page size plus one, to know whether
another page follows) on a unique sort key, continued from the cursor's key with a
keyset condition, under the same site scope as the unpaged lists were. Fetching
every row of a site on every request was what made ``GET /api/v1/participants``
grow with enrolment (building 10,000 model rows, three timestamps each, took most
of the time); a page costs the same however many participants there are.

A participant's own messages and check-ins are not paged: the protocol bounds them
(about a hundred planned messages and as many check-in versions in a year of
follow-up), and the message timeline merges two tables in time order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from service.actions.access import scoped_participants
from service.actions.alerts import visible_alerts
from service.actions.errors import FieldInvalid, Forbidden
from service.db.models import Alert, InboxItem, Participant
from service.domain.actors import Actor
from service.domain.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadCursor,
    decode_cursor,
    encode_cursor,
    instant,
)

__all__ = ["Page", "alerts_page", "check_limit", "inbox_page", "participants_page"]

T = TypeVar("T")
M = TypeVar("M", bound=Model)
INBOX_STATUSES = ("open", "closed", "all")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None: this was the last page


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise FieldInvalid(f"limit must be 1 to {MAX_LIMIT}", field="limit", source="query")
    return limit


def _bad(exc: BadCursor) -> FieldInvalid:
    return FieldInvalid(str(exc), field="cursor", source="query")


async def _page(
    query: QuerySet[M], limit: int, kind: str, key_of: Callable[[M], tuple[str | int, ...]]
) -> Page[M]:
    rows = list(await query.limit(limit + 1))
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(kind, key_of(rows[-1])))


async def participants_page(
    actor: Actor,
    *,
    site: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Participant]:
    """Participants of the actor's sites in study-id order (study ids are unique)."""
    check_limit(limit)
    query = scoped_participants(actor, site=site, status=status)
    if cursor is not None:
        try:
            (after,) = decode_cursor("participants", cursor, (str,))
        except BadCursor as exc:
            raise _bad(exc) from None
        query = query.filter(study_id__gt=after)
    return await _page(query.order_by("study_id"), limit, "participants", lambda p: (p.study_id,))


def _newest_first_after(query: QuerySet[M], field: str, kind: str, cursor: str) -> QuerySet[M]:
    """Rows strictly after the cursor's (timestamp, id) in newest-first order."""
    try:
        moment_text, row_id = decode_cursor(kind, cursor, (str, int))
        moment = instant(moment_text)
    except BadCursor as exc:
        raise _bad(exc) from None
    before: dict[str, Any] = {f"{field}__lt": moment}
    tie: dict[str, Any] = {field: moment, "id__lt": row_id}
    return query.filter(Q(**before) | Q(**tie))


async def alerts_page(
    actor: Actor, status: str = "open", *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Alert]:
    """Alerts of the actor's sites, newest first, ties by id (unique)."""
    check_limit(limit)
    query = visible_alerts(actor, status)  # ordered -raised_at, -id
    if cursor is not None:
        query = _newest_first_after(query, "raised_at", "alerts", cursor)
    return await _page(query, limit, "alerts", lambda a: (a.raised_at.isoformat(), a.id))


async def inbox_page(
    actor: Actor, status: str = "open", *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[InboxItem]:
    """The coordinators' queue of the actor's sites, newest first, scoped in SQL
    (messages from unknown numbers belong to no site: only all-site actors see them)."""
    if actor.kind != "staff":
        raise Forbidden("the queue is for study staff")
    check_limit(limit)
    if status not in INBOX_STATUSES:
        raise FieldInvalid("status must be open, closed or all", field="status", source="query")
    query = InboxItem.all()
    if status != "all":
        query = query.filter(status=status)
    if not actor.all_sites:
        query = query.filter(site_id__in=list(actor.sites))
    if cursor is not None:
        query = _newest_first_after(query, "created_at", "inbox", cursor)
    query = query.prefetch_related("participant", "inbound").order_by("-created_at", "-id")
    return await _page(query, limit, "inbox", lambda i: (i.created_at.isoformat(), i.id))
