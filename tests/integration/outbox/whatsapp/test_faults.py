"""Faults during WhatsApp sends: every message exactly once, on exactly one channel.

A proxy's 504 after Twilio accepted a template, an answer lost on the wire, and a
process killed after Twilio took the message are all looked up on the WhatsApp
address and recorded, never re-sent (and never sent again by SMS); a reset before
Twilio stored anything is sent once. Over real HTTP with the official SDK.
"""

from __future__ import annotations

import dataclasses

import pytest

from service.actions.outbox import dispatch_due, reconcile_stale_claims
from service.actions.outbox._reconcile import LEASE
from service.db.models import AuditEntry
from service.ports import ManualClock, SmsGateway
from tests.support.fakes import TwilioFakeServer
from tests.support.fakes.gateways import CrashingGateway
from tests.support.helpers import Client
from tests.support.whatsapp_support import (
    PHONE,
    enrol_on_whatsapp,
    outbound,
)

WA = f"whatsapp:{PHONE}"


async def _exactly_once(twilio: TwilioFakeServer) -> None:
    (row,) = await outbound(status="sent")
    (entry,) = twilio.journal
    assert entry.to == WA and row.channel == "whatsapp" and row.content_sid
    assert row.provider_id == entry.sid and row.body == entry.body
    assert await AuditEntry.filter(action="message.sent").count() == 1


@pytest.mark.parametrize("fault", ["accept_504", "lose", "hang"])
async def test_an_accepted_template_is_looked_up_not_resent(
    client: Client, twilio: TwilioFakeServer, fault: str
) -> None:
    await enrol_on_whatsapp(client, twilio)
    if fault == "accept_504":
        twilio.accept_then_fail(status=504)
    elif fault == "lose":
        twilio.lose_next()
    else:
        twilio.accept_then_hang(seconds=5)

    await dispatch_due(client.app.state.runtime)

    await _exactly_once(twilio)


async def test_a_reset_before_twilio_stored_it_is_sent_once_later(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol_on_whatsapp(client, twilio)
    twilio.reset_next()
    rt = client.app.state.runtime

    await dispatch_due(rt)
    (row,) = await outbound(status="planned", kind="reminder", attempts=1)
    clock.set(row.send_at)
    await dispatch_due(rt)

    await _exactly_once(twilio)


async def test_kill_9_after_twilio_took_it_is_reconciled_on_whatsapp(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock, gateway: SmsGateway
) -> None:
    await enrol_on_whatsapp(client, twilio)
    rt = client.app.state.runtime
    dying = dataclasses.replace(rt, gateway=CrashingGateway(gateway, "after"))
    await dispatch_due(dying)  # the process "dies" after the send: nothing is recorded
    (row,) = await outbound(status="sending")
    assert row.channel == "whatsapp"  # written with the body, before the send

    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await reconcile_stale_claims(rt) == 1
    await dispatch_due(rt)

    await _exactly_once(twilio)
    assert (await AuditEntry.get(action="message.sent")).changes["via"] == "reconcile"
