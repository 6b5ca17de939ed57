"""The participant page's data: what it holds, scoping, and a fixed number of SQL
statements however many participants and rows there are."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from service.actions.errors import NotFound
from service.actions.views import participant_page
from service.db.models import (
    Alert,
    Checkin,
    InboundMessage,
    OutboundMessage,
    Participant,
    Site,
)
from service.domain.actors import Actor
from service.domain.states import StaffRole
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.sql_counter import count_sql

T0 = datetime(2027, 1, 13, 12, 0, tzinfo=UTC)
CUA = Actor(kind="staff", label="staff:ana@example.org", role=StaffRole.COORDINATOR, sites=("CUA",))
HBLT = Actor(
    kind="staff", label="staff:hb@example.org", role=StaffRole.COORDINATOR, sites=("HBLT",)
)


async def _enrolled(client: Client) -> Participant:
    headers = await staff_headers(client, "admin@uandes.cl", "admin")
    response = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    assert response.status_code == 201, response.text
    return await Participant.get(study_id="MSC-001")


async def _history(participant: Participant, n: int, start: int = 0) -> None:
    """``n`` check-ins answered by SMS then corrected in the app, an alert on each
    first version (every other one acknowledged), an inbound reply each."""
    for k in range(start, start + n):
        at = T0 - timedelta(days=k + 1)
        first = await Checkin.create(
            participant=participant,
            checkin_key=f"symptoms@{k}",
            questionnaire="symptoms",
            channel="sms",
            version=1,
            answers={"fever": "yes"},
            submitted_at=at,
        )
        await Checkin.create(
            participant=participant,
            checkin_key=f"symptoms@{k}",
            questionnaire="symptoms",
            channel="app",
            version=2,
            answers={"fever": "no"},
            submitted_at=at + timedelta(hours=1),
        )
        await Alert.create(
            participant=participant,
            site_id=participant.site_id,  # type: ignore[attr-defined]  # FK id attr
            dedupe_key=f"{participant.id}:alert:{k}",
            checkin=first,
            findings=[{"code": "fever", "emergency": False, "params": {}}],
            raised_at=at,
            status="acknowledged" if k % 2 else "open",
            acknowledged_at=at + timedelta(hours=2) if k % 2 else None,
            acknowledged_by="staff:ana@example.org" if k % 2 else None,
            note="Llamada: está bien" if k % 2 else None,
        )
        await InboundMessage.create(
            message_sid=f"SM{participant.id:08d}{k:024d}",
            participant=participant,
            from_phone=participant.phone,
            body="1",
            handling="checkin_answer",
            received_at=at,
        )


async def _others(count: int) -> None:
    """``count`` more participants at both sites, each with a few messages."""
    sites = [await Site.get(code="CUA"), await Site.get(code="HBLT")]
    already = await Participant.all().count()
    await Participant.bulk_create(
        [
            Participant(
                study_id=f"X-{already + n:05d}",
                site=sites[n % 2],
                phone=f"+5698{already + n:07d}",
                timezone="America/Santiago",
                can_become_pregnant=False,
                baseline_infusion_date=date(2027, 1, 5),
                sms_consent=True,
            )
            for n in range(count)
        ]
    )
    ids = await Participant.filter(study_id__startswith="X-").values_list("id", flat=True)
    await OutboundMessage.bulk_create(
        [
            OutboundMessage(
                participant_id=pid,
                kind="reminder",
                purpose="reminder:x",
                occurrence=str(k),
                dedupe_key=f"{pid}:x:{k}",
                message_key="reminder.clinic.week_before",
                send_at=T0,
                status="delivered",
                created_at=T0,
                updated_at=T0,
            )
            for pid in ids
            for k in range(3)
            if not await OutboundMessage.filter(dedupe_key=f"{pid}:x:{k}").exists()
        ]
    )


async def test_page_holds_calendar_timeline_checkins_and_alerts(client: Client) -> None:
    participant = await _enrolled(client)
    await _history(participant, 2)
    failed = await OutboundMessage.filter(participant_id=participant.id, status="planned").first()
    assert failed is not None
    await OutboundMessage.filter(id=failed.id).update(
        status="undelivered", error_code=30003, sent_at=T0, send_at=T0
    )
    rt = client.app.state.runtime
    page = await participant_page(rt, CUA, "MSC-001")
    assert page.participant.study_id == "MSC-001" and page.participant.site == "CUA"
    assert [row.visit.code for row in page.calendar][:2] == ["SCR", "INF1"]
    assert all(row.status for row in page.calendar)
    bad = next(e for e in page.timeline if e.id == failed.id and e.direction == "outbound")
    assert bad.error_code == 30003
    assert bad.error_meaning == "Teléfono apagado o fuera de cobertura."
    english = await participant_page(rt, CUA, "MSC-001", locale="en")
    assert next(e for e in english.timeline if e.error_code).error_meaning.startswith("Phone")
    dropped = [e for e in page.timeline if e.status == "cancelled"]
    assert dropped and all(e.skip_reason == "budget" and e.budget for e in dropped)
    assert [e.direction for e in page.timeline].count("inbound") == 2
    assert [e.at for e in page.timeline] == sorted(e.at for e in page.timeline)
    assert [(c.version, c.channel) for c in page.checkins[:2]] == [(2, "app"), (1, "sms")]
    assert page.checkins[1].alert_ids == [page.alerts[0].id]  # newest first
    acknowledged = [a for a in page.alerts if a.status == "acknowledged"]
    assert acknowledged and acknowledged[0].note == "Llamada: está bien"
    assert acknowledged[0].acknowledged_by == "staff:ana@example.org"
    assert all(a.summary for a in page.alerts)


async def test_another_sites_study_id_is_not_found(client: Client) -> None:
    await _enrolled(client)
    with pytest.raises(NotFound):
        await participant_page(client.app.state.runtime, HBLT, "MSC-001")


async def test_statement_count_is_fixed(client: Client) -> None:
    participant = await _enrolled(client)
    rt = client.app.state.runtime
    await _others(9)
    await _history(participant, 1)
    async with count_sql() as few:
        await participant_page(rt, CUA, "MSC-001")
    await _others(491)
    await _history(participant, 40, start=1)
    async with count_sql() as many:
        page = await participant_page(rt, CUA, "MSC-001")
    assert await Participant.all().count() == 501
    assert len(page.checkins) == 82 and len(page.alerts) == 41
    assert few.count == many.count == 7, (few.statements, many.statements)
