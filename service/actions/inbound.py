"""Handling one inbound SMS: store it, understand it, answer it.

Order of business, and why:

1. The raw message is stored first, once per Twilio ``MessageSid``: Twilio retries a
   webhook it thinks failed, and a retry must neither duplicate the record nor move
   a conversation twice.
2. Messages from one number are handled one at a time (a per-number lock in this
   process and a row lock on the participant in PostgreSQL), so two replies that
   arrive together are applied in order, never interleaved.
3. Keywords first (opt-out, opt-in, help), because "BAJA" must work in any state;
   then a red-flag report ("dolor de pecho", :mod:`service.actions.reports`) when
   no dialogue is open or the message answers nothing in it; then an open check-in
   conversation; outside one, SINTOMAS; then a recent check-in
   prompt that this message starts answering; then "SI" as a visit confirmation;
   anything else goes to the coordinators' queue and the participant hears "we
   received it".

Replies are outbound message rows sent through the dispatcher (tracked, retried,
counted), not TwiML bodies, so the webhook answers an empty ``<Response/>``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from service.actions.actors import Actor
from service.actions.checkins import advise_participant, checkin_key_for, submit_checkin
from service.actions.dispatch import enqueue_now, send_now
from service.actions.replanning import replan_participant
from service.actions.reports import start_symptoms_on_demand, submit_sms_report, unprompted_report
from service.adapters.phones import InvalidPhone, normalize_any
from service.db.audit import audit
from service.db.models import (
    CheckIn,
    Conversation,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Participant,
)
from service.domain.checkins import (
    Awaiting,
    ConversationState,
    Outgoing,
    PregnancyAnswer,
    Step,
    SymptomAnswers,
    advance,
    start_conversation,
)
from service.domain.keywords import Keyword, classify_keyword
from service.domain.protocol import Questionnaire
from service.domain.red_flags import Report
from service.runtime import Runtime

log = logging.getLogger("service.inbound")

REPLY_TTL = timedelta(hours=2)
CONFIRM_WINDOW = timedelta(days=8)
_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


@dataclass
class InboundOutcome:
    handling: str
    duplicate: bool = False
    replies: list[OutboundMessage] = field(default_factory=list)


@dataclass
class _Work:
    """What the transaction decided; sending and check-in submission follow it."""

    handling: str
    replies: list[OutboundMessage] = field(default_factory=list)
    finished: tuple[str, str, SymptomAnswers | PregnancyAnswer, list[str], bool, bool] | None = None
    report: Report | None = None  # an unprompted red-flag report (actions/reports.py)


def _actor(participant: Participant) -> Actor:
    return Actor(
        kind="participant",
        label=f"participant:{participant.study_id}",
        participant_id=participant.id,
    )


async def handle_inbound(rt: Runtime, form: dict[str, str]) -> InboundOutcome:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    raw_from = form.get("From", "")
    try:
        phone = normalize_any(raw_from)
    except InvalidPhone:
        phone = raw_from[:20]
    async with _locks[phone]:
        if await InboundMessage.filter(message_sid=sid).exists():
            return InboundOutcome(handling="duplicate", duplicate=True)
        work, participant = await _apply(rt, sid, phone, form)
        if work.finished is not None and participant is not None:
            await _submit_finished(rt, participant, work)
        if work.report is not None and participant is not None:
            await submit_sms_report(rt, participant, sid, form.get("Body", ""), work.report)
        sent = [await send_now(rt, row) for row in work.replies]
    log.info("inbound sms handled: %s (%d replies)", work.handling, len(sent))
    return InboundOutcome(handling=work.handling, replies=sent)


async def _apply(
    rt: Runtime, sid: str, phone: str, form: dict[str, str]
) -> tuple[_Work, Participant | None]:
    now = rt.clock.now()
    body = form.get("Body", "")
    async with in_transaction():
        participant = await Participant.filter(phone=phone).select_for_update().first()
        inbound = await InboundMessage.create(
            message_sid=sid,
            participant=participant,
            from_phone=phone,
            to_phone=form.get("To"),
            body=body,
            opt_out_type=(form.get("OptOutType") or None),
            received_at=now,
        )
        if participant is None:
            work = _Work(handling="unknown_sender")
            await InboxItem.create(inbound=inbound, reason="unknown_sender", created_at=now)
        else:
            work = await _understand(rt, participant, inbound, form)
        inbound.handling = work.handling
        await inbound.save(update_fields=["handling", "late"])
        await audit(
            at=now,
            actor=f"participant:{participant.study_id}" if participant else "sms:unknown",
            action="sms.inbound",
            entity="inbound_message",
            entity_id=inbound.id,
            changes={"handling": work.handling, "message_sid": sid},
        )
    return work, participant


async def _reply(
    rt: Runtime, participant: Participant, inbound: InboundMessage, out: Outgoing, n: int
) -> OutboundMessage:
    params: dict[str, Any] = dict(out.params)
    params.update({f"{name}_key": key for name, key in out.key_params.items()})
    return await enqueue_now(
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
            work.replies.append(await _reply(rt, participant, inbound, Outgoing("help.reply"), 0))
        return work
    report = unprompted_report(rt, state, inbound.body, rt.clock.now())
    if report is not None:  # unasked, or no answer to the open question; even opted out
        return _Work(handling="report", report=report)
    if participant.opted_out:
        return _Work(handling="while_opted_out")
    if conversation is None and keyword is Keyword.SYMPTOMS:
        work = _Work(handling="symptoms_on_demand")
        out = await start_symptoms_on_demand(rt, participant, inbound)
        work.replies.append(await _reply(rt, participant, inbound, out, 0))
        return work
    if conversation is None and keyword is Keyword.YES:
        # "SI" answers whatever we asked last: a visit reminder or a check-in prompt.
        confirmed = await _confirm_next_visit(rt, participant, inbound)
        if confirmed is not None:
            return confirmed
    if conversation is None:
        conversation, state = await _conversation_from_prompt(rt, participant)
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
    work.replies.append(await _reply(rt, participant, inbound, Outgoing("inbound.received"), 0))
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
        work.replies.append(await _reply(rt, participant, inbound, Outgoing("optout.confirm"), 0))
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
        work.replies.append(await _reply(rt, participant, inbound, Outgoing("optin.confirm"), 0))
    return work


async def _conversation_from_prompt(
    rt: Runtime, participant: Participant
) -> tuple[Conversation | None, ConversationState | None]:
    """A reply soon after a check-in prompt starts answering it."""
    now = rt.clock.now()
    prompt = (
        await OutboundMessage.filter(
            participant_id=participant.id,
            kind="checkin",
            status__in=("sent", "delivered"),
            sent_at__lte=now,
        )
        .order_by("-sent_at")
        .first()
    )
    if prompt is None or prompt.expires_at is None or prompt.sent_at is None:
        return None, None
    key = checkin_key_for(prompt)
    already = await CheckIn.filter(participant_id=participant.id, checkin_key=key).exists()
    late_window = prompt.expires_at + timedelta(days=7)
    if already or now >= late_window:
        return None, None
    state = start_conversation(
        Questionnaire(prompt.params.get("questionnaire", "symptoms")),
        key,
        prompt.sent_at,
        prompt.expires_at,
    )
    conversation, _ = await Conversation.update_or_create(
        defaults={
            "checkin_key": key,
            "state": {"domain": state.to_dict(), "raw_texts": []},
            "status": "open",
            "started_at": prompt.sent_at,
            "expires_at": prompt.expires_at,
            "updated_at": now,
        },
        participant_id=participant.id,
    )
    return conversation, state


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
        work.replies.append(await _reply(rt, participant, inbound, out, n))
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
    now = rt.clock.now()
    today = now.astimezone(ZoneInfo(participant.timezone)).date()
    reminder = (
        await OutboundMessage.filter(
            participant_id=participant.id,
            kind="reminder",
            status__in=("sent", "delivered"),
            sent_at__gte=now - CONFIRM_WINDOW,
        )
        .order_by("-sent_at")
        .first()
    )
    if reminder is None or reminder.params.get("visit_date", "") < today.isoformat():
        return None
    later_prompt = await OutboundMessage.filter(
        participant_id=participant.id,
        kind="checkin",
        status__in=("sent", "delivered"),
        sent_at__gt=reminder.sent_at,
    ).exists()
    if later_prompt:
        return None
    await audit(
        at=now,
        actor=f"participant:{participant.study_id}",
        action="visit.confirm",
        entity="participant",
        entity_id=participant.study_id,
        changes={"visit": reminder.params["visit_code"], "date": reminder.params["visit_date"]},
    )
    work = _Work(handling="visit_confirmed")
    out = Outgoing(
        "visit.confirmed",
        {"visit_code": reminder.params["visit_code"], "visit_date": reminder.params["visit_date"]},
    )
    work.replies.append(await _reply(rt, participant, inbound, out, 0))
    return work


async def _submit_finished(rt: Runtime, participant: Participant, work: _Work) -> None:
    assert work.finished is not None
    key, questionnaire, answers, raw_texts, late, complete = work.finished
    result = await submit_checkin(
        rt,
        participant,
        checkin_key=key,
        questionnaire=questionnaire,
        channel="sms",
        answers=answers,
        raw_texts=raw_texts,
        late=late,
        actor_label=f"participant:{participant.study_id}",
        complete=complete,
    )
    if result.advice:
        await advise_participant(rt, participant, result.advice, key)
