"""Handling one inbound SMS: store it, order it, understand it, queue the answers.

Order of business, and why:

1. One transaction does everything the message changes: the raw message (once per
   Twilio ``MessageSid``: Twilio retries a webhook it thinks failed, and a retry must
   neither duplicate the record nor move a conversation twice), the conversation
   step, a finished check-in with its alert, and the reply rows. A crash leaves all of
   it or none of it, and Twilio's retry then finds nothing or a duplicate.
2. Messages from one number are handled one at a time across every process: the
   transaction first takes a lock on the number (``service.db.locks``: a PostgreSQL
   advisory lock; SQLite's single writer), so two replies that arrive together are
   applied in order, never interleaved.
3. Keywords first (opt-out, opt-in, help), because "BAJA" must work in any state;
   then a red-flag report ("dolor de pecho", :mod:`service.actions.reports`) when
   no dialogue is open or the message answers nothing in it; then an open check-in
   conversation; outside one, SINTOMAS; then a recent check-in
   prompt that this message starts answering; then "SI" as a visit confirmation;
   anything else goes to the coordinators' queue and the participant hears "we
   received it" (at most a few times an hour: ``reply_cap``).

Nothing is sent here. Replies are outbound rows created with the outbox's
``enqueue_now`` inside the transaction; after the commit ``wake`` tells the
dispatchers, and the webhook answers an empty ``<Response/>`` at once, so no request
waits for the provider or holds the number's lock while a message is sent.

What a participant sent is never refused: a NUL, other control characters or a lone
surrogate are cleaned from the text the service reads, and the exact original is
kept beside it (``domain.inbound_text``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from tortoise.transactions import in_transaction

from service.actions.actors import Actor
from service.actions.inbound_context import confirmable_visit, conversation_from_prompt
from service.actions.outbox import enqueue_now, wake
from service.actions.replanning import replan_participant
from service.actions.reply_cap import may_auto_reply
from service.actions.reports import start_symptoms_on_demand, store_sms_report, unprompted_report
from service.actions.sms_checkins import store_sms_checkin
from service.adapters.phones import InvalidPhone, normalize_any
from service.db.audit import audit
from service.db.locks import serialize_on
from service.db.models import (
    Conversation,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Participant,
)
from service.domain.conversation import (
    Awaiting,
    ConversationState,
    Outgoing,
    PregnancyAnswer,
    Step,
    SymptomAnswers,
    advance,
)
from service.domain.inbound_text import clean_field, raw_b64, understood_text
from service.domain.keywords import Keyword, classify_keyword
from service.domain.red_flags import Report
from service.runtime import Runtime

log = logging.getLogger("service.inbound")

REPLY_TTL = timedelta(hours=2)
CONFIRM_WINDOW = timedelta(days=8)


@dataclass
class InboundOutcome:
    handling: str
    duplicate: bool = False
    replies: list[OutboundMessage] = field(default_factory=list)


@dataclass
class _Work:
    """What the transaction decided and queued."""

    handling: str
    replies: list[OutboundMessage] = field(default_factory=list)
    finished: tuple[str, str, SymptomAnswers | PregnancyAnswer, list[str], bool, bool] | None = None
    capped: int = 0  # acknowledgements not sent: the hour's cap was reached
    alerted: bool = False  # an on-call SMS row was queued
    report: Report | None = None  # an unprompted red-flag report (actions/reports.py)


def _actor(participant: Participant) -> Actor:
    return Actor(
        kind="participant",
        label=f"participant:{participant.study_id}",
        participant_id=participant.id,
    )


def _sender(form: dict[str, str]) -> str:
    raw_from = clean_field(form.get("From"), 64) or ""
    try:
        return normalize_any(raw_from)
    except InvalidPhone:
        return raw_from[:20]


async def handle_inbound(rt: Runtime, form: dict[str, str]) -> InboundOutcome:
    """Store, order and understand one inbound SMS; queue its answers (none sent)."""
    # Twilio always sends a sid; without one a message is still kept (never "duplicate").
    sid = clean_field(form.get("MessageSid") or form.get("SmsSid"), 64) or f"none:{uuid4().hex}"
    phone = _sender(form)
    async with in_transaction():
        await serialize_on(f"sms-from:{phone}")
        if await InboundMessage.filter(message_sid=sid).exists():
            return InboundOutcome(handling="duplicate", duplicate=True)
        work = await _apply(rt, sid, phone, form)
    if work.replies or work.alerted:
        wake(rt)
    log.info("inbound sms handled: %s (%d replies queued)", work.handling, len(work.replies))
    return InboundOutcome(handling=work.handling, replies=work.replies)


async def _apply(rt: Runtime, sid: str, phone: str, form: dict[str, str]) -> _Work:
    now = rt.clock.now()
    received = form.get("Body", "")
    participant = await Participant.filter(phone=phone).select_for_update().first()
    inbound = await InboundMessage.create(
        message_sid=sid,
        participant=participant,
        from_phone=phone,
        to_phone=clean_field(form.get("To"), 20),
        body=understood_text(received),
        body_raw_b64=raw_b64(received),
        opt_out_type=clean_field(form.get("OptOutType"), 16),
        received_at=now,
    )
    if participant is None:
        work = _Work(handling="unknown_sender")
        await InboxItem.create(inbound=inbound, reason="unknown_sender", created_at=now)
    else:
        work = await _understood_or_queued(rt, participant, inbound, form)
    inbound.handling = work.handling
    await inbound.save(update_fields=["handling", "late"])
    changes: dict[str, Any] = {"handling": work.handling, "message_sid": sid}
    if inbound.body_raw_b64 is not None:
        changes["cleaned"] = True  # the raw text had characters the service cannot read
    if work.capped:
        changes["replies_capped"] = work.capped
    await audit(
        at=now,
        actor=f"participant:{participant.study_id}" if participant else "sms:unknown",
        action="sms.inbound",
        entity="inbound_message",
        entity_id=inbound.id,
        changes=changes,
    )
    return work


async def _understood_or_queued(
    rt: Runtime, participant: Participant, inbound: InboundMessage, form: dict[str, str]
) -> _Work:
    """Understand the message in a savepoint; if that fails (a bug, a conversation state
    saved by another version), keep the message and give it to people rather than
    answer Twilio with a 500 whose retries would fail the same way until it gives up."""
    try:
        async with in_transaction():
            work = await _understand(rt, participant, inbound, form)
            if work.finished is not None:
                advice, work.alerted = await store_sms_checkin(
                    rt, participant, inbound, *work.finished
                )
                work.replies.extend([advice] if advice is not None else [])
            if work.report is not None:
                advice, alerted = await store_sms_report(
                    rt, participant, inbound.message_sid, inbound.body, work.report
                )
                work.alerted = work.alerted or alerted
                work.replies.extend([advice] if advice is not None else [])
            return work
    except Exception as exc:
        # Only the type: a message may quote the participant's text.
        log.error("inbound sms %s not understood (%s)", inbound.id, type(exc).__name__)
    inbound.late = False
    await InboxItem.create(
        participant=participant,
        site_id=participant.site_id,  # type: ignore[attr-defined]  # FK id attr
        inbound=inbound,
        reason="not_understood",
        created_at=rt.clock.now(),
    )
    return _Work(handling="not_understood")


async def _reply(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    out: Outgoing,
    n: int,
    work: _Work,
) -> None:
    """Queue one answer in ``work``, unless the number's hourly cap is used up (then the
    message goes to the coordinators' queue, if it is not there already)."""
    if not await may_auto_reply(rt, participant, out.message_key):
        work.capped += 1
        if not await InboxItem.filter(inbound_id=inbound.id).exists():
            await InboxItem.create(
                participant=participant,
                site_id=participant.site_id,  # type: ignore[attr-defined]  # FK id attr
                inbound=inbound,
                reason="replies_capped",
                created_at=rt.clock.now(),
            )
        return
    params: dict[str, Any] = dict(out.params)
    params.update({f"{name}_key": key for name, key in out.key_params.items()})
    row = await enqueue_now(
        rt,
        participant=participant,
        kind="reply",
        purpose=f"reply:{out.message_key}",
        occurrence=f"{inbound.message_sid}:{n}",
        message_key=out.message_key,
        params=params,
        language=participant.language,
        expires_in=REPLY_TTL,
    )
    work.replies.append(row)


