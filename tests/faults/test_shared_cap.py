"""Two worker processes share one send cap, counted in segments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from service.actions.outbox import replan_if_protocol_changed
from service.actions.participants import sync_sites
from service.composition import build_runtime
from service.db.models import OutboundMessage
from service.ports import SystemClock
from service.settings import Settings
from tests.faults.test_outbox_faults import seed, start_worker, stop_worker, worker_env
from tests.support.fakes import TwilioFakeServer

RATE = 50  # segments per second, for the whole cluster


@pytest.mark.postgres
async def test_two_workers_together_stay_within_one_cap(
    db: None, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("several dispatcher processes share the cap on PostgreSQL")
    with TwilioFakeServer() as twilio:
        rt = build_runtime(settings, clock=SystemClock())
        await sync_sites(rt)
        await replan_if_protocol_changed(rt)
        await seed(rt)  # 150 alerts of 2 segments each, and 20 participants
        due = await OutboundMessage.filter(send_at__lte=datetime.now(UTC), status="planned")
        env = worker_env(database_url, twilio, SMS_RATE_PER_SECOND=str(RATE))
        workers = [start_worker(env), start_worker(env)]
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while loop.time() < deadline:
                await asyncio.sleep(0.25)
                if len(twilio.messages) >= len(due):
                    break
        finally:
            for proc in workers:
                stop_worker(proc)
        messages = twilio.messages
    sids = [m.sid for m in messages]
    rows = await OutboundMessage.filter(provider_id__in=sids).values_list("segments", flat=True)
    segments = sum(s or 1 for s in rows)
    assert len(messages) == len(due)
    took = (messages[-1].created_at - messages[0].created_at).total_seconds()
    # One bucket of RATE: the first second's burst, then RATE a second (a burst may run
    # over by the extra segments of the messages it claimed). Two per-process buckets
    # would take about half as long.
    floor = (segments - 2 * RATE) / RATE
    assert took >= floor * 0.9, (took, segments)
    assert took <= floor + 4, (took, segments)  # and it keeps close to the cap's pace
