""" "¿Cómo me siento?": the due check-ins and a report at any time, from the web app.

The form's fields become the same domain answers the API's JSON does and go through
the same use case (``checkins.submit_from_app``, channel ``web``): one record, the
same validation, the same safety rules and alert. What the participant ticked is kept
as their own words (the fields as JSON). An emergency symptom shows the emergency
advice on the answer page at once, with ``tel:`` links to 131 and the site.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from service.actions.checkins import (
    REASON_MAX,
    AppCheckin,
    checkin_records,
    correct_from_app,
    due_checkins,
    questionnaire_for,
    submit_from_app,
)
from service.actions.errors import ActionError, FieldInvalid
from service.actions.participants import own_participant, site_record
from service.domain.actors import Actor
from service.domain.checkin_answers import (
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    SymptomAnswers,
)
from service.runtime import Runtime
from service.web.app.session import current_participant, render
from service.web.error_codes import ERROR_CODES, error_code

SYMPTOMS: Final = "symptoms"
PREGNANCY: Final = "pregnancy"
KEY_MAX: Final = 96
EMERGENCY_ADVICE: Final = "safety.emergency"
# Made by the page's script when the form is filled (a UUID), kept when it is sent later.
_CLIENT_ID: Final = re.compile(r"[A-Za-z0-9-]{8,64}")
_CLIENT_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]{5,15}(Z|[+-]\d{2}:\d{2})")


def _from_the_phone(form: FormMultiDict) -> tuple[str | None, dict[str, str]]:
    """The queued answer's id, and the phone's own time of the answer (kept beside
    the server's ``submitted_at``): both only when well-formed, else ignored."""
    client_id = _text(form, "client_submission_id", 64)
    client_time = _text(form, "client_time", 40)
    words = {"client_time": client_time} if _CLIENT_TIME.fullmatch(client_time) else {}
    return (client_id if _CLIENT_ID.fullmatch(client_id) else None), words


def _text(form: FormMultiDict, name: str, limit: int = 16) -> str:
    """A form field, trimmed and cut to ``limit``; a NUL character (which PostgreSQL
    cannot store) is refused naming the field."""
    value = form.get(name, "")
    if not isinstance(value, str):
        return ""
    if "\x00" in value:
        raise FieldInvalid(f"{name} must not contain a NUL character", field=name)
    return value.strip()[:limit]


def _temperature(raw: str, code: str) -> float | None:
    if not raw:
        return None
    try:
        return float(Decimal(raw.replace(",", ".")))
    except (InvalidOperation, ValueError):
        raise FieldInvalid(
            "temperature is not a number",
            field=f"temperature_{code}",
            code="temperature_implausible",
        ) from None


def symptom_answers(form: FormMultiDict) -> tuple[SymptomAnswers, dict[str, Any]]:
    """The ticked symptoms with their severity and temperature, and the same as the
    participant's words (kept with the check-in)."""
    reported: list[ReportedSymptom] = []
    words: list[dict[str, Any]] = []
    for code in [value for value in form.getall("symptom", []) if isinstance(value, str)][:32]:
        code = code[:64]
        raw_severity = _text(form, f"severity_{code}")
        try:
            severity = Severity(raw_severity) if raw_severity else None
        except ValueError:
            raise FieldInvalid("severity", field=f"severity_{code}") from None
        temperature = _temperature(_text(form, f"temperature_{code}"), code)
        reported.append(ReportedSymptom(code, severity, temperature))
        words.append({"code": code, "severity": raw_severity or None, "temperature_c": temperature})
    return SymptomAnswers(symptoms=tuple(reported), complete=True), {"symptoms": words}


def pregnancy_answer(form: FormMultiDict) -> tuple[PregnancyAnswer, dict[str, Any]]:
    raw = _text(form, "pregnant")
    if raw not in ("yes", "no"):
        raise FieldInvalid("pregnant must be yes or no", field="pregnant")
    return PregnancyAnswer(pregnant=raw == "yes"), {"pregnant": raw == "yes"}


async def _form_page(
    rt: Runtime,
    request: Request[Any, Any, Any],
    actor: Actor,
    *,
    kind: str,
    checkin_key: str,
    status_code: int = 200,
    error: str | None = None,
    correct: str = "",
    previous: dict[str, Any] | None = None,
) -> Template:
    participant = await own_participant(actor)
    ticked = {item["code"]: item for item in (previous or {}).get("symptoms", [])}
    return render(
        request,
        "app/report.html",
        actor=actor,
        kind=kind,
        checkin_key=checkin_key,
        questionnaire=questionnaire_for(rt, participant),
        error=error,
        status_code=status_code,
        correct=correct,
        ticked=ticked,
        previous=previous or {},
        reason_max=REASON_MAX,
    )


async def _own_latest(actor: Actor, key: str) -> tuple[str, dict[str, Any]] | None:
    """(questionnaire, answers) of the newest version of one of the participant's own
    check-ins, or None."""
    participant = await own_participant(actor)
    for record in await checkin_records(participant.id):  # newest first
        if record.checkin_key == key:
            return record.questionnaire, record.answers
    return None


async def _previous(actor: Actor, correct: str) -> dict[str, Any] | None:
    """The answers a refused correction form shows again (the stored ones)."""
    found = await _own_latest(actor, correct) if correct else None
    return found[1] if found else None


async def _send(
    rt: Runtime, actor: Actor, form: FormMultiDict, kind: str, key: str | None, correct: str
) -> AppCheckin:
    """A new answer (``submit_from_app``), or a correction of one of the participant's
    own check-ins with its reason (``correct_from_app``); channel ``web`` either way."""
    answers: SymptomAnswers | PregnancyAnswer
    answers, words = symptom_answers(form) if kind == SYMPTOMS else pregnancy_answer(form)
    client_id, phone_words = _from_the_phone(form)
    body = json.dumps({**words, **phone_words}, ensure_ascii=False, sort_keys=True).encode()
    if correct:
        return await correct_from_app(
            rt,
            actor,
            checkin_key=correct,
            questionnaire=kind,
            answers=answers,
            body=body,
            reason=_text(form, "reason", REASON_MAX + 1),
            channel="web",
        )
    return await submit_from_app(
        rt,
        actor,
        questionnaire=kind,
        answers=answers,
        checkin_key=key,
        body=body,
        channel="web",
        client_submission_id=client_id,
    )


class AppReportController(Controller):
    path = "/app/report"
    include_in_schema = False

    @get("/")
    async def form(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template | Redirect:
        actor = await current_participant(request)
        if actor is None:
            return Redirect("/app", status_code=303)
        key = request.query_params.get("checkin", "")[:KEY_MAX]
        kind = PREGNANCY if request.query_params.get("kind") == PREGNANCY else SYMPTOMS
        correct = request.query_params.get("correct", "")[:KEY_MAX]
        found = await _own_latest(actor, correct) if correct else None
        if found is not None:
            kind, previous = found
            return await _form_page(
                rt, request, actor, kind=kind, checkin_key="", correct=correct, previous=previous
            )
        if key:
            due = await due_checkins(rt, await own_participant(actor))
            match = next((item for item in due if item.checkin_key == key), None)
            kind = match.questionnaire if match else kind
            key = key if match else ""
        return await _form_page(rt, request, actor, kind=kind, checkin_key=key)

    @post("/", status_code=200)
    async def submit(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template | Redirect:
        actor = await current_participant(request)
        if actor is None:
            return Redirect("/app", status_code=303)
        form = await request.form()
        kind = PREGNANCY if _text(form, "questionnaire") == PREGNANCY else SYMPTOMS
        key = _text(form, "checkin_key", KEY_MAX) or None
        correct = _text(form, "correct", KEY_MAX)
        try:
            done = await _send(rt, actor, form, kind, key, correct)
        except ActionError as exc:
            words_for = ERROR_CODES[error_code(exc.status_code, exc.code)].words
            return await _form_page(
                rt,
                request,
                actor,
                kind=kind,
                checkin_key=key or "",
                status_code=400 if exc.status_code == 400 else exc.status_code,
                error=words_for,
                correct=correct,
                previous=await _previous(actor, correct),
            )
        participant = await own_participant(actor)
        return render(
            request,
            "app/answered.html",
            actor=actor,
            advice=done.advice,
            emergency=done.advice_key == EMERGENCY_ADVICE,
            alert_raised=done.alert_raised,
            help_line=(await site_record(participant.site_id)).help_line,
        )
