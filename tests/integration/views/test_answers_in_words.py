"""A participant's check-ins read in words on their page and in its download: symptom,
intensity, temperature, where the answer came from; the SMS as written a click away;
never the stored data or the internal keys."""

from __future__ import annotations

from service.actions.checkins import CheckinSubmission, submit
from service.db.models import Participant
from service.domain.checkin_answers import (
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    SymptomAnswers,
)
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.spreadsheets import as_excel_es_cl

PAGE = "/dashboard/participants/MSC-001"


async def _checkins(client: Client) -> None:
    headers = await staff_headers(client, "enrol@uandes.cl", "admin")
    response = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    assert response.status_code == 201, response.text
    rt = client.app.state.runtime
    participant = await Participant.get(study_id="MSC-001")
    fever = ReportedSymptom("fever", Severity.MODERATE, 39.1)
    chest = ReportedSymptom("chest_pain", Severity.SEVERE)
    for key, channel, answers, raw in (
        ("checkin:symptoms_weekly:2027-01-12", "sms", SymptomAnswers(()), ["0"]),
        ("report:symptoms:SM0123456789abcdef0123456789abcdef", "sms", SymptomAnswers((chest,)),
         ["me duele mucho el pecho"]),
        ("report:symptoms:20270113T1200Z:0123456789abcdef", "app", SymptomAnswers((fever,)),
         ['{"symptoms": []}']),
        ("checkin:pregnancy_monthly:2027-01-06", "app", PregnancyAnswer(pregnant=False), ["{}"]),
    ):  # fmt: skip
        questionnaire = "pregnancy" if isinstance(answers, PregnancyAnswer) else "symptoms"
        await submit(
            rt,
            participant,
            CheckinSubmission(
                checkin_key=key,
                questionnaire=questionnaire,
                channel=channel,
                answers=answers,
                raw_texts=raw,
                late=False,
                actor_label="participant:MSC-001",
            ),
        )


async def test_answers_and_origins_in_spanish_and_english(client: Client) -> None:
    await _checkins(client)
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    html = (await client.get(PAGE)).text
    for words in (
        "Fiebre · intensidad moderada · 39,1 °C",
        "Dolor al pecho · intensidad severa",
        "Sin síntomas",
        "Embarazada: no",
        "Reporte por SMS, sin pregunta",
        "Reporte en la app, sin pregunta",
        "Respuesta a la pregunta del 12-01-2027",
        "El SMS tal como llegó",
        "me duele mucho el pecho",
    ):
        assert words in html, words
    for never in ("report:symptoms", "checkin:symptoms", "'code'", "temperature_c", "{"):
        assert never not in html.split('id="checkins-h"')[1].split("</section>")[0], never

    rows = as_excel_es_cl((await client.get(f"{PAGE}?format=csv&table=checkins")).content)
    cells = " | ".join(" | ".join(row) for row in rows)
    assert "Fiebre · intensidad moderada · 39,1 °C" in cells
    assert "Reporte por SMS, sin pregunta" in cells and "report:" not in cells

    english = (await client.get(f"{PAGE}?lang=en")).text
    for words in (
        "Fever · moderate intensity · 39.1 °C",
        "Report by SMS, unprompted",
        "Answer to the prompt of",
        "No symptoms",
    ):
        assert words in english, words
