"""The inbox's core: understanding stored messages, one number at a time, in order.

The webhook only stores (``_store``); everything a message changes happens here, from
the stored row, after the webhook has answered. Order of business, and why:

1. One number's messages are understood by one process at a time (a lock on the
   number, ``service.db.locks``: a PostgreSQL advisory lock, SQLite's single writer),
   oldest first. The stored ids follow commit order per number (``_store``), so a
   reply is never answered before the message it follows.
2. Each message is its own transaction: its conversation step, a finished check-in
   with its alert, its reply rows, and its ``handling`` (no longer ``pending``). A
   crash leaves all of it or none of it; a message still ``pending`` is simply read
   again, by this process or any other (``understand_waiting``), and because the
   handling is written in the same transaction as the effects it is never applied
   twice.
3. What the message means is decided in ``_dialogue`` (keywords first, then reports,
   the dialogue, SINTOMAS, "SI", the coordinators' queue).
4. If understanding fails (a bug, a conversation state saved by another version), the
   transaction is rolled back and the failure counted on the row; it is tried again
   at once, up to ``ATTEMPTS`` times in all, and then kept for people
   (``not_understood``), so one bad message neither blocks its number's later
   messages for long nor is ever lost. A database that is down is different: nothing
   is counted, the message stays pending and the periodic sweep reads it later.

Nothing is sent here. Replies are outbound rows created with the outbox's
``enqueue_now`` inside the transaction; after the commit ``wake`` tells the
dispatchers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from tortoise.transactions import in_transaction

from service.actions.inbound._checkins import store_sms_checkin
from service.actions.inbound._dialogue import understand
from service.actions.inbound._reports import store_sms_report
from service.actions.inbound._store import store_inbound
from service.actions.inbound._work import Work, actor, queue_for_people, reply
from service.actions.outbox import unblock_participant, wake
from service.db.audit import audit
from service.db.faults import database_fault
from service.db.hot_rows import any_row, encode, first_row, first_rows, update_row
from service.db.lifecycle import database_dialect
from service.db.locks import serialize_on
from service.db.models import InboundMessage, OutboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.conversation import Outgoing
from service.domain.states import AuditAction, InboundHandling, InboxReason
from service.domain.whatsapp import WHATSAPP
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = [
    "ATTEMPTS",
    "InboundOutcome",
    "handle_inbound",
    "understand_after_receipt",
    "understand_number",
    "understand_waiting",
]

log = logging.getLogger("service.inbound")
TEXTED_FROM_THE_NUMBER = "the participant texted from this number"
ATTEMPTS: Final = 3  # understandings of one message before it is kept for people
SWEEP_NUMBERS: Final = 100  # numbers with pending messages read by one sweep
SWEEP_GRACE: Final = timedelta(seconds=2)  # the receiving process is on it already


@dataclass
class InboundOutcome:
    handling: InboundHandling
    duplicate: bool = False
    replies: list[OutboundMessage] = field(default_factory=list)


def understanding_key(phone: str) -> str:
    """The lock under which one number's messages are understood, one at a time."""
    return f"sms-from:{phone}"


class _NotUnderstood(Exception):
    """Understanding failed: roll back, count the attempt, try again or keep it for people."""


async def handle_inbound(rt: Runtime, sms: InboundSms) -> InboundOutcome:
    """Store one inbound message, then understand what its number has pending.

    The whole path in one call, for the demo phone and tests; the webhook stores,
    answers Twilio and only then calls :func:`understand_number`."""
    stored = await store_inbound(rt, sms)
    outcomes = await understand_number(rt, stored.from_phone)
    if stored.duplicate:
        return InboundOutcome(handling=InboundHandling.DUPLICATE, duplicate=True)
    if stored.message_sid in outcomes:
        return outcomes[stored.message_sid]
    # Understood by another process meanwhile (or still pending after an outage).
    row = await InboundMessage.get(message_sid=stored.message_sid)
    return InboundOutcome(handling=InboundHandling(row.handling))


async def understand_number(rt: Runtime, phone: str) -> dict[str, InboundOutcome]:
    """Understand the number's pending messages, oldest first, each in its own
    transaction; returns what became of each one this call understood."""
    outcomes: dict[str, InboundOutcome] = {}
    # One look before the run (nothing pending: no transaction, no lock); then each
    # transaction reads the oldest two pending messages under the lock, understands the
    # first and goes on only if there was a second (decision 0113: the look before every
    # message was a statement a message). A message stored after that read is offered
    # again by its own webhook (``understand_after_receipt``), or read by the sweep.
    if not await _any_pending(phone):
        return outcomes
    more = True
    while more:
        understood = await _understand_next(rt, phone)
        if understood is None:  # another process took the last one
            break
        sid, outcome, more = understood
        outcomes[sid] = outcome
    return outcomes


