"""Every ambiguous send outcome is looked up at Twilio before any retry.

Only an answer that proves Twilio did not take the message (a 4xx with an error code,
a 429) is retried directly. A 5xx after acceptance, a hang past the client timeout, a
reset: the dispatcher asks Twilio first, records what it finds, and the record and the
audit match what reached Twilio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest

from service.actions.outbox import dispatch_due
from service.actions.outbox._reconcile import LEASE
from service.actions.participants import sync_sites
from service.adapters.twilio_sms import TwilioSmsGateway
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage
from service.ports import ManualClock, ProviderReceipt, SmsGateway, SmsSendError
from service.runtime import Runtime
from service.settings import Settings
from tests.contract.test_dispatch_twilio import due_now, enrol
from tests.support.fakes import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
)
from tests.support.fakes.gateways import CallerClosedGateway


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioFakeServer]:
    with TwilioFakeServer(clock=clock.now) as server:
        yield server


def _gateway(twilio: TwilioFakeServer, timeout_s: float) -> TwilioSmsGateway:
    return TwilioSmsGateway(
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
        api_base_url=twilio.base_url,
        timeout_s=timeout_s,
    )


@pytest.fixture
async def gateway(twilio: TwilioFakeServer) -> AsyncIterator[SmsGateway]:
    gw = _gateway(twilio, 2)
    yield CallerClosedGateway(gw)
    await gw.aclose()


@pytest.fixture
async def rt(db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway) -> Runtime:
    runtime = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(runtime)
    return runtime


def _lookups(twilio: TwilioFakeServer) -> int:
    return sum(1 for r in twilio.requests if r.method == "GET")


async def _sent_audits(row: OutboundMessage) -> list[AuditEntry]:
    return await AuditEntry.filter(action="message.sent", entity_id=str(row.id))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_accepted_then_a_5xx_is_recorded_as_sent_never_resent(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock, status: int
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    twilio.accept_then_fail(1, status=status)

    counts = await dispatch_due(rt)
    clock.advance(minutes=30)
    await dispatch_due(rt)

    await row.refresh_from_db()
    (entry,) = twilio.journal
    assert entry.answered == str(status)
    assert counts.sent == 1 and counts.retried == 0
    assert row.status == "sent" and row.provider_id == entry.sid and row.attempts == 1
    (audit,) = await _sent_audits(row)
    assert audit.changes["via"] == "lookup" and audit.changes["provider_id"] == entry.sid


@pytest.fixture
async def impatient(rt: Runtime, twilio: TwilioFakeServer) -> AsyncIterator[SmsGateway]:
    gw = _gateway(twilio, 0.3)
    yield CallerClosedGateway(gw)
    await gw.aclose()


async def test_accepted_then_a_hang_past_the_timeout_is_looked_up(
    rt: Runtime, twilio: TwilioFakeServer, impatient: SmsGateway
) -> None:
    rt = dataclasses.replace(rt, gateway=impatient)
    await enrol(rt)
    row = await due_now(rt)
    twilio.accept_then_hang(1, seconds=2)

    counts = await dispatch_due(rt)

    await row.refresh_from_db()
    (entry,) = twilio.journal
    assert entry.answered == "hang" and counts.sent == 1
    assert row.status == "sent" and row.provider_id == entry.sid
    assert len(await _sent_audits(row)) == 1


async def test_a_reset_before_twilio_stored_it_is_looked_up_then_retried(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    twilio.reset_next(1)

    first = await dispatch_due(rt)
    await row.refresh_from_db()
    assert first.retried == 1 and row.status == "planned" and twilio.journal == []
    assert _lookups(twilio) >= 1  # asked before planning the retry
    assert row.claim_token is None and row.lease_until is None

    clock.advance(minutes=1)
    await dispatch_due(rt)
    await row.refresh_from_db()
    (entry,) = twilio.journal
    assert row.status == "sent" and row.provider_id == entry.sid and row.attempts == 2
    assert len(await _sent_audits(row)) == 1


async def test_a_500_that_stored_nothing_is_looked_up_then_retried(
    rt: Runtime, twilio: TwilioFakeServer
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    twilio.fail_next(1, status=500)
    counts = await dispatch_due(rt)
    await row.refresh_from_db()
    assert counts.retried == 1 and row.status == "planned" and _lookups(twilio) >= 1


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (400, 30008)])
async def test_a_proven_refusal_is_retried_without_a_lookup(
    rt: Runtime, twilio: TwilioFakeServer, status: int, code: int
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    twilio.fail_next(1, status=status, code=code)
    counts = await dispatch_due(rt)
    await row.refresh_from_db()
    assert counts.retried == 1 and row.status == "planned" and row.error_code == code
    assert _lookups(twilio) == 0


class BlindLookups(CallerClosedGateway):
    """Sends through Twilio, but every lookup fails (Twilio's list endpoint is down)."""

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        raise SmsSendError("twilio lookup failed: ServerDisconnectedError")


async def test_a_failed_lookup_leaves_the_row_claimed_until_its_lease_lapses(
    rt: Runtime, twilio: TwilioFakeServer, clock: ManualClock, gateway: SmsGateway
) -> None:
    await enrol(rt)
    row = await due_now(rt)
    rt = dataclasses.replace(rt, gateway=BlindLookups(gateway))
    twilio.accept_then_fail(1, status=504)

    counts = await dispatch_due(rt)
    await row.refresh_from_db()
    assert counts.retried == 0 and row.status == "sending" and row.provider_id is None

    rt = dataclasses.replace(rt, gateway=gateway)  # lookups work again; the lease lapses
    clock.advance(seconds=LEASE.total_seconds() + 1)
    counts = await dispatch_due(rt)
    await row.refresh_from_db()
    (entry,) = twilio.journal
    assert counts.reconciled == 1 and row.status == "sent" and row.provider_id == entry.sid
    (audit,) = await _sent_audits(row)
    assert audit.changes["via"] == "reconcile"
