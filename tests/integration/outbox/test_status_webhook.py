"""POST /webhooks/twilio/status with captured Twilio forms: signatures, order, retries,
permanent failures visible to coordinators."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from service.actions.outbox import dispatch_due
from service.db.models import AuditEntry, OutboundMessage
from service.ports import ManualClock
from service.settings import Settings, load_settings
from tests.conftest import SECRET
from tests.support.fakes import TEST_AUTH_TOKEN, sign
from tests.support.fakes.gateways import CAPTURED_STATUS_SID, SidGateway
from tests.support.helpers import Client, enrollment, staff_headers

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Twilio calls the public address; the service itself is reached as testserver.local.
PUBLIC = "https://followup.example.cl"
WEBHOOK = "/webhooks/twilio/status"
SID = CAPTURED_STATUS_SID  # the captured callbacks' MessageSid


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SMS_RATE_PER_SECOND": "0",
            "PUBLIC_BASE_URL": PUBLIC,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        }
    )


@pytest.fixture
def gateway() -> SidGateway:
    return SidGateway()


def captured(name: str, **changes: str) -> dict[str, str]:
    form: dict[str, str] = json.loads((FIXTURES / name).read_text())
    form.update(changes)
    return form


async def post(client: Client, form: dict[str, str], *, url: str | None = None) -> Any:
    signature = sign(url or f"{PUBLIC}{WEBHOOK}", form, TEST_AUTH_TOKEN)
    return await client.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": signature})


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


@pytest.fixture
async def sent(client: Client, admin: dict[str, str]) -> OutboundMessage:
    """A reminder that left with the captured sid (INF1's week-before, due at enrolment)."""
    response = await client.post("/api/v1/participants", json=enrollment(), headers=admin)
    assert response.status_code == 201, response.text
    await dispatch_due(client.app.state.runtime)
    row = await OutboundMessage.get(provider_id=SID)
    assert (row.status, row.provider_status, row.attempts) == ("sent", "accepted", 1)
    return row


async def snapshot(row: OutboundMessage) -> tuple[Any, ...]:
    await row.refresh_from_db()
    return (row.status, row.provider_status, row.delivered_at, row.error_code, row.send_at)


async def test_a_signed_delivery_receipt_is_applied(
    client: Client, sent: OutboundMessage, clock: ManualClock
) -> None:
    response = await post(client, captured("twilio_status_delivered.json"))
    assert response.status_code == 204, response.text
    await sent.refresh_from_db()
    assert (sent.status, sent.provider_status) == ("delivered", "delivered")
    assert sent.delivered_at == clock.now()


async def test_unverifiable_callbacks_are_refused_and_change_nothing(
    client: Client, sent: OutboundMessage
) -> None:
    before = await snapshot(sent)
    audits = await AuditEntry.all().count()
    form = captured("twilio_status_delivered.json")

    unsigned = await client.post(WEBHOOK, data=form)

    tampered = dict(form, MessageStatus="failed", SmsStatus="failed", ErrorCode="21610")
    signature = sign(f"{PUBLIC}{WEBHOOK}", form, TEST_AUTH_TOKEN)  # signed before tampering
    forged = await client.post(WEBHOOK, data=tampered, headers={"X-Twilio-Signature": signature})

    # What trusting the request's own Host would accept: signed for the internal URL.
    internal = await post(client, form, url=f"http://testserver.local{WEBHOOK}")

    rt = client.app.state.runtime
    settings = dataclasses.replace(rt.settings, twilio_auth_token=None)
    client.app.state.runtime = dataclasses.replace(rt, settings=settings)
    no_token = await post(client, form)

    assert [r.status_code for r in (unsigned, forged, internal, no_token)] == [403] * 4
    assert await snapshot(sent) == before
    assert await AuditEntry.all().count() == audits


async def test_a_late_sent_never_overwrites_delivered(
    client: Client, sent: OutboundMessage
) -> None:
    delivered = captured("twilio_status_delivered.json")
    assert (await post(client, delivered)).status_code == 204
    after_delivery = await snapshot(sent)
    for status in ("sent", "queued", "sending"):
        late = captured("twilio_status_delivered.json", MessageStatus=status, SmsStatus=status)
        del late["RawDlrDoneDate"]
        assert (await post(client, late)).status_code == 204
    assert await snapshot(sent) == after_delivery
    assert after_delivery[:2] == ("delivered", "delivered")


async def test_a_duplicate_callback_is_idempotent(
    client: Client, sent: OutboundMessage, clock: ManualClock
) -> None:
    form = captured("twilio_status_delivered.json")
    await post(client, form)
    first = await snapshot(sent)
    audits = await AuditEntry.all().count()
    clock.advance(minutes=3)
    assert (await post(client, form)).status_code == 204
    assert await snapshot(sent) == first
    assert await AuditEntry.all().count() == audits


async def test_a_transient_failure_is_retried_with_backoff(
    client: Client, sent: OutboundMessage, clock: ManualClock, gateway: SidGateway
) -> None:
    form = captured("twilio_status_failed.json")  # undelivered, 30003 handset unreachable
    assert (await post(client, form)).status_code == 204
    retry = await snapshot(sent)
    assert retry[0] == "planned" and retry[3] == 30003
    assert retry[4] == clock.now() + timedelta(minutes=1) and sent.attempts == 1
    clock.advance(seconds=30)
    await post(client, form)  # Twilio posts it again: still one retry, same moment
    assert await snapshot(sent) == retry

    clock.advance(seconds=30)
    await dispatch_due(client.app.state.runtime)
    await sent.refresh_from_db()
    assert (sent.status, sent.attempts) == ("sent", 2) and len(gateway.sent) == 2
    assert sent.provider_id != SID


@pytest.mark.parametrize(
    ("status", "code", "opted_out"), [("undelivered", "30006", False), ("failed", "21610", True)]
)
async def test_a_permanent_failure_blocks_the_participant(
    client: Client,
    sent: OutboundMessage,
    admin: dict[str, str],
    status: str,
    code: str,
    opted_out: bool,
) -> None:
    form = captured("twilio_status_failed.json", MessageStatus=status, SmsStatus=status)
    form["ErrorCode"] = code
    assert (await post(client, form)).status_code == 204
    await sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (status, int(code))
    participant = (await client.get("/api/v1/participants/MSC-001", headers=admin)).json()
    assert participant["sms_blocked_code"] == int(code)
    assert participant["opted_out"] is opted_out
    assert not await OutboundMessage.filter(status="planned", participant_id=sent.participant_id)  # type: ignore[attr-defined]  # FK id
    assert await AuditEntry.filter(action=f"message.{status}", entity_id=str(sent.id)).exists()
    messages = (await client.get("/api/v1/participants/MSC-001/messages", headers=admin)).json()
    failed = next(m for m in messages if m["id"] == sent.id and m["direction"] == "outbound")
    assert failed["error_code"] == int(code) and failed["status"] == status


async def test_an_unknown_message_is_answered_and_ignored(
    client: Client, sent: OutboundMessage
) -> None:
    before = await snapshot(sent)
    form = captured(
        "twilio_status_delivered.json", MessageSid="SM" + "0" * 32, SmsSid="SM" + "0" * 32
    )
    assert (await post(client, form)).status_code == 204
    assert await snapshot(sent) == before
