"""The calendar as iCalendar (RFC 5545): one all-day event per visit.

UIDs are derived from the study id and the visit code only, so re-importing after a
re-anchored calendar updates each event instead of duplicating it; each event's
SEQUENCE grows with every recorded change *to that event* (a moved date, an outcome,
a withdrawal's cancellation; :mod:`service.domain.calendar_sequence`) so clients
know which copy is newer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from service.actions.calendars import CalendarRow
from service.domain.calendar import VisitStatus


def visit_uid(study_id: str, visit_code: str) -> str:
    digest = hashlib.sha256(f"{study_id}/{visit_code}".encode()).hexdigest()[:24]
    return f"{digest}@msc-role-followup"


def calendar_ics(
    study_id: str,
    rows: list[CalendarRow],
    names: dict[str, str],
    *,
    stamp: datetime,
    sequences: Mapping[str, int],
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Universidad de los Andes//MSC-ROLE follow-up//ES")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"MSC-ROLE {study_id}")
    for row in rows:
        visit = row.visit
        event = Event()
        event.add("uid", visit_uid(study_id, visit.code))
        event.add("dtstamp", stamp)
        event.add("sequence", sequences.get(visit.code, 0))
        event.add("dtstart", visit.target_date)
        event.add("dtend", visit.target_date + timedelta(days=1))
        event.add("summary", f"MSC-ROLE: {names[visit.code]}")
        event.add(
            "description",
            f"Ventana / window: {visit.window_start.isoformat()} – "
            f"{visit.window_end.isoformat()}\nEstado / status: {row.status}",
        )
        event.add("transp", "TRANSPARENT")
        event.add("status", "CANCELLED" if row.status == VisitStatus.CANCELLED else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()
