"""Check-in records: one code path for answers from SMS and from the app.

Why it is shaped like this:

* **Same record whatever the channel.** The SMS conversation and the app both call
  :func:`submit` with domain answers; the row differs only in ``channel``
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

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.actions.alerts import AlertOutcome, PendingNotice, alert_once, notify_alert
from service.actions.errors import Conflict, FieldInvalid
from service.adapters.redaction import redact_phones
from service.db.audit import audit
from service.db.models import Alert, Checkin, Participant
from service.domain.checkin_answers import PregnancyAnswer, SymptomAnswers
from service.domain.protocol import Questionnaire
from service.domain.replies import MAX_PLAUSIBLE_C, MIN_PLAUSIBLE_C
from service.domain.safety import SafetyFinding, evaluate_answers, participant_advice
from service.domain.states import AuditAction
from service.runtime import Runtime

__all__ = [
    "CheckinResult",
    "CheckinSubmission",
    "answers_to_dict",
    "store_submission",
    "submit",
]

log = logging.getLogger("service.checkins")

Channel = Literal["sms", "whatsapp", "app", "web"]
# sms, whatsapp: answered by message; web: the participant web app at /app
CHANNELS: Final = ("sms", "whatsapp", "app", "web")
CHECKIN_KEY_MAX: Final = 96
_SUBMIT_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class CheckinSubmission:
    """One check-in as a channel hands it in: what was answered, to which prompt, by
    whom, and the participant's own words (SMS replies verbatim, or the app's JSON).

    ``complete`` None means the answers' own flag (a handed-off SMS conversation
    yields ``SymptomAnswers(complete=False)``); :attr:`is_complete` resolves it.
    """

    checkin_key: str
    questionnaire: str
    channel: Channel | str
    answers: SymptomAnswers | PregnancyAnswer
    raw_texts: Sequence[str]
    late: bool
    actor_label: str
    complete: bool | None = None
    reason: str | None = None  # why the participant corrects an earlier version (audited)

    @property
    def is_complete(self) -> bool:
        if self.complete is not None:
            return self.complete
        return self.answers.complete if isinstance(self.answers, SymptomAnswers) else True

    @property
    def texts(self) -> list[str]:
        """The raw texts as stored (strings, in order)."""
        return [str(text) for text in self.raw_texts]


@dataclass(frozen=True, slots=True)
class CheckinResult:
    """What a submission produced.

    ``advice`` is the message key to show or send the participant (``safety.*``) or
    None; ``alert`` is the alert this submission raised (None when nothing alerts or
    the event had its alert already); ``created`` is False for an identical retry;
    ``repeat`` says every finding was already known to the team from another alert
    (``alerts.alert_once``): the SMS side does not advise again.
    """

    checkin: Checkin
    findings: tuple[SafetyFinding, ...]
    advice: str | None
    alert: Alert | None
    created: bool = True
    repeat: bool = False


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


def _validate(rt: Runtime, sub: CheckinSubmission) -> None:
    """Refuse what the SMS parser can never produce and the app must not send."""
    if sub.channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, not {sub.channel!r}")
    if not sub.checkin_key or len(sub.checkin_key) > CHECKIN_KEY_MAX:
        raise FieldInvalid(
            f"checkin_key must be 1 to {CHECKIN_KEY_MAX} characters", field="checkin_key"
        )
    try:
        kind = Questionnaire(sub.questionnaire)
    except ValueError:
        raise FieldInvalid(
            "questionnaire must be symptoms or pregnancy", field="questionnaire"
        ) from None
    expected = PregnancyAnswer if kind is Questionnaire.PREGNANCY else SymptomAnswers
    if not isinstance(sub.answers, expected):
        raise FieldInvalid(
            f"answers do not belong to a {kind.value} check-in", field="questionnaire"
        )
    if isinstance(sub.answers, SymptomAnswers):
        _validate_symptoms(rt, sub.answers, sub.is_complete)


def _validate_symptoms(rt: Runtime, answers: SymptomAnswers, complete: bool) -> None:
    known = {symptom.code: symptom for symptom in rt.protocol.symptoms}
    seen: set[str] = set()
    for index, reported in enumerate(answers.symptoms):
        where = f"symptoms[{index}]"
        symptom = known.get(reported.code)
        if symptom is None:
            raise FieldInvalid(
                f"{where}: unknown symptom {reported.code!r}", field=where, code="unknown_symptom"
            )
        if reported.code in seen:
            raise FieldInvalid(
                f"{where}: {reported.code!r} is listed twice", field=where, code="symptom_repeated"
            )
        seen.add(reported.code)
        if reported.severity is None and complete:
            raise FieldInvalid(
                f"{where}: a severity is required",
                field=f"{where}.severity",
                code="severity_required",
            )
        if reported.temperature_c is not None:
            if not symptom.asks_temperature:
                raise FieldInvalid(
                    f"{where}: no temperature is asked for {reported.code!r}",
                    field=f"{where}.temperature_c",
                    code="temperature_not_asked",
                )
            if not MIN_PLAUSIBLE_C <= Decimal(str(reported.temperature_c)) <= MAX_PLAUSIBLE_C:
                raise FieldInvalid(
                    f"{where}: temperature must be {MIN_PLAUSIBLE_C} to {MAX_PLAUSIBLE_C} °C",
                    field=f"{where}.temperature_c",
                    code="temperature_implausible",
                )


# ---- submission --------------------------------------------------------------------------


def _same_submission(row: Checkin, sub: CheckinSubmission, answers: dict[str, Any]) -> bool:
    return (
        row.questionnaire == sub.questionnaire
        and row.channel == sub.channel
        and row.answers == answers
        and list(row.raw_texts) == sub.texts
        and row.late == sub.late
        and row.complete == sub.is_complete
    )


async def _store(
    rt: Runtime,
    participant: Participant,
    sub: CheckinSubmission,
    findings: list[SafetyFinding],
) -> tuple[Checkin, bool, AlertOutcome]:
    """One transaction: the new version (or the identical one found), its audit entry
    and, when the answers alert, the alert with its on-call SMS row (or the alert of
    this event refined, or nothing for a repeat: ``alert_once``)."""
    now = rt.clock.now()
    answers = answers_to_dict(sub.answers)
    raw_texts = sub.texts
    complete = sub.is_complete
    async with in_transaction():
        latest = (
            await Checkin.filter(participant_id=participant.id, checkin_key=sub.checkin_key)
            .order_by("-version")
            .first()
        )
        if latest is not None and _same_submission(latest, sub, answers):
            row, created = latest, False
        else:
            row = await Checkin.create(
                participant=participant,
                checkin_key=sub.checkin_key,
                questionnaire=sub.questionnaire,
                channel=sub.channel,
                version=(latest.version if latest else 0) + 1,
                answers=answers,
                raw_texts=raw_texts,
                complete=complete,
                late=sub.late,
                submitted_at=now,
            )
            created = True
        await audit(
            at=now,
            actor=sub.actor_label,
            action=AuditAction.CHECKIN_SUBMIT if created else AuditAction.CHECKIN_RESUBMIT,
            entity="checkin",
            entity_id=row.id,
            changes={
                "study_id": participant.study_id,
                "checkin_key": sub.checkin_key,
                "questionnaire": sub.questionnaire,
                "channel": sub.channel,
                "version": row.version,
                "late": sub.late,
                "complete": complete,
                "answers": answers,
                "raw_texts": [redact_phones(text) for text in raw_texts],
                "findings": [f.code for f in findings],
            },
            reason=sub.reason if created else "identical to the stored version: not stored again",
        )
        outcome = await alert_once(rt, participant, findings=findings, checkin=row)
    return row, created, outcome


async def store_submission(
    rt: Runtime, participant: Participant, sub: CheckinSubmission
) -> tuple[CheckinResult, PendingNotice | None]:
    """Validate, judge and store one check-in version with its alert row, nothing sent.

    Runs in its own transaction, or in a savepoint of the caller's (the SMS webhook
    stores the message, the check-in and the alert together). The caller sends the
    returned notice (or enqueues and wakes the outbox) after its commit.
    """
    _validate(rt, sub)
    findings = evaluate_answers(sub.answers, rt.protocol.symptoms, rt.protocol.safety)
    for attempt in range(_SUBMIT_ATTEMPTS):
        try:
            row, created, outcome = await _store(rt, participant, sub, findings)
            break
        except IntegrityError:
            # Two submissions for the same key took the same version number; the
            # loser tries again and becomes the next version (or finds it identical).
            if attempt == _SUBMIT_ATTEMPTS - 1:
                raise Conflict(
                    "this check-in is being changed; try again", code="checkin_busy"
                ) from None
    result = CheckinResult(
        checkin=row,
        findings=tuple(findings),
        advice=participant_advice(findings),
        alert=outcome.notice.alert if outcome.notice is not None else None,
        created=created,
        repeat=outcome.repeat,
    )
    return result, outcome.notice


async def submit(rt: Runtime, participant: Participant, sub: CheckinSubmission) -> CheckinResult:
    """Store one check-in version, judge it with the safety rules, alert the site.

    Call outside a transaction: an alert's SMS is sent after the commit. The caller
    tells the participant ``result.advice`` (SMS: :func:`advise_participant`; the app
    shows it in its response).
    """
    result, notice = await store_submission(rt, participant, sub)
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
