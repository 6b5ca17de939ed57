"""Reads for the EDC feed: sequenced changes with their records, as plain domain facts.

Nothing here returns a model: the actions and controllers get
:class:`~service.domain.edc.records.Placement` and the facts of
:mod:`service.domain.edc.records`. Chunks are read by cursor (``edc_change.id``), a
few hundred at a time, so an export of any size holds one chunk in memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from tortoise.expressions import Subquery
from tortoise.functions import Max

from service.db.edc_models import EdcChange, EdcSource
from service.db.models import Checkin, InboundMessage, Infusion, OutboundMessage, Participant
from service.db.models import VisitOutcome as VisitOutcomeRow
from service.domain.edc.forms import BY_MESSAGE
from service.domain.edc.records import (
    CheckinFact,
    ContactFact,
    Fact,
    InfusionFact,
    Placement,
    TransactionType,
    VisitFact,
)

__all__ = [
    "CHUNK",
    "Subject",
    "Windows",
    "count_changes",
    "feed_chunk",
    "last_change_id",
    "staff_users_between",
]

CHUNK: Final = 500
_SOURCE_LOOKBACK: Final = timedelta(days=8)  # a check-in's replies precede it by < 8 days


@dataclass(frozen=True, slots=True)
class Subject:
    """What the calendar needs about one participant (no phone, no arm: none exist)."""

    id: int
    study_id: str
    site: str
    timezone: str
    baseline: date
    second_infusion: date | None


# (subject, use the actual second infusion?) -> visit code -> (target, window start, end)
Windows = Callable[[Subject, bool], Mapping[str, tuple[date, date, date]]]


def _scope(query: Any, since: int, upto: int, sites: Sequence[str] | None) -> Any:
    query = query.filter(id__gt=since, id__lte=upto)
    return query.filter(site_code__in=list(sites)) if sites is not None else query


async def last_change_id() -> int:
    row = await EdcChange.all().annotate(top=Max("id")).first().values("top")
    return int(row["top"] or 0) if row else 0


async def count_changes(since: int, upto: int, sites: Sequence[str] | None) -> int:
    return int(await _scope(EdcChange.all(), since, upto, sites).count())


async def staff_users_between(since: int, upto: int, sites: Sequence[str] | None) -> list[str]:
    """Distinct staff who recorded visits or infusions in the range (for AdminData)."""
    users: set[str] = set()
    for model, source in (
        (VisitOutcomeRow, EdcSource.VISIT_OUTCOME),
        (Infusion, EdcSource.INFUSION),
    ):
        ids = _scope(EdcChange.filter(source=source), since, upto, sites).values("source_id")
        rows = await model.filter(id__in=Subquery(ids)).distinct().values_list("recorded_by")
        users.update(str(row[0]) for row in rows)
    return sorted(users)


async def _subjects(ids: set[int]) -> dict[int, Subject]:
    rows = await Participant.filter(id__in=ids).values(
        "id", "study_id", "site_id", "timezone", "baseline_infusion_date", "second_infusion_date"
    )
    return {
        r["id"]: Subject(r["id"], r["study_id"], r["site_id"], r["timezone"],
                         r["baseline_infusion_date"], r["second_infusion_date"])
        for r in rows
    }  # fmt: skip


def _versions(rows: Sequence[dict[str, Any]], key: str) -> dict[int, int]:
    """Version number of each row among the rows of the same participant and key."""
    seen: dict[tuple[int, Any], int] = {}
    out = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        slot = (row["participant_id"], row[key])
        seen[slot] = seen.get(slot, 0) + 1
        out[row["id"]] = seen[slot]
    return out


async def _sms_sources(checkins: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Twilio MessageSid of the reply that completed each check-in version answered by
    message (SMS or WhatsApp)."""
    sms = [c for c in checkins if c["channel"] in BY_MESSAGE]
    if not sms:
        return {}
    low = min(c["submitted_at"] for c in sms) - _SOURCE_LOOKBACK
    high = max(c["submitted_at"] for c in sms)
    rows = (
        await InboundMessage.filter(
            participant_id__in={c["participant_id"] for c in sms},
            received_at__gte=low,
            received_at__lte=high,
        )
        .order_by("received_at", "id")
        .values_list("participant_id", "received_at", "message_sid")
    )
    by_person: dict[int, list[tuple[datetime, str]]] = {}
    for pid, at, sid in rows:
        by_person.setdefault(pid, []).append((at, sid))
    out = {}
    for c in sms:
        replies = by_person.get(c["participant_id"], [])
        i = bisect.bisect_right([at for at, _ in replies], c["submitted_at"])
        if i:
            out[c["id"]] = replies[i - 1][1]
    return out