async def _understand(
    rt: Runtime, participant: Participant, inbound: InboundMessage, form: dict[str, str]
) -> _Work:
    conversation = await Conversation.get_or_none(participant_id=participant.id, status="open")
    state = ConversationState.from_dict(conversation.state["domain"]) if conversation else None
    keyword = classify_keyword(
        inbound.body,
        form.get("OptOutType") or None,
        awaiting_severity=state is not None and state.step is Awaiting.SEVERITY,
        subscribed=not participant.opted_out and participant.sms_blocked_code != 21610,
    )
    if keyword is Keyword.OPT_OUT:
        return await _opt_out(rt, participant, inbound, conversation, state, form)
    if keyword is Keyword.OPT_IN:
        return await _opt_in(rt, participant, inbound, form)
    if keyword is Keyword.HELP:
        work = _Work(handling="help")
        if (form.get("OptOutType") or "").upper() != "HELP":  # Twilio answered it already
            await _reply(rt, participant, inbound, Outgoing("help.reply"), 0, work)
        return work
    report = unprompted_report(rt, state, inbound.body, rt.clock.now())
    if report is not None:  # unasked, or no answer to the open question; even opted out
        return _Work(handling="report", report=report)
    if participant.opted_out:
        return _Work(handling="while_opted_out")
    if conversation is None and keyword is Keyword.SYMPTOMS:
        work = _Work(handling="symptoms_on_demand")
        out = await start_symptoms_on_demand(rt, participant, inbound)
        await _reply(rt, participant, inbound, out, 0, work)
        return work
    if conversation is None and keyword is Keyword.YES:
        # "SI" answers whatever we asked last: a visit reminder or a check-in prompt.
        confirmed = await _confirm_next_visit(rt, participant, inbound)
        if confirmed is not None:
            return confirmed
    if conversation is None:
        conversation, state = await conversation_from_prompt(rt, participant)
    if conversation is not None and state is not None:
        return await _continue(rt, participant, inbound, conversation, state)
    await InboxItem.create(
        participant=participant,
        site_id=participant.site_id,  # type: ignore[attr-defined]  # FK id attr
        inbound=inbound,
        reason="unplaced",
        created_at=rt.clock.now(),
    )
    work = _Work(handling="unplaced")
    await _reply(rt, participant, inbound, Outgoing("inbound.received"), 0, work)
    return work


