"""Turning rows and domain objects into response bodies (shared by staff and mobile routes)."""

from __future__ import annotations

import msgspec

from service.actions.calendars import CalendarRow
from service.actions.participants import ParticipantRecord
from service.runtime import Runtime
from service.web.schemas.participants import CalendarOut, ParticipantOut, VisitOut


def participant_out(p: ParticipantRecord) -> ParticipantOut:
    return msgspec.convert(p, ParticipantOut, from_attributes=True)


def calendar_out(rt: Runtime, study_id: str, rows: list[CalendarRow], lang: str) -> CalendarOut:
    return CalendarOut(
        study_id=study_id,
        protocol_revision=rt.protocol.revision,
        visits=[
            VisitOut(
                code=row.visit.code,
                name=rt.translator.render(row.visit.name_key, lang),
                kind=row.visit.kind.value,
                anchor=row.visit.anchor.value,
                anchor_date=row.visit.anchor_date,
                target_date=row.visit.target_date,
                window_start=row.visit.window_start,
                window_end=row.visit.window_end,
                shifted=row.visit.shifted,
                status=row.status,
                outcome_date=row.outcome.date if row.outcome else None,
            )
            for row in rows
        ],
    )
