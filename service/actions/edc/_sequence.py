"""The sequencer: gives every committed source record its place in the EDC feed.

Why a separate step rather than reading source tables by id or timestamp: two
processes can commit rows out of order (id 41 commits after id 42), so a cursor over
source ids or commit times either skips 41 or needs a guess at a safety lag. Here the
cursor is ``edc_change.id``, assigned only by this sequencer, which finds records that
have *no* change row yet (an anti-join, not "id > last") and runs serialised: a table
lock on PostgreSQL, SQLite's single writer (a racing sequencer hits the unique key and
retries). A change row therefore always commits after every change row with a smaller
id, and a reader that has seen id N will never later find a new row below N.

The same step fixes each record's repeat instance and Insert/Update once, so the ODM
pull and the REDCap push can never disagree about them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError
from tortoise.transactions import in_transaction

from service.db.edc_models import EdcChange, EdcSource, EdcTransaction
from service.db.models import Checkin, InboundMessage, Infusion, OutboundMessage, Participant
from service.db.models import VisitOutcome as VisitOutcomeRow

__all__ = ["sequence_changes"]

log = logging.getLogger("service.edc.sequence")

BATCH: Final = 2000
_ATTEMPTS: Final = 5
_FORM_OF_QUESTIONNAIRE: Final = {"symptoms": "sintomas", "pregnancy": "embarazo"}
_REPEATING: Final = frozenset({"sintomas", "embarazo", "contactos"})
# Source table, its name in edc_change, and the condition a row must meet to be fed.
_SOURCES: Final = (
    ("checkin", EdcSource.CHECKIN, "1 = 1"),
    ("visit_outcome", EdcSource.VISIT_OUTCOME, "1 = 1"),
    ("infusion", EdcSource.INFUSION, "1 = 1"),
    (
        "outbound_message",
        EdcSource.OUTBOUND,
        "s.participant_id IS NOT NULL AND s.sent_at IS NOT NULL",
    ),
    ("inbound_message", EdcSource.INBOUND, "s.participant_id IS NOT NULL"),
)


@dataclass(frozen=True, slots=True)
class _Pending:
    source: EdcSource
    source_id: int
    participant_id: int
    form: str
    repeat_key: str


async def _unsequenced(table: str, source: EdcSource, condition: str) -> list[int]:
    conn = connections.get("default")
    sql = (
        f"SELECT s.id FROM {table} s LEFT JOIN edc_change e "  # noqa: S608  # fixed names
        f"ON e.source = '{source.value}' AND e.source_id = s.id "
        f"WHERE e.id IS NULL AND {condition} ORDER BY s.id LIMIT {BATCH}"
    )
    rows = await conn.execute_query_dict(sql)
    return [int(r["id"]) for r in rows]


async def _pending(source: EdcSource, ids: list[int]) -> list[_Pending]:
    if source is EdcSource.CHECKIN:
        rows = await Checkin.filter(id__in=ids).values_list(
            "id", "participant_id", "questionnaire", "checkin_key"
        )
        return [_Pending(source, i, p, _FORM_OF_QUESTIONNAIRE.get(q, q), k) for i, p, q, k in rows]
    if source is EdcSource.VISIT_OUTCOME:
        rows = await VisitOutcomeRow.filter(id__in=ids).values_list(
            "id", "participant_id", "visit_code"
        )
        return [_Pending(source, i, p, "visita", code) for i, p, code in rows]
    if source is EdcSource.INFUSION:
        rows = await Infusion.filter(id__in=ids).values_list("id", "participant_id", "number")
        return [_Pending(source, i, p, "infusion", str(n)) for i, p, n in rows]
    model = OutboundMessage if source is EdcSource.OUTBOUND else InboundMessage
    prefix = "out" if source is EdcSource.OUTBOUND else "in"
    pairs = await model.filter(id__in=ids).values_list("id", "participant_id")
    return [_Pending(source, i, p, "contactos", f"{prefix}:{i}") for i, p in pairs]


async def _place(pending: Sequence[_Pending], now: datetime) -> list[EdcChange]:
    participants = {p.participant_id for p in pending}
    sites = dict(await Participant.filter(id__in=participants).values_list("id", "site_id"))
    known: dict[tuple[int, str, str], int] = {}
    top: dict[tuple[int, str], int] = {}
    for pid, form, key, instance in await EdcChange.filter(
        participant_id__in=participants
    ).values_list("participant_id", "form", "repeat_key", "instance"):
        known[(pid, form, key)] = instance
        top[(pid, form)] = max(top.get((pid, form), 0), instance)
    changes = []
    for item in sorted(pending, key=lambda p: (p.source.value, p.source_id)):
        slot = (item.participant_id, item.form, item.repeat_key)
        if slot in known:
            instance, transaction = known[slot], EdcTransaction.UPDATE
        else:
            repeating = item.form in _REPEATING
            instance = top.get(slot[:2], 0) + 1 if repeating else 1
            top[slot[:2]] = instance
            known[slot] = instance
            transaction = EdcTransaction.INSERT
        changes.append(
            EdcChange(
                source=item.source,
                source_id=item.source_id,
                participant_id=item.participant_id,
                site_code=sites[item.participant_id],
                form=item.form,
                repeat_key=item.repeat_key,
                instance=instance,
                transaction=transaction,
                sequenced_at=now,
            )
        )
    return changes


async def _one_batch(now: datetime) -> int:
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            await conn.execute_script("LOCK TABLE edc_change IN SHARE ROW EXCLUSIVE MODE")
        pending: list[_Pending] = []
        for table, source, condition in _SOURCES:
            ids = await _unsequenced(table, source, condition)
            if ids:
                pending.extend(await _pending(source, ids))
        if not pending:
            return 0
        changes = await _place(pending, now)
        await EdcChange.bulk_create(changes)
        return len(changes)


async def sequence_changes(now: datetime) -> int:
    """Sequence every committed record not sequenced yet; returns how many were added.

    Call it outside a transaction. Each batch commits on its own, so a huge backlog
    neither holds the lock for long nor grows one transaction without bound.
    """
    total = 0
    attempts = 0
    while True:
        try:
            added = await _one_batch(now)
        except (IntegrityError, OperationalError, TransactionManagementError) as exc:
            # Another sequencer won the race (SQLite); what it wrote is skipped next time.
            attempts += 1
            if attempts >= _ATTEMPTS:
                raise
            log.info("edc sequencer raced another process (%s); retrying", type(exc).__name__)
            continue
        total += added
        if added == 0:
            return total
