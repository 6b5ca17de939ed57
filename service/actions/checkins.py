"""Check-in records: one code path for answers from SMS and from the app.

Why it is shaped like this:

* **Same record whatever the channel.** The SMS conversation and the app both call
  :func:`submit_checkin` with domain answers; the row differs only in ``channel``
  and ``raw_texts`` (the SMS replies verbatim, or the app's JSON body).
* **Append-only.** A correction is version N+1 of the same ``checkin_key``; earlier
  versions are never touched. An *identical* resubmission (an app retry after a lost
  response) is recognised and answered with the stored version instead of piling up
  copies; it is still audited.
* **Safety in the same transaction.** Findings are evaluated with the protocol's
  rules and the alert row is stored with the check-in, so a stored answer that
  needs an alert always has one; the on-call SMS goes out after the commit.
* **The check-in key is the prompt's** (``purpose:occurrence`` of the planned
  ``checkin`` message), so an answer by SMS and one from the app to the same prompt
  land on the same key.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.actions.alerts import PendingNotice, notify_alert, record_alert
from service.actions.errors import Conflict, FieldInvalid
from service.actions.outbox import enqueue_now, wake
from service.adapters.redaction import redact_phones
from service.db.audit import audit
from service.db.models import Alert, CheckIn, OutboundMessage, Participant
from service.domain.checkins import PregnancyAnswer, SymptomAnswers
from service.domain.protocol import Questionnaire
from service.domain.replies import MAX_PLAUSIBLE_C, MIN_PLAUSIBLE_C
from service.domain.safety import (
    SafetyFinding,
    alert_dedup_key,
    evaluate_pregnancy,
    evaluate_symptoms,
    participant_advice,
)
from service.runtime import Runtime

__all__ = [
    "ADVICE_TTL",
    "LATE_ANSWER_WINDOW",
    "CheckInResult",
    "DueCheckin",
    "advise_participant",
    "answers_to_dict",
    "checkin_key_for",
    "due_checkins",
    "enqueue_advice",
    "recently_expired_checkins",
    "store_checkin",
    "submit_checkin",
]

log = logging.getLogger("service.checkins")

Channel = Literal["sms", "app"]
CHANNELS: Final = ("sms", "app")
CHECKIN_KEY_MAX: Final = 96
# A late answer is still taken (flagged late) this long after the prompt expired.
LATE_ANSWER_WINDOW: Final = timedelta(days=7)
# "Call 131 now" hours later is still worth sending; a day later it is confusing.
ADVICE_TTL: Final = timedelta(hours=2)
_OCCURRENCE_MAX: Final = 64
_SUBMIT_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class CheckInResult:
    """What a submission produced.

    ``advice`` is the message key to show or send the participant (``safety.*``) or
    None; ``alert`` is the alert this submission raised (None when nothing alerts or
    the event had its alert already); ``created`` is False for an identical retry.
    """

    checkin: CheckIn
    findings: tuple[SafetyFinding, ...]
    advice: str | None
    alert: Alert | None
    created: bool = True

    @property
    def advice_key(self) -> str | None:
        return self.advice


@dataclass(frozen=True, slots=True)
class DueCheckin:
    """A check-in prompt that may be answered now (or late, for the expired list)."""

    checkin_key: str
    questionnaire: str  # a Questionnaire value: symptoms | pregnancy
    code: str  # the protocol's check-in code, e.g. symptoms_weekly
    message_key: str
    due_at: datetime
    expires_at: datetime
    params: dict[str, Any] = field(default_factory=dict)


def checkin_key_for(row: OutboundMessage) -> str:
    """The check-in key of a planned ``checkin`` prompt, shared by SMS and app."""
    return f"{row.purpose}:{row.occurrence}"


def answers_to_dict(answers: SymptomAnswers | PregnancyAnswer) -> dict[str, Any]:
    """The stored JSON shape: {"symptoms": [{code, severity, temperature_c}]} or
    {"pregnant": bool}. Keys are always present (null when unknown)."""
    if isinstance(answers, PregnancyAnswer):
        return {"pregnant": answers.pregnant}
    return {
        "symptoms": [
            {
                "code": s.code,
                "severity": s.severity.value if s.severity else None,
                "temperature_c": s.temperature_c,
            }
            for s in answers.symptoms
        ]
    }


# ---- validation --------------------------------------------------------------------------


def _validate(
    rt: Runtime,
    *,
    checkin_key: str,
    questionnaire: str,
    channel: str,
    answers: SymptomAnswers | PregnancyAnswer,
    complete: bool,
) -> None:
    """Refuse what the SMS parser can never produce and the app must not send."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be sms or app, not {channel!r}")
    if not checkin_key or len(checkin_key) > CHECKIN_KEY_MAX:
        raise FieldInvalid(
            f"checkin_key must be 1 to {CHECKIN_KEY_MAX} characters", field="checkin_key"
        )
    try:
        kind = Questionnaire(questionnaire)
    except ValueError:
        raise FieldInvalid(
            "questionnaire must be symptoms or pregnancy", field="questionnaire"
        ) from None
    expected = PregnancyAnswer if kind is Questionnaire.PREGNANCY else SymptomAnswers
    if not isinstance(answers, expected):
        raise FieldInvalid(
            f"answers do not belong to a {kind.value} check-in", field="questionnaire"
        )
    if isinstance(answers, SymptomAnswers):
        _validate_symptoms(rt, answers, complete)


