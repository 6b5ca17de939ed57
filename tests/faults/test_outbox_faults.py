"""The outbox's fault suite: exactly once under every fault.

Two real ``worker`` processes dispatch from one PostgreSQL database to the local
Twilio double, which in chaos mode accepts-then-answers-5xx, accepts-then-hangs past
the client's timeout, refuses with 500s, resets connections, drops answers after
storing, pauses, and fails lookups. Meanwhile this process re-plans participants
(changing their language, which rewrites their due rows) and kill -9s a worker
every few seconds, restarting it. Then the faults stop, backoffs are pulled forward
(the clock is the wall clock), and the suite waits for the outbox to settle.

A third of the participants are on WhatsApp (templates, since none has written), and
another third chose WhatsApp from a number without it (each of their messages is
refused with 63003 and goes once by SMS instead).

It must end with every due message sent exactly once, on exactly one channel, and
every row's status and
audit matching the double's journal: each accepted message is recorded on exactly
one row, each sent row's provider id is in the journal with that row's number and
text, each sent row has exactly one ``message.sent`` audit entry naming it, and
nothing the double stored belongs to a row that is not ``sent``.

Bounded: about 12 s of chaos and at most 60 s to settle. PostgreSQL only (that is
where several processes dispatch concurrently); skipped on SQLite.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from service.actions.outbox import enqueue_now, replan_if_protocol_changed, replan_participant
from service.actions.participants import EnrollmentRequest, OptIn, enroll, sync_sites
from service.adapters.whatsapp_templates import read_templates
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage, Participant
from service.domain.actors import SYSTEM, Actor
from service.domain.states import StaffRole
from service.ports import SystemClock
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import SECRET
from tests.support.fakes import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
)
from tests.support.whatsapp_support import approve_templates

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor(kind="staff", label="staff:faults@uandes.cl", role=StaffRole.ADMIN)
ALERTS = 150
PARTICIPANTS = 20
CHAOS_S = 12.0
SETTLE_S = 60.0
KILL_EVERY_S = 3.0
BOOT_S = 60.0
MIN_KILLS = 3
MIN_FAULTS = 20


def _traffic(twilio: TwilioFakeServer) -> int:
    """Requests the double has seen: accepted sends plus injected faults."""
    return len(twilio.journal) + sum(twilio.chaos_counts.values())


def _enough_faults(kills: int, twilio: TwilioFakeServer) -> bool:
    return kills >= MIN_KILLS and sum(twilio.chaos_counts.values()) >= MIN_FAULTS


def worker_env(database_url: str, twilio: TwilioFakeServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMS_", "DATABASE"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=TEST_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
        TWILIO_MESSAGING_SERVICE_SID=TEST_MESSAGING_SERVICE_SID,
        TWILIO_API_BASE_URL=twilio.base_url,
        TWILIO_WHATSAPP_FROM=f"whatsapp:{TEST_FROM_NUMBER}",
        PUBLIC_BASE_URL="http://127.0.0.1:9",
        SMS_RATE_PER_SECOND="0",
        DISPATCH_INTERVAL_SECONDS="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.worker_process"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def seed(rt: Runtime) -> None:
    """Staff alerts (distinct texts) and participants with a reminder due at once."""
    for n in range(ALERTS):
        await enqueue_now(
            rt,
            participant=None,
            to_phone=f"+569800{n:05d}",
            kind="alert",
            purpose="alert:faults",
            occurrence=str(n),
            message_key="alert.oncall",
            params={"study_id": f"MSC-{n:03d}", "site_code": "CUA", "summary": f"prueba {n}"},
            language="es",
            expires_in=timedelta(hours=2),
        )
    # A zone where it is early afternoon now, whenever the suite runs: no quiet hours.
    utc_hour = datetime.now(UTC).hour
    offset = (13 - utc_hour + 12) % 24 - 12  # hours east of UTC, -12..11
    zone = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"  # POSIX signs are inverted
    today = datetime.now(ZoneInfo(zone)).date()
    for n in range(PARTICIPANTS):
        request: dict[str, Any] = {
            "study_id": f"MSC-F{n:02d}",
            "site": "CUA",
            "phone": f"+5696{n:07d}",
            "can_become_pregnant": False,
            "baseline_infusion_date": today + timedelta(days=7),
            "sms_consent": True,
            "timezone": zone,
        }
        if n % 3:  # WhatsApp; for n % 3 == 2 from a number WhatsApp does not know
            request.update(channel="whatsapp", whatsapp_opt_in=OptIn("written"))
        await enroll(rt, ADMIN, EnrollmentRequest(**request))
    # Bring each participant's next few messages forward: due now, so the dispatchers
    # claim them while the re-planner (which would move them back) races for them.
    now = datetime.now(UTC)
    for participant in await Participant.all():
        ids = await (
            OutboundMessage.filter(participant_id=participant.id, status="planned")
            .order_by("send_at")
            .limit(4)
            .values_list("id", flat=True)
        )
        await OutboundMessage.filter(id__in=list(ids)).update(send_at=now, version=F("version") + 1)


async def replan_someone(rt: Runtime, rng: random.Random) -> None:
    """A staff edit racing the dispatchers (and the workers' start-up re-plan): it
    rewrites the participant's due rows, as the participant actions do, in one
    transaction that holds the participant's row."""
    study_id = f"MSC-F{rng.randrange(PARTICIPANTS):02d}"
    async with in_transaction():
        participant = await Participant.filter(study_id=study_id).select_for_update().get()
        participant.language = "en" if participant.language == "es" else "es"
        await participant.save(update_fields=["language", "updated_at"])
        await replan_participant(rt, participant, actor=SYSTEM)


async def settled(now: datetime) -> bool:
    due = await OutboundMessage.filter(status="planned", send_at__lte=now).count()
    sending = await OutboundMessage.filter(status="sending").count()
    return due == 0 and sending == 0


@pytest.mark.postgres
async def test_every_due_message_is_sent_exactly_once_under_faults(
    db: None, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("the fault suite runs several dispatcher processes on PostgreSQL")
    rng = random.Random(8)
    with TwilioFakeServer() as twilio:
        approve_templates(twilio, read_templates(settings.whatsapp_templates_file))
        twilio.whatsapp.without_whatsapp.update(f"+5696{n:07d}" for n in range(2, PARTICIPANTS, 3))
        rt = build_runtime(settings, clock=SystemClock())
        await sync_sites(rt)
        await replan_if_protocol_changed(rt)
        await seed(rt)
        twilio.set_chaos(0.3, seed=8, hang_s=1.5, pause_s=0.3, lookup_failure=0.1)
        env = worker_env(database_url, twilio)
        workers = [start_worker(env), start_worker(env)]
        kills = 0
        try:
            loop = asyncio.get_running_loop()
            # The chaos clock starts when the workers' first request reaches the
            # double: on a loaded machine two fresh processes take seconds to boot,
            # and killing them before they send proves nothing.
            boot_deadline = loop.time() + BOOT_S
            while not _traffic(twilio) and loop.time() < boot_deadline:
                await replan_someone(rt, rng)
                await asyncio.sleep(0.2)
            end, next_kill = loop.time() + CHAOS_S, loop.time() + KILL_EVERY_S
            overtime = end + CHAOS_S
            while loop.time() < end or (
                not _enough_faults(kills, twilio) and loop.time() < overtime
            ):
                await replan_someone(rt, rng)
                if loop.time() >= next_kill:
                    victim = rng.randrange(len(workers))
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait(5)
                    workers[victim] = start_worker(env)
                    kills += 1
                    next_kill += KILL_EVERY_S
                await asyncio.sleep(0.2)
            injected = twilio.chaos_counts
            twilio.set_chaos(0)
            deadline = loop.time() + SETTLE_S
            while loop.time() < deadline:
                now = datetime.now(UTC)
                # Backoffs are minutes long: bring waiting retries forward.
                await OutboundMessage.filter(status="planned", attempts__gt=0).update(
                    send_at=now, version=F("version") + 1
                )
                if await settled(now):
                    break
                await asyncio.sleep(0.5)
        finally:
            twilio.set_chaos(0)
            for proc in workers:
                stop_worker(proc)
        journal = twilio.journal

    print(f"\nfaults: kills={kills} injected={injected} journal={len(journal)}")
    assert kills >= MIN_KILLS and sum(injected.values()) >= MIN_FAULTS, (kills, injected)
    end_time = datetime.now(UTC)
    rows = await OutboundMessage.all()
    people = {p.id: p.phone for p in await Participant.all()}
    due = [r for r in rows if r.send_at <= end_time and r.status not in ("cancelled", "in_app")]
    unsent = [(r.id, r.kind, r.status) for r in due if r.status not in ("sent", "delivered")]
    assert unsent == [], unsent

    by_sid = {e.sid: e for e in journal}
    # One message on two channels is a duplicate too: compare numbers without the
    # channel prefix and texts without accents (an SMS may be folded to GSM-7).
    texts = Counter((e.to.removeprefix("whatsapp:"), _folded(e.body)) for e in journal)
    duplicates = [key for key, count in texts.items() if count > 1]
    assert duplicates == [], f"{len(duplicates)} messages reached the double more than once"

    sent = [r for r in rows if r.status in ("sent", "delivered")]
    recorded = Counter(r.provider_id for r in sent)
    assert set(recorded) == set(by_sid), "a stored message belongs to no sent row, or back"
    assert max(recorded.values()) == 1
    for row in sent:
        entry = by_sid[row.provider_id or ""]
        to = row.to_phone or people[row.participant_id]  # type: ignore[attr-defined]
        address = f"whatsapp:{to}" if row.channel == "whatsapp" else to
        assert (entry.to, entry.body) == (address, row.body), row.id

    audits = Counter(
        (a.entity_id, a.changes.get("provider_id"))
        for a in await AuditEntry.filter(action="message.sent", entity="outbound_message")
    )
    assert sorted(audits) == sorted((str(r.id), r.provider_id) for r in sent)
    assert max(audits.values()) == 1
    alerts = [r for r in rows if r.kind == "alert"]
    assert len(alerts) == ALERTS and all(r.status == "sent" for r in alerts)
    on_whatsapp = Counter(r.channel for r in sent if r.kind != "alert")
    fell_back = [r for r in sent if r.fallback_reason == "refused"]
    print(f"channels: {dict(on_whatsapp)}, fallbacks to SMS: {len(fell_back)}")
    assert on_whatsapp["whatsapp"] and fell_back
    assert all(r.channel == "sms" for r in fell_back)
    # The row's error_code is its latest failure (an injected fault may hit the SMS
    # attempt too); the refusal that sent it to SMS is in its fallback audit, once.
    refusals = Counter(
        (a.entity_id, a.changes.get("error_code"))
        for a in await AuditEntry.filter(action="message.fallback", entity="outbound_message")
    )
    sent_ids = {r.id for r in sent}
    # The racing staff edit's re-plan may reach a row after it fell back, before its SMS
    # attempt: it cancels the row (its replacement goes out) or moves it back to its own
    # date, still marked to go by SMS. Either way the row keeps its fallback audit.
    raced = [r for r in rows if r.id not in sent_ids and r.fallback_reason == "refused"]
    moved_back = [r for r in raced if r.status == "planned"]
    print(f"fell back, then re-planned: {len(raced)} ({len(moved_back)} moved back)")
    assert all(r.send_at > end_time and r.channel == "sms" for r in moved_back), moved_back
    assert {r.status for r in raced} <= {"cancelled", "planned"}, raced
    expected = Counter((str(r.id), 63003) for r in [*fell_back, *raced])
    assert refusals == expected, (
        f"audited, not fallen back: {sorted(refusals - expected)};"
        f" fallen back, not audited: {sorted(expected - refusals)}"
    )


def _folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