async def understand_after_receipt(rt: Runtime, phone: str) -> None:
    """The webhook's follow-up, run once Twilio has its answer. One task of the
    process reads at a time, two on PostgreSQL (``Runtime.inbox``); the others leave
    their number to it.

    The reader takes the numbers in turn, one message each, and puts a number with
    more pending back at the end of the line (decision 0120): after a burst, messages
    are then understood about in the order they came, and the first message of the
    last number does not wait for every message of the numbers before it. Before each
    message it gives way to the webhooks being answered. No look before the
    transaction: a number offered by its webhook has a message pending (if another
    process took it meanwhile, the transaction finds nothing). Whatever goes wrong is
    logged, and the message waits for the sweep (``understand_waiting``)."""
    if rt.inbox.offer(phone, readers=_readers()):
        await read_offered(rt)


def _readers() -> int:
    """Readers a process: one on SQLite (one writer at a time, so a second would only
    wait), two on PostgreSQL, where a reader spends much of a message waiting for the
    server's answers and another number's message can be understood meanwhile."""
    return 2 if database_dialect() == "postgres" else 1


async def read_offered(rt: Runtime) -> None:
    """A reader's loop: until no number is left in the process's line."""
    number = None
    try:
        while (number := rt.inbox.next(done=number)) is not None:
            await rt.inbox.give_way()  # a burst is answered first
            try:
                understood = await _understand_next(rt, number)
            except Exception as exc:
                fault = database_fault(exc)
                if fault is None:
                    log.exception("inbound messages left pending for the sweep")
                else:
                    log.warning("inbound messages left pending: database unavailable (%s)", fault)
                continue
            if understood is not None and understood[2]:
                rt.inbox.again(number)
    finally:
        if number is not None:  # stopped by an exception (cancelled at shut-down)
            rt.inbox.quit(number)


async def understand_waiting(rt: Runtime) -> int:
    """The sweep: understand messages left pending (their process died, the database
    was down, Twilio's request outlived its process). Safe in any number of processes."""
    before = rt.clock.now() - SWEEP_GRACE
    phones = await (
        InboundMessage.filter(handling=InboundHandling.PENDING, received_at__lt=before)
        .distinct()
        .limit(SWEEP_NUMBERS)
        .values_list("from_phone", flat=True)
    )
    done = 0
    for phone in phones:
        done += len(await understand_number(rt, str(phone)))
    if done:
        log.info("inbox sweep: %d waiting messages understood", done)
    return done


async def _understand_next(rt: Runtime, phone: str) -> tuple[str, InboundOutcome, bool] | None:
    """Understand the number's oldest pending message, retrying a failure in place; with
    whether another message of the number was pending behind it."""
    while True:
        try:
            return await _understand_oldest(rt, phone, keep_for_people=False)
        except _NotUnderstood as failure:
            # Only the type: a message may quote the participant's text.
            log.error("inbound message not understood (%s)", failure)
            if await _count_failure(phone) >= ATTEMPTS:
                return await _understand_oldest(rt, phone, keep_for_people=True)


async def _understand_oldest(
    rt: Runtime, phone: str, *, keep_for_people: bool
) -> tuple[str, InboundOutcome, bool] | None:
    async with in_transaction():
        await serialize_on(understanding_key(phone))
        inbound, more = await _oldest_pending(phone)
        if inbound is None:
            return None
        participant = await _sender_of(inbound)
        if keep_for_people:
            work = Work(handling=InboundHandling.NOT_UNDERSTOOD)
            await queue_for_people(rt, participant, inbound, InboxReason.NOT_UNDERSTOOD)
        else:
            work = await _understood(rt, participant, inbound)
        await _finish(rt, participant, inbound, work)
    if work.replies or work.alerted:
        wake(rt)
    log.info("inbound sms handled: %s (%d replies queued)", work.handling, len(work.replies))
    return inbound.message_sid, InboundOutcome(handling=work.handling, replies=work.replies), more