def _validate_symptoms(rt: Runtime, answers: SymptomAnswers, complete: bool) -> None:
    known = {symptom.code: symptom for symptom in rt.protocol.symptoms}
    seen: set[str] = set()
    for index, reported in enumerate(answers.symptoms):
        where = f"symptoms[{index}]"
        symptom = known.get(reported.code)
        if symptom is None:
            raise FieldInvalid(f"{where}: unknown symptom {reported.code!r}", field=where)
        if reported.code in seen:
            raise FieldInvalid(f"{where}: {reported.code!r} is listed twice", field=where)
        seen.add(reported.code)
        if reported.severity is None and complete:
            raise FieldInvalid(f"{where}: a severity is required", field=f"{where}.severity")
        if reported.temperature_c is not None:
            if not symptom.asks_temperature:
                raise FieldInvalid(
                    f"{where}: no temperature is asked for {reported.code!r}",
                    field=f"{where}.temperature_c",
                )
            if not MIN_PLAUSIBLE_C <= Decimal(str(reported.temperature_c)) <= MAX_PLAUSIBLE_C:
                raise FieldInvalid(
                    f"{where}: temperature must be {MIN_PLAUSIBLE_C} to {MAX_PLAUSIBLE_C} °C",
                    field=f"{where}.temperature_c",
                )


def _findings(rt: Runtime, answers: SymptomAnswers | PregnancyAnswer) -> list[SafetyFinding]:
    if isinstance(answers, PregnancyAnswer):
        return evaluate_pregnancy(answers, rt.protocol.safety)
    return evaluate_symptoms(answers, rt.protocol.symptoms, rt.protocol.safety)


# ---- submission --------------------------------------------------------------------------


def _same_submission(
    row: CheckIn,
    *,
    questionnaire: str,
    channel: str,
    answers: dict[str, Any],
    raw_texts: list[str],
    late: bool,
    complete: bool,
) -> bool:
    return (
        row.questionnaire == questionnaire
        and row.channel == channel
        and row.answers == answers
        and list(row.raw_texts) == raw_texts
        and row.late == late
        and row.complete == complete
    )


