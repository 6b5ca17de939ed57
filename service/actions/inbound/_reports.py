"""Reports a participant makes on their own, at any time, not because we asked.

A pregnancy or chest pain must not wait for the monthly or weekly check-in. Three
ways in, one record: every report is a ``checkin`` row (versioned, audited, judged
by the same safety rules as an answer to a prompt) under a key of its own,
``report:<questionnaire>:<id>``, so it never mixes with a scheduled check-in.

* **App**: a check-in posted without ``checkin_key`` (``service.actions.checkins``,
  ``app_report_key``).
* **SMS red flag**: a message outside a dialogue (or, within one, a message that is
  no answer to the open question) in which the protocol's concepts read a red flag,
  clearly and as the participant's own ("me duele mucho el pecho", "tengo 38 y
  algo", "me hice un evatest y salieron dos rayitas"; see
  :mod:`service.domain.red_flags`). It is a report only when the safety rules alert
  on it; a red flag negated, asked about, about someone else or unclear goes to the
  coordinators' queue with that reason (``queue_reason``). The participant is told
  the team was alerted (the safety advice), once: a message that only repeats a red
  flag the team already has raises nothing new and gets the plain acknowledgement.
* **SINTOMAS**: the keyword opens the symptom dialogue on demand, under a report key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from service.actions.checkins import CheckinSubmission, enqueue_advice, store_submission
from service.actions.inbound._context import open_conversation
from service.db.models import InboundMessage, OutboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.conversation import ConversationState, Outgoing, advance, start_conversation
from service.domain.protocol import Questionnaire
from service.domain.red_flags import Heard, Report, TextReading
from service.domain.safety import evaluate_answers
from service.domain.states import InboxReason
from service.runtime import Runtime

ON_DEMAND_TTL: Final = timedelta(hours=24)
_ADVICE_ORDER: Final = ("safety.emergency", "safety.contact_team")
_REASONS: Final = {
    Heard.QUESTION: InboxReason.QUESTION,
    Heard.SOMEONE_ELSE: InboxReason.SOMEONE_ELSE,
    Heard.NEGATED: InboxReason.NEGATED,
    Heard.UNCLEAR: InboxReason.RED_FLAG_UNCLEAR,
    Heard.BELOW_THRESHOLD: InboxReason.BELOW_THRESHOLD,
}


def queue_reason(reading: TextReading) -> InboxReason:
    """Why people should read a message nothing else placed: what the red flag in it
    turned out to be, or "not understood" when it names none."""
    heard = reading.queue_reason
    return _REASONS[heard] if heard is not None else InboxReason.NOT_UNDERSTOOD


def alerting_report(rt: Runtime, reading: TextReading) -> Report | None:
    """The red-flag report an SMS makes, when the safety rules alert on it; else None."""
    report = reading.report
    if report is None:
        return None
    findings = [
        finding
        for answers in (report.symptoms, report.pregnancy)
        if answers is not None
        for finding in evaluate_answers(answers, rt.protocol.symptoms, rt.protocol.safety)
    ]
    return report if findings else None


def unprompted_report(
    rt: Runtime,
    state: ConversationState | None,
    text: str,
    reading: TextReading,
    now: datetime,
) -> Report | None:
    """The alerting report an SMS makes outside an answer: any message when no dialogue
    is open; within one, only a message the dialogue would not understand ("me falta
    el aire" to "how bad was the nausea?"), which then leaves the dialogue as it was."""
    if state is not None:
        step = advance(state, text, now, rt.protocol.symptoms)
        clarifies = any(out.message_key.startswith("checkin.clarify") for out in step.outgoing)
        if not (step.handoff or clarifies):
            return None  # an answer (or a late one, which the late path keeps)
    return alerting_report(rt, reading)


async def store_sms_report(
    rt: Runtime, participant: Participant, inbound: InboundMessage, report: Report
) -> tuple[OutboundMessage | None, bool]:
    """Store the report's check-ins (alerting the team) and queue the most urgent advice
    once. Call inside the inbound transaction; returns the advice row (None when the
    report only repeats what the team was alerted to, or alerts on nothing) and
    whether an on-call SMS was queued, so the caller wakes the outbox after commit."""
    advice: set[str] = set()
    alerted = False
    parts = (
        (Questionnaire.SYMPTOMS, report.symptoms, False),
        (Questionnaire.PREGNANCY, report.pregnancy, True),
    )
    for questionnaire, answers, complete in parts:
        if answers is None:
            continue
        result, notice = await store_submission(
            rt,
            participant,
            CheckinSubmission(
                checkin_key=f"report:{questionnaire.value}:{inbound.message_sid}",
                questionnaire=questionnaire.value,
                channel=inbound.channel,  # sms or whatsapp: what carried the report
                answers=answers,
                raw_texts=[inbound.body],
                late=False,
                actor_label=participant_label(participant.study_id),
                complete=complete,  # an unrated symptom: the team asks how bad it is
            ),
        )
        alerted = alerted or (notice is not None and notice.row is not None)
        if result.advice and not result.repeat:
            advice.add(result.advice)
    chosen = next((key for key in _ADVICE_ORDER if key in advice), None)
    if chosen is None:
        return None, alerted
    return await enqueue_advice(rt, participant, chosen, f"report:{inbound.message_sid}"), alerted


async def start_symptoms_on_demand(
    rt: Runtime, participant: Participant, inbound: InboundMessage
) -> Outgoing:
    """Open a symptom dialogue now (SINTOMAS); the caller sends the returned question.
    Call inside the inbound transaction, with no dialogue open."""
    now = rt.clock.now()
    key = f"report:symptoms:{inbound.message_sid}"
    state = start_conversation(Questionnaire.SYMPTOMS, key, now, now + ON_DEMAND_TTL)
    await open_conversation(rt, participant, state)
    return Outgoing("checkin.symptoms.on_demand")