async def _sender_of(inbound: InboundMessage) -> Participant | None:
    """Whose message it is (found by number, whatever the channel), locked for the
    transaction; a message by WhatsApp opens WhatsApp's 24-hour window for free-form
    messages (decided per message at send time), from when it was received."""
    participant = await first_row(
        Participant,
        '"phone"=?',
        [encode(Participant, "phone", inbound.from_phone)],
        for_update=True,
    )
    if participant is None:
        return None
    inbound.participant_id = participant.id
    last = participant.whatsapp_last_inbound_at
    if inbound.channel == WHATSAPP and (last is None or inbound.received_at > last):
        participant.whatsapp_last_inbound_at = inbound.received_at
        await Participant.filter(id=participant.id).update(
            whatsapp_last_inbound_at=inbound.received_at
        )
    return participant


_PENDING_OF = '"handling"=? AND "from_phone"=?'  # the (handling, from_phone) index


def _pending_params(phone: str) -> list[Any]:
    return [
        encode(InboundMessage, "handling", InboundHandling.PENDING),
        encode(InboundMessage, "from_phone", phone),
    ]


async def _any_pending(phone: str) -> bool:
    return await any_row(InboundMessage, _PENDING_OF, _pending_params(phone))


async def _oldest_pending(phone: str) -> tuple[InboundMessage | None, bool]:
    """The number's oldest pending message, and whether another one is pending after it."""
    rows = await first_rows(
        InboundMessage, _PENDING_OF, _pending_params(phone), order_by='"id"', limit=2
    )
    return (rows[0] if rows else None), len(rows) > 1


async def _count_failure(phone: str) -> int:
    """Count a failed understanding on the oldest pending message; returns its count."""
    async with in_transaction():
        await serialize_on(understanding_key(phone))
        inbound, _ = await _oldest_pending(phone)
        if inbound is None:
            return 0
        inbound.attempts += 1
        await inbound.save(update_fields=["attempts"])
        return inbound.attempts


def _as_received(inbound: InboundMessage) -> InboundSms:
    """The stored message as the dialogue reads it (its text as understood)."""
    return InboundSms(
        provider_id=inbound.message_sid,
        from_phone=inbound.from_phone,
        to_phone=inbound.to_phone,
        body=inbound.body,
        opt_out_type=inbound.opt_out_type,
        channel=inbound.channel,
    )


async def _understood(
    rt: Runtime, participant: Participant | None, inbound: InboundMessage
) -> Work:
    """Understand the message and store what it finished; any failure but the
    database's own is _NotUnderstood."""
    if participant is None:
        await queue_for_people(rt, None, inbound, InboxReason.UNKNOWN_SENDER)
        return Work(handling=InboundHandling.UNKNOWN_SENDER)
    try:
        if participant.sms_blocked_code is not None:  # a number that texts can be texted
            await unblock_participant(
                rt, participant, actor=actor(participant), reason=TEXTED_FROM_THE_NUMBER
            )
        work = await understand(rt, participant, inbound, _as_received(inbound))
        if work.finished is not None:
            advice, work.alerted = await store_sms_checkin(rt, participant, inbound, *work.finished)
            work.replies.extend([advice] if advice is not None else [])
        if work.report is not None:
            advice, alerted = await store_sms_report(rt, participant, inbound, work.report)
            work.alerted = work.alerted or alerted
            if advice is not None:
                work.replies.append(advice)
            else:  # a repeat of what the team was alerted to: acknowledged, not re-advised
                await reply(rt, participant, inbound, Outgoing("inbound.received"), 0, work)
    except Exception as exc:
        if database_fault(exc) is not None:
            raise  # the database is down, not the message: it stays pending
        raise _NotUnderstood(type(exc).__name__) from exc
    return work


async def _finish(
    rt: Runtime, participant: Participant | None, inbound: InboundMessage, work: Work
) -> None:
    """Record the message's handling and audit it."""
    inbound.handling = work.handling
    inbound.understood_at = rt.clock.now()
    await update_row(
        InboundMessage,
        inbound.id,
        {
            "participant_id": inbound.participant_id,
            "handling": inbound.handling,
            "late": inbound.late,
            "understood_at": inbound.understood_at,
        },
    )
    changes: dict[str, Any] = {
        "handling": work.handling,
        "message_sid": inbound.message_sid,
        "channel": inbound.channel,
    }
    if inbound.body_raw_b64 is not None:
        changes["cleaned"] = True  # the raw text had characters the service cannot read
    if work.capped:
        changes["replies_capped"] = work.capped
    if inbound.attempts:
        changes["failed_attempts"] = inbound.attempts
    await audit(
        at=rt.clock.now(),
        actor=participant_label(participant.study_id) if participant else "sms:unknown",
        action=AuditAction.SMS_INBOUND,
        entity="inbound_message",
        entity_id=inbound.id,
        changes=changes,
    )
