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
from service.actions.checkins._submit import CheckinSubmission, submit
from service.actions.outbox import render_for_screen
from service.actions.participants import own_participant
from service.domain.actors import Actor, participant_label
from service.domain.checkin_answers import PregnancyAnswer, SymptomAnswers
from service.runtime import Runtime

__all__ = ["AppCheckin", "app_report_key", "submit_from_app"]


@dataclass(frozen=True, slots=True)
class AppCheckin:
    """What the app shows after a check-in: the stored version, whether the team was
    alerted, and the safety advice (its key, and the text in the participant's words)."""

    checkin: CheckinVersion
    alert_raised: bool
    advice_key: str | None
    advice: str | None


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
    advice = None
    if result.advice:
        advice = await render_for_screen(rt, participant, result.advice)
    return AppCheckin(
        checkin=checkin_version(result.checkin),
        alert_raised=result.alert is not None,
        advice_key=result.advice,
        advice=advice,
    )
