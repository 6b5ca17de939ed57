"""``followup serve --workers 2`` beside two ``followup worker`` processes, on one
PostgreSQL database: each piece of work is done once.

Participants are enrolled, then their plans are forgotten (rows, audit entries and the
recorded revision), so the four processes that start find a protocol revision to
re-plan: each participant must be re-planned by exactly one of them. Messages made due
go to the local Twilio double exactly once. A burst of inbound webhooks, each posted
twice, spread over both web processes, is stored once per ``MessageSid`` and
understood once (the inbox: any of the four processes may read a stored message).

On SQLite ``--workers`` is refused with a line that says why (one writer).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tortoise.expressions import F

from service.actions.participants import EnrollmentRequest, enroll, sync_sites
from service.composition import build_runtime
from service.db.models import AuditEntry, InboundMessage, OutboundMessage, Participant, ServiceState
from service.domain.actors import Actor
from service.domain.states import StaffRole
from service.ports import SystemClock
from service.settings import Settings
from tests.faults.test_outbox_faults import ROOT, start_worker, stop_worker, worker_env
from tests.integration.test_process_logs import _daytime_zone
from tests.support.fakes import TEST_AUTH_TOKEN, TwilioFakeServer
from tests.support.fakes.twilio_server import signed_headers

ADMIN = Actor(kind="staff", label="staff:workers@uandes.cl", role=StaffRole.ADMIN)
PEOPLE = 12
PUBLIC = "http://127.0.0.1:9"  # worker_env's PUBLIC_BASE_URL: what the signatures cover
BOOT_S = 90.0
SETTLE_S = 60.0


def _start_serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603  # our own command line, no shell
        [sys.executable, "-m", "service", "serve", "--workers", "2", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _enrol_then_forget_plans(settings: Settings) -> list[str]:
    rt = build_runtime(settings, clock=SystemClock())
    await sync_sites(rt)
    today = datetime.now(UTC).date()
    zone = _daytime_zone()  # reminders are not held back by quiet hours
    phones = []
    for n in range(PEOPLE):
        phone = f"+5696124{n:04d}"
        phones.append(phone)
        request = {
            "study_id": f"MSC-W{n:02d}",
            "site": "CUA",
            "phone": phone,
            "can_become_pregnant": False,
            "baseline_infusion_date": today + timedelta(days=7),
            "sms_consent": True,
            "timezone": zone,
        }
        await enroll(rt, ADMIN, EnrollmentRequest(**request))  # type: ignore[arg-type]
    await OutboundMessage.all().delete()
    await AuditEntry.filter(action="messages.replan").delete()
    await ServiceState.filter(key__in=["protocol_revision", "protocol_replan"]).delete()
    return phones


async def _wait(condition: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.25)
    return False


async def _replanned() -> bool:
    return await ServiceState.exists(key="protocol_revision")


async def _serving(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(base_url + "/health/live")).status_code == 200
    except httpx.HTTPError:
        return False


def _form(phone: str, n: int) -> dict[str, str]:
    sid = f"SMworkers{n:023d}"
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+15005550006",
        "Body": "hola, una consulta",
        "NumMedia": "0",
    }


@pytest.mark.postgres
async def test_two_web_processes_and_two_workers_do_each_piece_of_work_once(
    db: None, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("several processes share one database on PostgreSQL only")
    phones = await _enrol_then_forget_plans(settings)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with TwilioFakeServer() as twilio:
        env = worker_env(database_url, twilio)
        serve = _start_serve(env, port)
        workers = [start_worker(env), start_worker(env)]
        try:
            assert await _wait(_replanned, BOOT_S), "nobody re-planned the new revision"
            assert await _wait(lambda: _serving(base_url), BOOT_S), "serve did not answer"
            # Each participant's first two planned messages, due now.
            now = datetime.now(UTC)
            due: list[int] = []
            for person in await Participant.all():
                due += await (
                    OutboundMessage.filter(
                        participant_id=person.id, status="planned", kind="reminder"
                    )
                    .order_by("send_at")
                    .limit(2)
                    .values_list("id", flat=True)
                )
            await OutboundMessage.filter(id__in=due).update(
                send_at=now - timedelta(seconds=1), expires_at=None, version=F("version") + 1
            )
            # A burst of inbound messages, each posted twice, over fresh connections.
            url = PUBLIC + "/webhooks/twilio/sms"
            forms = [_form(phones[n % PEOPLE], n) for n in range(24)]

            async def post(form: dict[str, str]) -> int:
                async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                    response = await client.post(
                        "/webhooks/twilio/sms",
                        data=form,
                        headers=signed_headers(url, form, TEST_AUTH_TOKEN),
                    )
                    return response.status_code

            codes = await asyncio.gather(*(post(f) for f in forms + forms))
            assert set(codes) == {200}, Counter(codes)

            async def sent() -> bool:
                return not await OutboundMessage.filter(id__in=due).exclude(status="sent").exists()

            assert await _wait(sent, SETTLE_S), "due messages were not all sent"

            async def understood() -> bool:
                return not await InboundMessage.filter(handling="pending").exists()

            assert await _wait(understood, SETTLE_S), "stored messages were not all understood"
        finally:
            serve.send_signal(signal.SIGTERM)
            for worker in workers:
                stop_worker(worker)
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()
        journal = twilio.journal

    replans = Counter(
        await AuditEntry.filter(action="messages.replan").values_list("entity_id", flat=True)
    )
    assert replans == Counter({f"MSC-W{n:02d}": 1 for n in range(PEOPLE)})
    # Every message the double accepted is recorded on exactly one row (a second send
    # of a row would leave an accepted message no row names).
    recorded = set(
        await OutboundMessage.filter(provider_id__isnull=False).values_list(
            "provider_id", flat=True
        )
    )
    assert sorted(entry.sid for entry in journal) == sorted(recorded)
    stored = await InboundMessage.filter(message_sid__startswith="SMworkers").values_list(
        "message_sid", "handling"
    )
    assert len(stored) == len(forms)
    assert all(handling != "pending" for _, handling in stored)
    # Understood once each (one audit of its handling), whichever process read it.
    understood_ids = await AuditEntry.filter(action="sms.inbound").values_list(
        "entity_id", flat=True
    )
    assert sorted(Counter(understood_ids).values()) == [1] * len(forms)


def test_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "TWILIO_"))}
    env.update(
        DATABASE_URL=f"sqlite://{tmp_path / 'one-writer.sqlite3'}",
        SECRET_KEY="a-secret-key-long-enough-0123456789-abcdef",
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(  # our own command line, no shell
        [sys.executable, "-m", "service", "serve", "--workers", "2", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--workers needs PostgreSQL" in done.stderr
