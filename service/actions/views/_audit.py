"""The audit trail as monitors and admins review it: filtered, scoped, paged.

Filters: a participant (every entry about them: their record, their alerts,
check-ins, messages and queue items, and what they did themselves), a user (an
email, a study id, or "system"), an action, and a time range. A reviewer limited to
some sites sees the entries about participants and sites of those sites only; entries
about no participant (accounts, sign-ins, EDC runs) belong to no site and are seen
by those who see every site, the rule of ``Actor.can_see_site``.

One statement reads a page (newest first, keyset on the id, which grows with time),
however many participants or entries there are; the page's subjects (which
participant each entry is about) take one more statement per kind of entry: a fixed
number. Exports read the same query in batches.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tortoise import connections

from service.db.models import (
    Alert,
    Checkin,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Participant,
)
from service.domain.actors import Actor

__all__ = ["AuditFilter", "AuditPage", "AuditRow", "audit_batches", "audit_page"]

EXPORT_BATCH: Final = 1000
# Entries about one participant's rows: (entity name in the log, table).
_OWNED: Final = (
    ("alert", "alert"),
    ("checkin", "checkin"),
    ("outbound_message", "outbound_message"),
    ("inbound_message", "inbound_message"),
    ("inbox_item", "inbox_item"),
)
_MODELS: Final = {
    "alert": Alert,
    "checkin": Checkin,
    "outbound_message": OutboundMessage,
    "inbound_message": InboundMessage,
    "inbox_item": InboxItem,
}


@dataclass(frozen=True, slots=True)
class AuditFilter:
    participant: str | None = None  # a study id
    user: str | None = None  # an email, a study id, "system", or a whole label
    action: str | None = None
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    changes: dict[str, Any]
    reason: str | None
    study_id: str | None  # the participant the entry is about, when there is one


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[AuditRow]
    next_before: int | None  # the id to continue from (older entries), or None


class _Sql:
    """Parameters and their placeholders in the connection's dialect."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgres"
        self.params: list[Any] = []

    def p(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def many(self, values: Sequence[Any]) -> str:
        return ", ".join(self.p(v) for v in values) or "NULL"


def _about(sql: _Sql, people: Callable[[], str], sites: Sequence[str] | None) -> str:
    """Entries about the participants chosen by ``people`` (a condition on table p,
    written afresh at each use: SQLite's ``?`` placeholders are bound in order)."""
    # Only our own constants and placeholders are interpolated; values are parameters.
    parts = [
        f"(a.entity = 'participant' AND a.entity_id IN (SELECT p.study_id FROM participant p"  # noqa: S608
        f" WHERE {people()}))",
        f"a.actor IN (SELECT {sql.p('participant:')} || p.study_id FROM participant p"  # noqa: S608
        f" WHERE {people()})",
    ]
    for entity, table in _OWNED:
        parts.append(
            f"(a.entity = '{entity}' AND a.entity_id IN (SELECT CAST(t.id AS VARCHAR(20))"  # noqa: S608
            f" FROM {table} t WHERE t.participant_id IN"
            f" (SELECT p.id FROM participant p WHERE {people()})))"
        )
    if sites is not None:
        parts.append(f"(a.entity = 'site' AND a.entity_id IN ({sql.many(sites)}))")
    return "(" + " OR ".join(parts) + ")"


def _where(sql: _Sql, actor: Actor, f: AuditFilter, before: int | None) -> str:
    conditions = []
    scope = actor.site_scope
    if scope is not None:
        conditions.append(_about(sql, lambda: f"p.site_id IN ({sql.many(scope)})", scope))
    if f.participant:
        study_id = f.participant
        conditions.append(_about(sql, lambda: f"p.study_id = {sql.p(study_id)}", None))
    if f.user:
        labels = (f.user, f"staff:{f.user.lower()}", f"participant:{f.user.upper()}")
        conditions.append(f"a.actor IN ({sql.many(labels)})")
    if f.action:
        conditions.append(f"a.action = {sql.p(f.action)}")
    if f.since:
        conditions.append(f"a.at >= {sql.p(f.since)}")
    if f.until:
        conditions.append(f"a.at < {sql.p(f.until)}")
    if before is not None:
        conditions.append(f"a.id < {sql.p(before)}")
    return " AND ".join(conditions) or "1 = 1"


def _row(raw: dict[str, Any]) -> dict[str, Any]:
    changes = raw["changes"]
    if isinstance(changes, str):  # SQLite and asyncpg hand JSON back as text
        changes = json.loads(changes or "{}")
    at = raw["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return {**raw, "changes": changes if isinstance(changes, dict) else {}, "at": at}


async def _read(
    actor: Actor, f: AuditFilter, before: int | None, limit: int
) -> list[dict[str, Any]]:
    conn = connections.get("default")
    sql = _Sql(conn.capabilities.dialect)
    where = _where(sql, actor, f, before)
    query = (
        "SELECT a.id, a.at, a.actor, a.action, a.entity, a.entity_id, a.changes, a.reason"  # noqa: S608
        f" FROM audit_log a WHERE {where} ORDER BY a.id DESC LIMIT {int(limit)}"
    )
    rows = await conn.execute_query_dict(query, sql.params)
    return [_row(dict(r)) for r in rows]


async def _subjects(rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Which participant each entry is about: one statement per kind of entry."""
    ids: dict[str, set[int]] = {}
    for r in rows:
        if r["entity"] in _MODELS and str(r["entity_id"]).isdigit():
            ids.setdefault(r["entity"], set()).add(int(r["entity_id"]))
    owner: dict[tuple[str, int], int] = {}
    for entity, wanted in ids.items():
        found = await _MODELS[entity].filter(id__in=wanted).values_list("id", "participant_id")
        owner.update({(entity, int(i)): int(p) for i, p in found if p is not None})
    people = set(owner.values())
    names = (
        dict(await Participant.filter(id__in=people).values_list("id", "study_id"))
        if people
        else {}
    )
    out: dict[int, str] = {}
    for r in rows:
        if r["entity"] == "participant":
            out[r["id"]] = str(r["entity_id"])
        elif str(r["actor"]).startswith("participant:"):
            out[r["id"]] = str(r["actor"]).split(":", 1)[1]
        elif str(r["entity_id"]).isdigit() and (r["entity"], int(r["entity_id"])) in owner:
            out[r["id"]] = str(names.get(owner[(r["entity"], int(r["entity_id"]))], ""))
    return out


def _rows(raw: list[dict[str, Any]], subjects: dict[int, str]) -> list[AuditRow]:
    return [
        AuditRow(
            int(r["id"]), r["at"], str(r["actor"]), str(r["action"]), str(r["entity"]),
            str(r["entity_id"]), r["changes"], r["reason"], subjects.get(r["id"]) or None,
        )
        for r in raw
    ]  # fmt: skip


async def audit_page(
    actor: Actor, f: AuditFilter, *, limit: int = 50, before: int | None = None
) -> AuditPage:
    raw = await _read(actor, f, before, limit + 1)
    more = len(raw) > limit
    raw = raw[:limit]
    rows = _rows(raw, await _subjects(raw))
    return AuditPage(rows, rows[-1].id if more and rows else None)


async def audit_batches(actor: Actor, f: AuditFilter) -> AsyncIterator[list[AuditRow]]:
    """Every matching entry, newest first, in batches (for the downloads)."""
    before: int | None = None
    while True:
        raw = await _read(actor, f, before, EXPORT_BATCH)
        if not raw:
            return
        yield _rows(raw, await _subjects(raw))
        if len(raw) < EXPORT_BATCH:
            return
        before = int(raw[-1]["id"])