async def _store(
    rt: Runtime,
    participant: Participant,
    *,
    checkin_key: str,
    questionnaire: str,
    channel: str,
    answers: dict[str, Any],
    raw_texts: list[str],
    late: bool,
    complete: bool,
    actor_label: str,
    findings: list[SafetyFinding],
) -> tuple[CheckIn, bool, PendingNotice | None]:
    """One transaction: the new version (or the identical one found), its audit entry
    and, when the answers alert, the alert with its on-call SMS row."""
    now = rt.clock.now()
    async with in_transaction():
        latest = (
            await CheckIn.filter(participant_id=participant.id, checkin_key=checkin_key)
            .order_by("-version")
            .first()
        )
        same = latest is not None and _same_submission(
            latest,
            questionnaire=questionnaire,
            channel=channel,
            answers=answers,
            raw_texts=raw_texts,
            late=late,
            complete=complete,
        )
        if latest is not None and same:
            row, created = latest, False
        else:
            row = await CheckIn.create(
                participant=participant,
                checkin_key=checkin_key,
                questionnaire=questionnaire,
                channel=channel,
                version=(latest.version if latest else 0) + 1,
                answers=answers,
                raw_texts=raw_texts,
                complete=complete,
                late=late,
                submitted_at=now,
            )
            created = True
        await audit(
            at=now,
            actor=actor_label,
            action="checkin.submit" if created else "checkin.resubmit",
            entity="checkin",
            entity_id=row.id,
            changes={
                "study_id": participant.study_id,
                "checkin_key": checkin_key,
                "questionnaire": questionnaire,
                "channel": channel,
                "version": row.version,
                "late": late,
                "complete": complete,
                "answers": answers,
                "raw_texts": [redact_phones(text) for text in raw_texts],
                "findings": [f.code for f in findings],
            },
            reason=None if created else "identical to the stored version: not stored again",
        )
        notice = None
        if findings:
            notice = await record_alert(
                rt,
                participant,
                findings=findings,
                dedup_key=alert_dedup_key(participant.id, checkin_key, findings),
                checkin=row,
            )
    return row, created, notice


async def store_checkin(
    rt: Runtime,
    participant: Participant,
    *,
    checkin_key: str,
    questionnaire: str,
    channel: Channel | str,
    answers: SymptomAnswers | PregnancyAnswer,
    raw_texts: list[str],
    late: bool,
    actor_label: str,
    complete: bool | None = None,
) -> tuple[CheckInResult, PendingNotice | None]:
    """Validate, judge and store one check-in version with its alert row, nothing sent.

    Runs in its own transaction, or in a savepoint of the caller's (the SMS webhook
    stores the message, the check-in and the alert together). The caller sends the
    returned notice (or enqueues and wakes the outbox) after its commit.
    """
    is_complete = (
        complete
        if complete is not None
        else (answers.complete if isinstance(answers, SymptomAnswers) else True)
    )
    _validate(
        rt,
        checkin_key=checkin_key,
        questionnaire=questionnaire,
        channel=channel,
        answers=answers,
        complete=is_complete,
    )
    findings = _findings(rt, answers)
    stored = answers_to_dict(answers)
    texts = [str(text) for text in raw_texts]
    for attempt in range(_SUBMIT_ATTEMPTS):
        try:
            row, created, notice = await _store(
                rt,
                participant,
                checkin_key=checkin_key,
                questionnaire=questionnaire,
                channel=channel,
                answers=stored,
                raw_texts=texts,
                late=late,
                complete=is_complete,
                actor_label=actor_label,
                findings=findings,
            )
            break
        except IntegrityError:
            # Two submissions for the same key took the same version number; the
            # loser tries again and becomes the next version (or finds it identical).
            if attempt == _SUBMIT_ATTEMPTS - 1:
                raise Conflict("this check-in is being changed; try again") from None
    result = CheckInResult(
        checkin=row,
        findings=tuple(findings),
        advice=participant_advice(findings),
        alert=notice.alert if notice is not None else None,
        created=created,
    )
    return result, notice


async def submit_checkin(
    rt: Runtime,
    participant: Participant,
    *,
    checkin_key: str,
    questionnaire: str,
    channel: Channel | str,
    answers: SymptomAnswers | PregnancyAnswer,
    raw_texts: list[str],
    late: bool,
    actor_label: str,
    complete: bool | None = None,
) -> CheckInResult:
    """Store one check-in version, judge it with the safety rules, alert the site.

    ``complete`` defaults to the answers' own flag (a handed-off SMS conversation
    yields ``SymptomAnswers(complete=False)``). Call outside a transaction: an alert's
    SMS is sent after the commit. The caller tells the participant ``result.advice``
    (SMS: :func:`advise_participant`; the app shows it in its response).
    """
    result, notice = await store_checkin(
        rt,
        participant,
        checkin_key=checkin_key,
        questionnaire=questionnaire,
        channel=channel,
        answers=answers,
        raw_texts=raw_texts,
        late=late,
        actor_label=actor_label,
        complete=complete,
    )
    if notice is not None:
        try:
            await notify_alert(rt, notice)
        except Exception as exc:  # the row is queued: the dispatcher sends it anyway
            # Only the type: a driver's message may quote the values it was given.
            log.warning(
                "alert %s: sending deferred to the dispatcher (%s)",
                notice.alert.id,
                type(exc).__name__,
            )
    return result