async def _facts(
    changes: Sequence[EdcChange],
    subjects: dict[int, Subject],
    windows: Windows,
    infusion_visits: Mapping[int, str],
) -> dict[tuple[str, int], Fact]:
    ids: dict[EdcSource, list[int]] = {}
    for change in changes:
        ids.setdefault(change.source, []).append(change.source_id)
    facts: dict[tuple[str, int], Fact] = {}
    if ids.get(EdcSource.CHECKIN):
        rows = await Checkin.filter(id__in=ids[EdcSource.CHECKIN]).values()
        sources = await _sms_sources(rows)
        for r in rows:
            source = (
                sources.get(r["id"]) if r["channel"] in BY_MESSAGE else f"app-submission:{r['id']}"
            )
            facts[(EdcSource.CHECKIN.value, r["id"])] = CheckinFact(
                r["questionnaire"], r["checkin_key"], r["version"], r["channel"], r["answers"],
                r["complete"], r["late"], r["submitted_at"], source or "", tuple(r["raw_texts"]),
            )  # fmt: skip
    if ids.get(EdcSource.VISIT_OUTCOME):
        wanted = await VisitOutcomeRow.filter(id__in=ids[EdcSource.VISIT_OUTCOME]).values()
        history = await VisitOutcomeRow.filter(
            participant_id__in={r["participant_id"] for r in wanted},
            visit_code__in={r["visit_code"] for r in wanted},
        ).values("id", "participant_id", "visit_code")
        versions = _versions(history, "visit_code")
        for r in wanted:
            plan = windows(subjects[r["participant_id"]], True).get(r["visit_code"])
            target, start, end = plan or (r["date"], r["date"], r["date"])
            facts[(EdcSource.VISIT_OUTCOME.value, r["id"])] = VisitFact(
                r["visit_code"], r["status"], r["date"], target, start, end,
                r["recorded_by"], r["recorded_at"], versions[r["id"]],
            )  # fmt: skip
    if ids.get(EdcSource.INFUSION):
        wanted = await Infusion.filter(id__in=ids[EdcSource.INFUSION]).values()
        history = await Infusion.filter(
            participant_id__in={r["participant_id"] for r in wanted}
        ).values("id", "participant_id", "number")
        versions = _versions(history, "number")
        for r in wanted:
            code = infusion_visits[r["number"]]
            planned = windows(subjects[r["participant_id"]], False)[code][0]
            facts[(EdcSource.INFUSION.value, r["id"])] = InfusionFact(
                code, r["number"], r["date"], planned, r["recorded_by"], r["recorded_at"],
                versions[r["id"]],
            )  # fmt: skip
    for source, model in (
        (EdcSource.OUTBOUND, OutboundMessage),
        (EdcSource.INBOUND, InboundMessage),
    ):
        if not ids.get(source):
            continue
        for r in await model.filter(id__in=ids[source]).values():
            if source is EdcSource.OUTBOUND:
                fact = ContactFact("outbound", r["kind"], r["purpose"], r["status"],
                                   r["sent_at"], r["provider_id"])  # fmt: skip
            else:
                fact = ContactFact("inbound", "sms", r["handling"], "received",
                                   r["received_at"], r["message_sid"])  # fmt: skip
            facts[(source.value, r["id"])] = fact
    return facts


async def feed_chunk(
    since: int,
    upto: int,
    sites: Sequence[str] | None,
    windows: Windows,
    infusion_visits: Mapping[int, str],
    limit: int = CHUNK,
) -> list[tuple[Placement, Fact]]:
    """The next ``limit`` changes after ``since`` (up to ``upto``), oldest first."""
    changes = await _scope(EdcChange.all(), since, upto, sites).order_by("id").limit(limit)
    if not changes:
        return []
    subjects = await _subjects({c.participant_id for c in changes})
    facts = await _facts(changes, subjects, windows, infusion_visits)
    out = []
    for change in changes:
        subject = subjects[change.participant_id]
        where = Placement(
            seq=change.id,
            study_id=subject.study_id,
            site=change.site_code,
            timezone=subject.timezone,
            instance=change.instance,
            transaction=TransactionType(change.transaction.value),
        )
        out.append((where, facts[(change.source.value, change.source_id)]))
    return out