async def _opt_out(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    conversation: Conversation | None,
    state: ConversationState | None,
    form: dict[str, str],
) -> _Work:
    work = _Work(handling="opt_out")
    if conversation is not None and state is not None:
        work.finished = _partial(conversation, state, inbound, late=False)
        await _close(conversation, rt.clock.now())
    if participant.opted_out:
        return work  # confirm once
    participant.opted_out = True
    await participant.save(update_fields=["opted_out", "updated_at"])
    await replan_participant(rt, participant, actor=_actor(participant))
    if not form.get("OptOutType"):  # Twilio confirms its own keywords and blocks ours
        await _reply(rt, participant, inbound, Outgoing("optout.confirm"), 0, work)
    return work


async def _opt_in(
    rt: Runtime, participant: Participant, inbound: InboundMessage, form: dict[str, str]
) -> _Work:
    work = _Work(handling="opt_in")
    was_blocked = participant.opted_out or participant.sms_blocked_code == 21610
    participant.opted_out = False
    if participant.sms_blocked_code == 21610:
        participant.sms_blocked_code = None
    await participant.save(update_fields=["opted_out", "sms_blocked_code", "updated_at"])
    await replan_participant(rt, participant, actor=_actor(participant))
    if was_blocked and not form.get("OptOutType"):
        await _reply(rt, participant, inbound, Outgoing("optin.confirm"), 0, work)
    return work


async def _continue(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    conversation: Conversation,
    state: ConversationState,
) -> _Work:
    now = rt.clock.now()
    raw_texts = [*conversation.state.get("raw_texts", []), inbound.body]
    step: Step = advance(state, inbound.body, now, rt.protocol.symptoms)
    work = _Work(handling="checkin_answer")
    for n, out in enumerate(step.outgoing):
        await _reply(rt, participant, inbound, out, n, work)
    if step.expired or step.handoff:
        # Ended early: keep what was understood (flagged), hand the rest to people.
        inbound.late = step.expired
        work.handling = "checkin_late" if step.expired else "checkin_handoff"
        conversation.state = {**conversation.state, "raw_texts": raw_texts}
        work.finished = _partial(conversation, state, inbound, late=step.expired)
        await _close(conversation, now)
        await InboxItem.create(
            participant=participant,
            site_id=participant.site_id,  # type: ignore[attr-defined]
            inbound=inbound,
            reason="late_answer" if step.expired else "unparseable",
            created_at=now,
        )
        return work
    if step.answers is not None:
        work.finished = (
            conversation.checkin_key,
            state.questionnaire.value,
            step.answers,
            raw_texts,
            False,
            True,
        )
        await _close(conversation, now)
        return work
    assert step.state is not None
    conversation.state = {"domain": step.state.to_dict(), "raw_texts": raw_texts}
    conversation.updated_at = now
    await conversation.save(update_fields=["state", "updated_at"])
    return work


def _partial(
    conversation: Conversation, state: ConversationState, inbound: InboundMessage, *, late: bool
) -> tuple[str, str, SymptomAnswers | PregnancyAnswer, list[str], bool, bool] | None:
    """What was understood before the conversation ended early (kept, flagged incomplete)."""
    snapshot = state.snapshot()
    if snapshot is None or not snapshot.symptoms:
        return None
    raw = list(conversation.state.get("raw_texts", []))
    if inbound.body not in raw[-1:]:
        raw.append(inbound.body)
    return (conversation.checkin_key, state.questionnaire.value, snapshot, raw, late, False)


async def _close(conversation: Conversation, now: datetime) -> None:
    conversation.status = "closed"
    conversation.updated_at = now
    await conversation.save(update_fields=["status", "state", "updated_at"])


async def _confirm_next_visit(
    rt: Runtime, participant: Participant, inbound: InboundMessage
) -> _Work | None:
    """ "SI" after a day-before reminder confirms that visit."""
    visit = await confirmable_visit(rt, participant, within=CONFIRM_WINDOW)
    if visit is None:
        return None
    await audit(
        at=rt.clock.now(),
        actor=f"participant:{participant.study_id}",
        action="visit.confirm",
        entity="participant",
        entity_id=participant.study_id,
        changes={"visit": visit["visit_code"], "date": visit["visit_date"]},
    )
    work = _Work(handling="visit_confirmed")
    await _reply(rt, participant, inbound, Outgoing("visit.confirmed", visit), 0, work)
    return work
