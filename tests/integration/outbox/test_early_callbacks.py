"""A status callback that arrives before its send is recorded is kept, then applied
when the provider id is recorded (statuses stay order-independent)."""

from __future__ import annotations

from datetime import timedelta

from service.actions.outbox import dispatch_due
from service.db.models import EarlyStatusCallback, OutboundMessage, Participant
from service.ports import ManualClock
from tests.integration.outbox.test_status_webhook import (
    SID,
    admin,
    captured,
    gateway,
    post,
    settings,
)
from tests.support.helpers import Client, enrollment

__all__ = ["admin", "gateway", "settings"]  # fixtures, imported for pytest to find


async def enrol_and_receive_early(client: Client, admin: dict[str, str], *names: str) -> None:
    response = await client.post("/api/v1/participants", json=enrollment(), headers=admin)
    assert response.status_code == 201, response.text
    for name in names:  # before the dispatcher has recorded the sid these are about
        assert (await post(client, captured(name))).status_code == 204
    assert await EarlyStatusCallback.filter(message_sid=SID).count() == len(names)


async def test_a_delivery_receipt_before_the_send_is_recorded_is_applied(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    await enrol_and_receive_early(client, admin, "twilio_status_delivered.json")
    await dispatch_due(client.app.state.runtime)
    row = await OutboundMessage.get(provider_id=SID)
    assert (row.status, row.provider_status, row.delivered_at) == (
        "delivered",
        "delivered",
        clock.now(),
    )
    assert await EarlyStatusCallback.all().count() == 0


async def test_early_receipts_in_any_order_end_as_in_order(
    client: Client, admin: dict[str, str]
) -> None:
    # "delivered" arrives before "sent" (as Twilio may post them): delivered wins.
    sent_form = captured("twilio_status_delivered.json", MessageStatus="sent", SmsStatus="sent")
    await enrol_and_receive_early(client, admin, "twilio_status_delivered.json")
    assert (await post(client, sent_form)).status_code == 204
    await dispatch_due(client.app.state.runtime)
    row = await OutboundMessage.get(provider_id=SID)
    assert (row.status, row.provider_status) == ("delivered", "delivered")


async def test_an_early_failure_is_retried_or_blocks_like_a_late_one(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    await enrol_and_receive_early(client, admin, "twilio_status_failed.json")  # 30003
    await dispatch_due(client.app.state.runtime)
    row = await OutboundMessage.get(provider_id=SID)
    assert row.status == "planned" and row.error_code == 30003  # retried later
    assert row.send_at > clock.now()
    participant = await Participant.get()
    assert participant.sms_blocked_code is None


async def test_unmatched_callbacks_do_not_pile_up(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    other = captured("twilio_status_delivered.json", MessageSid="SM" + "0" * 32)
    assert (await post(client, other)).status_code == 204
    clock.advance(days=3)
    assert (await post(client, captured("twilio_status_delivered.json"))).status_code == 204
    assert await EarlyStatusCallback.filter(message_sid="SM" + "0" * 32).count() == 0
    assert clock.now() - (await EarlyStatusCallback.get()).received_at < timedelta(days=1)
