"""The dispatcher through the official twilio SDK over HTTP, against the local
Twilio-compatible server, with a manual clock shared by both sides.

What must hold: the form Twilio receives; a response lost on the wire is looked up,
not re-sent; a crash mid-send is reconciled from Twilio's own records (no second
SMS), and a crash before Twilio got the message sends it exactly once; downtime
expires what passed and still sends what matters, never inside quiet hours;
transient errors back off; permanent ones stop all SMS to that participant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.actions.outbox import dispatch_due
from service.actions.participants import EnrollmentRequest, enroll, sync_sites
from service.adapters.twilio_sms import TwilioSmsGateway
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage, Participant
from service.domain.actors import Actor
from service.domain.states import StaffRole
from service.ports import ManualClock, SmsGateway
from service.runtime import Runtime
from service.settings import Settings
from tests.support.fakes import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
)
from tests.support.fakes.gateways import CallerClosedGateway, CrashingGateway
from tests.support.helpers import Client, enrollment, staff_headers

ADMIN = Actor(kind="staff", label="staff:test@uandes.cl", role=StaffRole.ADMIN)
PHONE = "+56961234567"
SANTIAGO = ZoneInfo("America/Santiago")


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioFakeServer]:
    with TwilioFakeServer(clock=clock.now) as server:
        yield server


@pytest.fixture
async def gateway(twilio: TwilioFakeServer) -> AsyncIterator[SmsGateway]:
    """Overrides conftest's console gateway: the app and runtimes here speak Twilio."""
    gw = TwilioSmsGateway(
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
        api_base_url=twilio.base_url,
        timeout_s=2,
    )
    yield CallerClosedGateway(gw)
    await gw.aclose()


@pytest.fixture
async def rt(db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway) -> Runtime:
    runtime = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(runtime)
    return runtime


async def enrol(rt: Runtime, **changes: Any) -> Participant:
    request: dict[str, Any] = {
        "study_id": "MSC-001",
        "site": "CUA",
        "phone": PHONE,
        "can_become_pregnant": False,
        "baseline_infusion_date": date(2027, 1, 20),  # INF1: a week from "today"
        "sms_consent": True,
    }
    request.update(changes)
    return await enroll(rt, ADMIN, EnrollmentRequest(**request))


async def due_now(rt: Runtime) -> OutboundMessage:
    """The one reminder due at enrolment: INF1's week-before, caught up right away."""
    rows = await OutboundMessage.filter(status="planned", send_at__lte=rt.clock.now())
    assert [r.purpose for r in rows] == ["reminder:infusion_week_before"]
    return rows[0]


async def test_a_due_reminder_reaches_twilio_with_every_field(
    rt: Runtime, twilio: TwilioFakeServer
) -> None:
    await enrol(rt)
    row = await due_now(rt)

    counts = await dispatch_due(rt)

    await row.refresh_from_db()
    (message,) = twilio.messages
    assert counts.sent == 1 and row.status == "sent"
    assert row.provider_id == message.sid and row.provider_status == "accepted"
    assert row.sent_at == rt.clock.now() and row.attempts == 1
    form = message.form
    assert form["To"] == PHONE and form["Body"] == row.body
    assert form["MessagingServiceSid"] == TEST_MESSAGING_SERVICE_SID
    assert form["StatusCallback"] == "http://testserver.local/webhooks/twilio/status"
    assert row.expires_at is not None
    assert int(form["ValidityPeriod"]) == min(
        36000, int((row.expires_at - rt.clock.now()).total_seconds())
    )
    assert (
        row.body and row.body.startswith("MSC-ROLE:") and "Infusion 1" in row.body
    )  # folded: saves a segment
    assert (row.encoding, row.segments) in {("GSM-7", 1), ("GSM-7", 2), ("UCS-2", 2)}


