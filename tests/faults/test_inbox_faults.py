"""The inbox under the faults that are the normal case: a web process killed between
storing a message and understanding it, understanding that fails once, two processes
racing one number. Every message is understood exactly once, in the order it came,
and its reply is queued (and sent) once.

"In order" is checked with messages whose order changes the outcome: "BAJA" then
"ALTA" leaves the participant subscribed, the other way round unsubscribed, and the
two confirmations must be queued in that order.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import asyncpg
import httpx
import pytest

import service.actions.inbound._handle as handling_module
from service.actions.inbound import store_inbound, understand_waiting
from service.db.locks import lock_key
from service.db.models import AuditEntry, InboundMessage, OutboundMessage, Participant
from service.ports import InboundSms, ManualClock
from service.settings import Settings
from tests.faults.test_outbox_faults import ROOT, start_worker, stop_worker, worker_env
from tests.faults.test_serve_workers import _free_port, _serving, _wait
from tests.support.fakes import TEST_AUTH_TOKEN, TwilioFakeServer
from tests.support.fakes.twilio_server import signed_headers
from tests.support.helpers import Client
from tests.support.inbound_support import PHONE, captured, enrol, post_sms, settings

__all__ = ["settings"]  # fixture, imported for pytest to find

ORDERED = ("hola, una consulta", "BAJA", "ALTA")
BOOT_S = 90.0
SETTLE_S = 60.0
ANSWER_S = 5.0  # the webhook answers at once, whatever understanding is doing


def _start_serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603  # our own command line, no shell
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _understood_in_order(phone: str) -> list[str]:
    """The handlings of the number's messages, after checking each was understood
    exactly once and in the order it was stored."""
    stored = await InboundMessage.filter(from_phone=phone).order_by("id")
    audits = await AuditEntry.filter(action="sms.inbound").order_by("id")
    ids = [int(entry.entity_id) for entry in audits if entry.entity_id is not None]
    assert ids == [m.id for m in stored]  # once each, oldest first
    replies = await OutboundMessage.filter(kind="reply").order_by("id")
    sids = [r.occurrence.split(":")[0] for r in replies]
    order = {m.message_sid: n for n, m in enumerate(stored)}
    assert [order[s] for s in sids] == sorted(order[s] for s in sids)  # queued in order
    return [str(m.handling) for m in stored]


def _sms(text: str, n: int) -> InboundSms:
    return InboundSms(
        provider_id=f"SMinbox{n:026d}", from_phone=PHONE, to_phone="+15005550006", body=text
    )


async def test_messages_whose_process_died_after_storing_are_understood_by_the_sweep(
    client: Client, clock: ManualClock
) -> None:
    """The process stored three messages and died before understanding any: another
    process's sweep reads them, in order, once."""
    await enrol(client)
    rt = client.app.state.runtime
    for n, text in enumerate(ORDERED):
        assert not (await store_inbound(rt, _sms(text, n))).duplicate
    assert await InboundMessage.filter(handling="pending").count() == 3
    assert await understand_waiting(rt) == 0  # too fresh: the receiving process is on it
    clock.advance(seconds=3)
    assert await understand_waiting(rt) == 3
    assert await understand_waiting(rt) == 0  # never twice
    assert await _understood_in_order(PHONE) == ["queued", "opt_out", "opt_in"]
    assert not (await Participant.get()).opted_out


async def test_understanding_that_fails_once_is_retried_and_applied_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enrol(client)
    real = handling_module.understand
    failures: list[str] = []

    async def fails_once(*args: Any) -> Any:
        if not failures:
            failures.append("once")
            raise RuntimeError("injected: understanding failed")
        return await real(*args)

    monkeypatch.setattr(handling_module, "understand", fails_once)
    for text in ORDERED:
        assert (await post_sms(client, captured(Body=text, From=PHONE))).status_code == 200
    assert failures == ["once"]
    assert await _understood_in_order(PHONE) == ["queued", "opt_out", "opt_in"]
    first = await InboundMessage.filter(from_phone=PHONE).order_by("id").first()
    assert first is not None and first.attempts == 1
    audit = await AuditEntry.get(action="sms.inbound", entity_id=str(first.id))
    assert audit.changes["failed_attempts"] == 1
    assert await OutboundMessage.filter(occurrence__startswith=first.message_sid).count() == 1


