"""ODM 1.3.2 pulls: the metadata, and the clinical data after a cursor, streamed.

A pull first runs the sequencer (so everything committed before the request is in
the feed), fixes its upper bound, audits who pulled what range, then streams the
entries chunk by chunk. The document's ``FileOID`` is ``<study>.ODM.<since>-<upto>``;
passing it back as ``since`` continues after ``upto``, and the next file names it as
its ``PriorFileOID``. A key limited to sites gets only those sites' entries, with the
same cursor (the other sites' changes are simply not its business).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date

from tortoise.transactions import in_transaction

from service.actions.edc._mapping import edc_mapping
from service.actions.edc._queries import (
    Subject,
    Windows,
    count_changes,
    feed_chunk,
    last_change_id,
    staff_users_between,
)
from service.actions.edc._sequence import sequence_changes
from service.actions.errors import FieldInvalid
from service.db.audit import audit
from service.domain.actors import Actor
from service.domain.calendar import build_calendar
from service.domain.edc.odm import (
    CLINICAL_DATA_TAIL,
    clinical_data_head,
    entry_xml,
    metadata_document,
)
from service.domain.edc.records import entry_for
from service.domain.protocol import VisitKind
from service.domain.states import AuditAction
from service.runtime import Runtime

__all__ = ["OdmExport", "infusion_visits", "odm_metadata", "parse_cursor", "start_odm_export"]


@dataclass(frozen=True, slots=True)
class OdmExport:
    file_oid: str
    prior_file_oid: str | None
    since: int
    upto: int
    entries: int
    chunks: AsyncIterator[str]


def parse_cursor(rt: Runtime, since: str | None) -> int:
    """The change id a cursor (a previous FileOID) ends at; 0 without one."""
    if since is None or since == "":
        return 0
    pattern = re.escape(rt.protocol.study_code) + r"\.ODM\.(\d+)-(\d+)"
    match = re.fullmatch(pattern, since.strip())
    if not match:
        raise FieldInvalid(
            "since must be the FileOID of a previous clinical-data file "
            f"(like {rt.protocol.study_code}.ODM.0-120)",
            field="since",
        )
    return int(match.group(2))


def infusion_visits(rt: Runtime) -> dict[int, str]:
    """Infusion number -> the protocol visit it belongs to."""
    second = rt.protocol.second_infusion_visit.code
    first = next(
        v.code
        for v in rt.protocol.visits
        if v.kind is VisitKind.INFUSION and not v.anchors_second_infusion
    )
    return {1: first, 2: second}


def calendar_windows(rt: Runtime) -> Windows:
    """Each participant's calendar, computed once per export (planned and actual)."""
    cache: dict[tuple[int, bool], Mapping[str, tuple[date, date, date]]] = {}

    def windows(subject: Subject, actual: bool) -> Mapping[str, tuple[date, date, date]]:
        key = (subject.id, actual)
        if key not in cache:
            second = subject.second_infusion if actual else None
            visits = build_calendar(rt.protocol, subject.baseline, second, rt.non_working)
            cache[key] = {v.code: (v.target_date, v.window_start, v.window_end) for v in visits}
        return cache[key]

    return windows


async def odm_metadata(rt: Runtime, actor: Actor) -> str:
    document = metadata_document(edc_mapping(rt), rt.protocol.revision, rt.clock.now())
    async with in_transaction():
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.EDC_ODM_METADATA,
            entity="edc_feed",
            entity_id=rt.protocol.revision[:12],
        )
    return document


async def start_odm_export(rt: Runtime, actor: Actor, since: str | None) -> OdmExport:
    """Sequence, bound, audit, and return the stream of one clinical-data pull."""
    start = parse_cursor(rt, since)
    await sequence_changes(rt.clock.now())
    upto = await last_change_id()
    if start > upto:
        raise FieldInvalid("since is ahead of this feed (was it from another one?)", field="since")
    sites = actor.site_scope
    entries = await count_changes(start, upto, sites)
    staff = await staff_users_between(start, upto, sites)
    study = rt.protocol.study_code
    oid = f"{study}.ODM.{start}-{upto}"
    prior = since.strip() if since else None
    async with in_transaction():
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.EDC_ODM_PULL,
            entity="edc_feed",
            entity_id=oid,
            changes={"since": start, "upto": upto, "entries": entries, "sites": sites},
        )
    mapping = edc_mapping(rt)
    windows = calendar_windows(rt)
    infusions = infusion_visits(rt)
    head = clinical_data_head(mapping, rt.protocol.revision, oid=oid, prior=prior,
                              created=rt.clock.now(), staff_users=staff)  # fmt: skip

    async def chunks() -> AsyncIterator[str]:
        yield head
        fields = {f.name for f in mapping.fields()}
        cursor = start
        while True:
            batch = await feed_chunk(cursor, upto, sites, windows, infusions)
            if not batch:
                break
            yield "".join(
                entry_xml(entry_for(mapping, fact, where), fields) for where, fact in batch
            )
            cursor = batch[-1][0].seq
        yield CLINICAL_DATA_TAIL

    return OdmExport(oid, prior, start, upto, entries, chunks())