async def test_a_lost_response_is_looked_up_not_resent(
    rt: Runtime, twilio: TwilioFakeServer
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    twilio.lose_next()

    counts = await dispatch_due(rt)

    await row.refresh_from_db()
    (message,) = twilio.messages
    assert counts.sent == 1 and counts.retried == 0
    assert row.status == "sent" and row.provider_id == message.sid
    entry = await AuditEntry.get(action="message.sent")
    assert entry.changes["via"] == "lookup"


async def test_a_crash_after_twilio_accepted_is_reconciled_without_a_second_sms(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock, gateway: SmsGateway
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    rt = dataclasses.replace(rt, gateway=CrashingGateway(gateway, "after"))
    twilio.lose_next()  # Twilio stores it, the answer never arrives, the process dies

    await dispatch_due(rt)
    await row.refresh_from_db()
    assert row.status == "sending" and row.body and row.provider_id is None
    assert len(twilio.messages) == 1

    rt = dataclasses.replace(rt, gateway=gateway)  # restarted
    assert (await dispatch_due(rt)).claimed == 0  # still within the dead claim's lease
    clock.advance(minutes=6)
    counts = await dispatch_due(rt)

    await row.refresh_from_db()
    (message,) = twilio.messages
    assert counts.reconciled == 1 and counts.sent == 0
    assert row.status == "sent" and row.provider_id == message.sid and row.attempts == 1
    assert (await AuditEntry.get(action="message.sent")).changes["via"] == "reconcile"


async def test_a_crash_before_twilio_got_it_sends_it_exactly_once(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock, gateway: SmsGateway
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    rt = dataclasses.replace(rt, gateway=CrashingGateway(gateway, "before"))
    await dispatch_due(rt)
    await row.refresh_from_db()
    assert row.status == "sending" and row.body and twilio.messages == []

    rt = dataclasses.replace(rt, gateway=gateway)
    clock.advance(minutes=6)
    counts = await dispatch_due(rt)

    await row.refresh_from_db()
    (message,) = twilio.messages
    assert counts.reconciled == 1 and counts.sent == 1
    assert row.status == "sent" and row.provider_id == message.sid and row.attempts == 2


async def test_after_downtime_what_passed_expires_and_what_matters_goes_out(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol(rt)
    week_before = await due_now(rt)
    day_before = await OutboundMessage.get(
        purpose="reminder:infusion_day_before", occurrence="INF1@2027-01-20"
    )
    morning = await OutboundMessage.get(
        purpose="reminder:infusion_morning", occurrence="INF1@2027-01-20"
    )
    # Down from now until 20:00 on the eve of the infusion: the week-before reminder
    # stopped mattering at 18:00, when the day-before one was due; that one still does.
    clock.set(datetime(2027, 1, 19, 20, 0, tzinfo=SANTIAGO))

    counts = await dispatch_due(rt)

    for row in (week_before, day_before, morning):
        await row.refresh_from_db()
    assert week_before.status == "expired" and week_before.provider_id is None
    assert day_before.status == "sent" and morning.status == "planned"
    assert [m.sid for m in twilio.messages] == [day_before.provider_id]
    assert counts.expired >= 1 and counts.sent == 1
    assert await AuditEntry.filter(action="messages.expire").exists()


async def test_an_overdue_reminder_waits_out_quiet_hours_or_expires(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol(rt, baseline_infusion_date=date(2027, 1, 27))
    day_before = await OutboundMessage.get(
        purpose="reminder:infusion_day_before", occurrence="INF1@2027-01-27"
    )
    checkin = await OutboundMessage.filter(kind="checkin").order_by("send_at").first()
    assert checkin is not None and checkin.expires_at is not None
    # Back up at 22:00 local: the 18:00 day-before reminder would wake them (quiet
    # hours); by 09:00 the infusion day has begun and it no longer matters.
    clock.set(datetime(2027, 1, 26, 22, 0, tzinfo=SANTIAGO))
    await dispatch_due(rt)
    await day_before.refresh_from_db()
    assert day_before.status == "expired" and twilio.messages == []

    # A check-in overdue in the night is sent at 09:00 instead (still answerable).
    clock.set(checkin.send_at + timedelta(hours=12))
    assert clock.now().astimezone(SANTIAGO).hour == 22
    counts = await dispatch_due(rt)
    await checkin.refresh_from_db()
    assert counts.deferred >= 1 and twilio.messages == []
    assert checkin.status == "planned" and checkin.attempts == 0
    local = checkin.send_at.astimezone(SANTIAGO)
    assert (local.hour, local.minute) == (9, 0) and checkin.send_at < checkin.expires_at
    clock.set(checkin.send_at)
    await dispatch_due(rt)
    await checkin.refresh_from_db()
    assert checkin.status == "sent" and checkin.provider_id in {m.sid for m in twilio.messages}
    assert all(m.created_at.astimezone(SANTIAGO).hour == 9 for m in twilio.messages)


async def test_transient_errors_back_off_then_send(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    twilio.fail_next(1, status=500)
    twilio.fail_next(1, status=429)

    first = await dispatch_due(rt)
    await row.refresh_from_db()
    assert first.retried == 1 and row.status == "planned"
    assert (row.attempts, row.error_code) == (1, 20500)
    assert row.send_at == clock.now() + timedelta(minutes=1)
    assert (await dispatch_due(rt)).claimed == 0  # not before its backoff

    clock.advance(minutes=1)
    await dispatch_due(rt)
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.error_code) == ("planned", 2, 20429)
    assert row.send_at == clock.now() + timedelta(minutes=2)

    clock.advance(minutes=2)
    await dispatch_due(rt)
    await row.refresh_from_db()
    (message,) = twilio.messages
    assert row.status == "sent" and row.attempts == 3 and row.provider_id == message.sid


async def test_transient_errors_give_up_after_max_attempts(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    participant = await enrol(rt)
    row = await due_now(rt)
    twilio.fail_next(5, status=503)
    for minutes in (0, 1, 2, 4, 8):
        clock.advance(minutes=minutes)
        await dispatch_due(rt)
    await row.refresh_from_db()
    await participant.refresh_from_db()
    assert (row.status, row.attempts, row.error_code) == ("failed", 5, 20503)
    assert twilio.messages == [] and participant.sms_blocked_code is None
    assert await AuditEntry.filter(action="message.failed", entity_id=str(row.id)).exists()


@pytest.mark.parametrize(("code", "opted_out"), [(21610, True), (21211, False)])
async def test_a_permanent_refusal_stops_all_sms_and_shows_in_the_api(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock, code: int, opted_out: bool
) -> None:
    admin = await staff_headers(client, "admin@uandes.cl", "admin")
    assert (
        await client.post("/api/v1/participants", json=enrollment(), headers=admin)
    ).status_code == 201
    twilio.fail_number(PHONE, code)
    rt = client.app.state.runtime

    counts = await dispatch_due(rt)

    failed = await OutboundMessage.get(status="failed")
    assert counts.failed == 1 and failed.error_code == code and twilio.messages == []
    body = (await client.get("/api/v1/participants/MSC-001", headers=admin)).json()
    assert body["sms_blocked_code"] == code and body["opted_out"] is opted_out
    assert not await OutboundMessage.filter(status="planned", kind__in=["reminder", "checkin"])
    assert await AuditEntry.filter(action="participant.sms_blocked").count() == 1

    twilio.fail_number(PHONE, None)  # even if the carrier would take it now: nothing is due
    clock.advance(days=30)
    assert (await dispatch_due(rt)).sent == 0 and twilio.messages == []