def _occurrence(text: str) -> str:
    if len(text) <= _OCCURRENCE_MAX:
        return text
    return "h:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


async def enqueue_advice(
    rt: Runtime, participant: Participant, advice_key: str, occurrence: str
) -> OutboundMessage:
    """The safety advice (``safety.emergency`` / ``.contact_team``) as a ``reply`` row
    due now, inside the caller's transaction. The same advice for the same occurrence
    (usually the check-in key) is one row: a correction that changes nothing is not
    re-advised, one that turns "contact your team" into "call 131" is. The dispatcher
    refuses it to an opted-out or blocked number."""
    return await enqueue_now(
        rt,
        participant=participant,
        kind="reply",
        purpose=f"advice:{advice_key}",
        occurrence=_occurrence(occurrence),
        message_key=advice_key,
        params={},
        language=participant.language,
        expires_in=ADVICE_TTL,
    )


async def advise_participant(
    rt: Runtime, participant: Participant, advice_key: str, occurrence: str
) -> OutboundMessage:
    """:func:`enqueue_advice` in a transaction of its own, then wake the outbox."""
    async with in_transaction():
        row = await enqueue_advice(rt, participant, advice_key, occurrence)
    wake(rt)
    return row


# ---- what may be answered ----------------------------------------------------------------


async def _unanswered(
    rt: Runtime, participant: Participant, rows: list[OutboundMessage], include_answered: bool
) -> list[DueCheckin]:
    keys = [checkin_key_for(row) for row in rows]
    answered: set[str] = set()
    if keys and not include_answered:
        found = await CheckIn.filter(
            participant_id=participant.id, checkin_key__in=keys
        ).values_list("checkin_key", flat=True)
        answered = {str(key) for key in found}
    definitions = {f"checkin:{d.code}": d for d in rt.protocol.checkins}
    items: list[DueCheckin] = []
    for row, key in zip(rows, keys, strict=True):
        if key in answered or row.expires_at is None:
            continue
        definition = definitions.get(row.purpose)
        questionnaire = row.params.get("questionnaire") or (
            definition.questionnaire.value if definition else Questionnaire.SYMPTOMS.value
        )
        items.append(
            DueCheckin(
                checkin_key=key,
                questionnaire=str(questionnaire),
                code=row.purpose.removeprefix("checkin:"),
                message_key=row.message_key,
                due_at=row.send_at,
                expires_at=row.expires_at,
                params=dict(row.params),
            )
        )
    return items


async def due_checkins(
    rt: Runtime, participant: Participant, *, include_answered: bool = False
) -> list[DueCheckin]:
    """Prompts whose moment has come and which are still open (send_at <= now <
    expires_at, not cancelled or expired), oldest first, without a check-in yet
    unless ``include_answered`` (for corrections)."""
    now = rt.clock.now()
    rows = (
        await OutboundMessage.filter(
            participant_id=participant.id, kind="checkin", send_at__lte=now, expires_at__gt=now
        )
        .exclude(status__in=("cancelled", "expired"))
        .order_by("send_at", "id")
    )
    return await _unanswered(rt, participant, list(rows), include_answered)


async def recently_expired_checkins(
    rt: Runtime,
    participant: Participant,
    *,
    within: timedelta = LATE_ANSWER_WINDOW,
    include_answered: bool = False,
) -> list[DueCheckin]:
    """Prompts that expired less than ``within`` ago: an answer now is stored as late."""
    now = rt.clock.now()
    rows = (
        await OutboundMessage.filter(
            participant_id=participant.id,
            kind="checkin",
            expires_at__lte=now,
            expires_at__gt=now - within,
        )
        .exclude(status="cancelled")
        .order_by("send_at", "id")
    )
    return await _unanswered(rt, participant, list(rows), include_answered)
