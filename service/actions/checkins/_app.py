"""A check-in from the mobile app: the answer to a prompt, or a report made at any time.

The app's answers go through the same :func:`submit` as the SMS dialogue's, so they
become the same records, judged by the same safety rules, with channel ``app``.

A check-in posted without ``checkin_key`` is a report the participant makes on their
own ("I am pregnant", chest pain), which must not wait for the next prompt. Its key
carries the minute and a digest of the body, so an app retry of the same report (a
lost response) is recognised as the same check-in, while a different report a minute
later is new; it is never late. With a key, only the participant's own prompts that
can still be answered qualify (``answer_is_late``).

A client that queues answers while offline (the web app's service worker) sends a
``client_submission_id`` it made when the form was filled: an unasked report's key is
then built from it, so sending the queue twice, or an hour later, is still the same
check-in (the identical resubmission is recognised by ``submit``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from service.actions.checkins._due import answer_is_late
from service.actions.checkins._records import CheckinVersion, checkin_version
from service.actions.checkins._submit import CheckinResult, CheckinSubmission, submit
from service.actions.errors import FieldInvalid, NotFound
from service.actions.outbox import render_for_screen
from service.actions.participants import own_participant
from service.db.models import Checkin, Participant
from service.domain.actors import Actor, participant_label
from service.domain.checkin_answers import PregnancyAnswer, SymptomAnswers
from service.runtime import Runtime

__all__ = ["REASON_MAX", "AppCheckin", "app_report_key", "correct_from_app", "submit_from_app"]

REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class AppCheckin:
    """What the app shows after a check-in: the stored version, whether the team was
    alerted, and the safety advice (its key, and the text in the participant's words)."""

    checkin: CheckinVersion
    alert_raised: bool
    advice_key: str | None
    advice: str | None


async def _shown(rt: Runtime, participant: Participant, result: CheckinResult) -> AppCheckin:
    """What the app shows: the stored version and the advice in the participant's words."""
    advice = None
    if result.advice:
        advice = await render_for_screen(rt, participant, result.advice)
    return AppCheckin(
        checkin=checkin_version(result.checkin),
        alert_raised=result.alert is not None,
        advice_key=result.advice,
        advice=advice,
    )


def app_report_key(
    questionnaire: str, now: datetime, body: bytes, client_submission_id: str | None = None
) -> str:
    """The key of an unscheduled app report (module docstring)."""
    if client_submission_id:
        return f"report:{questionnaire}:c:{client_submission_id}"
    minute = now.strftime("%Y%m%dT%H%MZ")
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"report:{questionnaire}:{minute}:{digest}"


async def submit_from_app(
    rt: Runtime,
    actor: Actor,
    *,
    questionnaire: str,
    answers: SymptomAnswers | PregnancyAnswer,
    checkin_key: str | None,
    body: bytes,
    channel: str = "app",
    client_submission_id: str | None = None,
) -> AppCheckin:
    """Store the signed-in participant's check-in (``body``: the app's JSON, kept as the
    participant's own words), alert the site when the answers call for it, and say
    what to do now. ``channel``: ``app`` (the API) or ``web`` (the web app's forms,
    whose fields are kept as JSON the same way)."""
    participant = await own_participant(actor)
    if checkin_key is None:
        key = app_report_key(questionnaire, rt.clock.now(), body, client_submission_id)
        late = False
    else:
        key = checkin_key
        late = await answer_is_late(rt, participant, key, questionnaire)
    result = await submit(
        rt,
        participant,
        CheckinSubmission(
            checkin_key=key,
            questionnaire=questionnaire,
            channel=channel,
            answers=answers,
            raw_texts=[body.decode()],
            late=late,
            actor_label=participant_label(participant.study_id),
        ),
    )
    return await _shown(rt, participant, result)


async def correct_from_app(
    rt: Runtime,
    actor: Actor,
    *,
    checkin_key: str,
    questionnaire: str,
    answers: SymptomAnswers | PregnancyAnswer,
    body: bytes,
    reason: str,
    channel: str = "web",
) -> AppCheckin:
    """The participant corrects one of their own check-ins: a new version of the same
    key (earlier ones stay), with the reason in the audit log, judged again by the
    safety rules like any answer. Any of their check-ins can be corrected, a report
    made unasked included; nobody else's is found (404)."""
    participant = await own_participant(actor)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise FieldInvalid(
            f"reason must be 1 to {REASON_MAX} characters", field="reason", code="reason_required"
        )
    latest = (
        await Checkin.filter(participant_id=participant.id, checkin_key=checkin_key)
        .order_by("-version")
        .first()
    )
    if latest is None:
        raise NotFound("no such check-in of yours", field="checkin_key")
    if latest.questionnaire != questionnaire:
        raise FieldInvalid(
            f"checkin_key is not a {questionnaire} check-in",
            field="checkin_key",
            code="checkin_mismatch",
        )
    result = await submit(
        rt,
        participant,
        CheckinSubmission(
            checkin_key=checkin_key,
            questionnaire=questionnaire,
            channel=channel,
            answers=answers,
            raw_texts=[body.decode()],
            late=latest.late,
            actor_label=participant_label(participant.study_id),
            reason=f"corrected by the participant: {reason}",
        ),
    )
    return await _shown(rt, participant, result)