@pytest.mark.postgres
async def test_a_web_process_killed_between_storing_and_understanding(
    db: None, settings: Settings, database_url: str
) -> None:
    """A real ``followup serve`` stores and answers while understanding of the number
    is held up (the test holds its lock); the process is killed with SIGKILL. A worker
    started afterwards understands the three messages once, in order, and the
    participant's replies go to the provider once each."""
    if not database_url.startswith("postgres"):
        pytest.skip("the understanding lock is held from a second connection: PostgreSQL")
    from tests.faults.test_serve_workers import _enrol_then_forget_plans

    phone = (await _enrol_then_forget_plans(settings))[0]
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    holder = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    with TwilioFakeServer() as twilio:
        env = worker_env(database_url, twilio)
        serve = _start_serve(env, port)
        worker = None
        try:
            assert await _wait(lambda: _serving(base_url), BOOT_S), "serve did not answer"
            hold = holder.transaction()
            await hold.start()
            await holder.execute("SELECT pg_advisory_xact_lock($1)", lock_key(f"sms-from:{phone}"))
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                for n, text in enumerate(ORDERED):
                    form = {
                        "MessageSid": f"SMkilled{n:025d}",
                        "AccountSid": "AC" + "0" * 32,
                        "From": phone,
                        "To": "+15005550006",
                        "Body": text,
                    }
                    url = "http://127.0.0.1:9/webhooks/twilio/sms"
                    started = time.monotonic()
                    response = await http.post(
                        "/webhooks/twilio/sms",
                        data=form,
                        headers=signed_headers(url, form, TEST_AUTH_TOKEN),
                    )
                    assert response.status_code == 200
                    assert time.monotonic() - started < ANSWER_S
            assert await InboundMessage.filter(handling="pending").count() == 3
            serve.send_signal(signal.SIGKILL)
            serve.wait(30)
            await hold.rollback()
            worker = start_worker(env)

            async def understood() -> bool:
                return not await InboundMessage.filter(handling="pending").exists()

            assert await _wait(understood, SETTLE_S), "the stored messages were never understood"

            async def replies_sent() -> bool:
                waiting = await OutboundMessage.filter(kind="reply", status="planned").exists()
                return not waiting and not await OutboundMessage.filter(status="sending").exists()

            assert await _wait(replies_sent, SETTLE_S), "the replies were not sent"
        finally:
            await holder.close()
            if serve.poll() is None:
                serve.kill()
            if worker is not None:
                stop_worker(worker)
        journal = twilio.journal
    assert await _understood_in_order(phone) == ["queued", "opt_out", "opt_in"]
    # Every message the provider accepted for the participant (the replies, and any
    # reminder that fell due meanwhile) is recorded on exactly one row: none went twice.
    recorded = await OutboundMessage.filter(
        participant__phone=phone, provider_id__isnull=False
    ).values_list("provider_id", flat=True)
    assert sorted(e.sid for e in journal if e.to == phone) == sorted(recorded)
    # The acknowledgement of "hola" may be cancelled by the BAJA understood before it
    # went; the last reply, ALTA's confirmation, was sent.
    replies = await OutboundMessage.filter(kind="reply").order_by("id")
    assert {r.status for r in replies} <= {"sent", "delivered", "cancelled"}
    assert replies[-1].status in ("sent", "delivered")


async def test_the_sweep_waits_for_nothing_when_all_is_understood(
    client: Client, clock: ManualClock
) -> None:
    await enrol(client)
    assert (await post_sms(client, captured(Body="hola", From=PHONE))).status_code == 200
    clock.advance(minutes=1)
    assert await understand_waiting(client.app.state.runtime) == 0
    assert await InboundMessage.filter(handling="pending").count() == 0
