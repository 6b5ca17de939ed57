"""The participant web app at /app over HTTP: sign-in by SMS code, CSRF, the next
visit, a report (same record and alert as the API, channel ``web``), sign-out, and the
session ending on withdrawal."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.access_models import ParticipantSession
from service.db.models import Alert, AuditEntry, Checkin, Participant
from service.ports import ManualClock
from tests.integration.access.test_mobile_api import PHONE_A, WEEKLY_KEY, enrol, last_code
from tests.support.helpers import Client, staff_headers

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def sign_in(client: Client, gateway: ConsoleSmsGateway, phone: str = "9 6123 4567") -> Any:
    page = await client.get("/app")
    sent = await client.post("/app/code", data={"phone": phone, "csrf_token": csrf_of(page.text)})
    assert sent.status_code == 200 and 'name="code"' in sent.text
    return await client.post(
        "/app/verify",
        data={
            "phone": phone,
            "code": last_code(gateway, PHONE_A),
            "csrf_token": csrf_of(sent.text),
        },
    )


async def test_sign_in_by_sms_code_then_the_next_visit_and_sign_out(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    page = await client.get("/app")
    assert page.status_code == 200 and 'name="phone"' in page.text
    assert "Número de celular" in page.text  # Spanish by default
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page.text and " style=" not in page.text

    refused = await client.post("/app/code", data={"phone": PHONE_A})
    assert refused.status_code == 403 and not gateway.sent  # no CSRF token: nothing sent

    code_page = await client.post(
        "/app/code", data={"phone": "9 6123 4567", "csrf_token": csrf_of(page.text)}
    )
    wrong = await client.post(
        "/app/verify",
        data={"phone": "9 6123 4567", "code": "000000", "csrf_token": csrf_of(code_page.text)},
    )
    if last_code(gateway, PHONE_A) != "000000":
        assert wrong.status_code == 400 and "Ese código no es correcto" in wrong.text
    done = await client.post(
        "/app/verify",
        data={
            "phone": "9 6123 4567",
            "code": last_code(gateway, PHONE_A),
            "csrf_token": csrf_of(code_page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/app"
    cookie = done.headers["set-cookie"].lower()
    assert "fu_app=fp_" in cookie and "httponly" in cookie and "samesite=strict" in cookie

    home = await client.get("/app")
    assert "Mi próxima visita" in home.text and 'href="tel:+56226181000"' in home.text
    assert "Clínica Universidad de los Andes" in home.text
    ics = await client.get("/app/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar") and "BEGIN:VEVENT" in ics.text
    assert "Mi próxima visita" not in (await client.get("/app?lang=en")).text

    out = await client.post(
        "/app/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert (await ParticipantSession.get()).revoked_reason == "signed_out"
    assert 'name="phone"' in (await client.get("/app")).text


async def test_a_report_is_the_same_record_and_alert_and_shows_the_emergency_advice(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await sign_in(client, gateway)
    form = await client.get("/app/report")
    assert 'value="chest_pain"' in form.text and "Dolor al pecho" in form.text
    answer = await client.post(
        "/app/report",
        data={
            "questionnaire": "symptoms",
            "symptom": "chest_pain",
            "severity_chest_pain": "severe",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert answer.status_code == 200
    assert 'href="tel:131"' in answer.text and "Llama ahora al 131" in answer.text
    assert "MSC-ROLE:" not in answer.text
    checkin = await Checkin.get()
    assert checkin.channel == "web" and checkin.answers["symptoms"][0]["code"] == "chest_pain"
    assert checkin.raw_texts and "chest_pain" in checkin.raw_texts[0]
    assert await Alert.all().count() == 1
    assert await AuditEntry.filter(action="checkin.submit", actor="participant:MSC-001").exists()

    bad = await client.post(
        "/app/report",
        data={"questionnaire": "symptoms", "symptom": "headache", "csrf_token": csrf_of(form.text)},
    )
    assert bad.status_code == 400 and "Ese síntoma no está en la lista." in bad.text
    assert await Checkin.all().count() == 1


async def test_withdrawal_ends_the_web_session(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await sign_in(client, gateway)
    assert "Mi próxima visita" in (await client.get("/app")).text
    withdrawn = await client.post("/api/v1/participants/MSC-001/withdraw", json={}, headers=admin)
    assert withdrawn.status_code == 200, withdrawn.text
    assert 'name="phone"' in (await client.get("/app")).text
    assert (await client.get("/app/report")).status_code in (200, 303)
    assert "Dolor al pecho" not in (await client.get("/app/report")).text


async def test_preferences_change_through_the_apis_use_case(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await sign_in(client, gateway)
    form = await client.get("/app/preferences")
    assert form.status_code == 200 and 'name="preferred_time"' in form.text
    bad = await client.post(
        "/app/preferences",
        data={"language": "es", "preferred_time": "25:00", "csrf_token": csrf_of(form.text)},
    )
    assert bad.status_code == 400 and "Algo de lo que enviaste no es válido." in bad.text
    saved = await client.post(
        "/app/preferences",
        data={
            "language": "en",
            "preferred_time": "19:30",
            "paused": "yes",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert saved.status_code == 200 and "Saved." in saved.text  # now in English
    participant = await Participant.get(study_id="MSC-001")
    assert (participant.language, participant.preferred_time, participant.paused) == (
        "en",
        "19:30",
        True,
    )
    entry = await AuditEntry.get(action="participant.preferences")
    assert entry.actor == "participant:MSC-001"


async def test_a_due_check_in_is_answered_on_its_own_key(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 1, 13, 13, 1, tzinfo=UTC))  # the weekly prompt is due (10:00)
    await enrol(client, admin, baseline_infusion_date="2027-01-06", can_become_pregnant=False)
    await sign_in(client, gateway)
    home = await client.get("/app")
    link = re.search(r'href="(/app/report\?checkin=[^"]+)"', home.text)
    assert link and "Responder las preguntas de esta semana" in home.text
    form = await client.get(link.group(1).replace("&amp;", "&"))
    assert f'name="checkin_key" value="{WEEKLY_KEY}"' in form.text
    answer = await client.post(
        "/app/report",
        data={
            "questionnaire": "symptoms",
            "checkin_key": WEEKLY_KEY,
            "symptom": "fever",
            "severity_fever": "mild",
            "temperature_fever": "37,8",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert answer.status_code == 200 and "¡Gracias! Recibimos tus respuestas." in answer.text
    checkin = await Checkin.get(checkin_key=WEEKLY_KEY)
    assert checkin.channel == "web" and not checkin.late
    assert checkin.answers == {
        "symptoms": [{"code": "fever", "severity": "mild", "temperature_c": 37.8}]
    }
    assert "Responder las preguntas de esta semana" not in (await client.get("/app")).text
    assert await Alert.all().count() == 0  # 37,8 °C is under the protocol's 38


async def test_a_queued_answer_sent_twice_is_one_check_in(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, admin)
    await sign_in(client, gateway)
    form = await client.get("/app/report")
    queued = {
        "questionnaire": "symptoms",
        "symptom": "cough",
        "severity_cough": "mild",
        "client_submission_id": "3f1c2a9e-7d4b-4c1e-9a0f-2b6d8e4c1a77",
        "client_time": "2027-01-13T14:58:12.345Z",
        "csrf_token": csrf_of(form.text),
    }
    assert (await client.post("/app/report", data=queued)).status_code == 200
    clock.advance(hours=2)  # the phone's queue is sent again, much later
    assert (await client.post("/app/report", data=queued)).status_code == 200
    stored = await Checkin.all()
    assert len(stored) == 1 and stored[0].version == 1
    assert '"client_time": "2027-01-13T14:58:12.345Z"' in stored[0].raw_texts[0]
    assert stored[0].submitted_at.isoformat().startswith("2027-01-13T15:00")  # the server's
    refused = {**queued, "client_submission_id": "no spaces allowed!", "symptom": "rash"}
    refused["severity_rash"] = "mild"
    assert (await client.post("/app/report", data=refused)).status_code == 200
    assert await Checkin.all().count() == 2  # a malformed id is ignored, not trusted


async def test_a_correction_asks_for_a_reason_and_adds_a_version(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await sign_in(client, gateway)
    form = await client.get("/app/report")
    token = csrf_of(form.text)
    sent = {"questionnaire": "symptoms", "symptom": "cough", "severity_cough": "mild"}
    await client.post("/app/report", data={**sent, "csrf_token": token})
    history = await client.get("/app/history")
    assert "Lo que he enviado" in history.text and "Tos · Leve" in history.text
    link = re.search(r'href="(/app/report\?correct=[^"]+)"', history.text)
    assert link
    correcting = await client.get(link.group(1))
    assert 'name="reason"' in correcting.text and 'value="cough" checked' in correcting.text
    key = (await Checkin.get()).checkin_key
    fixed = {**sent, "severity_cough": "severe", "correct": key, "csrf_token": token}
    without = await client.post("/app/report", data={**fixed, "reason": "  "})
    assert without.status_code == 400 and "Cuéntanos por qué" in without.text
    assert await Checkin.all().count() == 1
    done = await client.post("/app/report", data={**fixed, "reason": "era tos fuerte"})
    assert done.status_code == 200
    versions = await Checkin.filter(checkin_key=key).order_by("version")
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].answers["symptoms"][0]["severity"] == "severe"
    assert versions[1].channel == "web"
    entry = await AuditEntry.filter(action="checkin.submit").order_by("-id").first()
    assert entry is not None and entry.reason == "corrected by the participant: era tos fuerte"
    page = (await client.get("/app/history")).text
    assert "Corregida (versión 2)" in page and "Versiones anteriores" in page
    assert (await client.get("/app/report?correct=report:symptoms:nobody")).status_code == 200
    nobody = await client.post("/app/report", data={**fixed, "correct": "report:x", "reason": "r"})
    assert nobody.status_code == 404


async def test_a_nul_character_is_refused_naming_the_field(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await sign_in(client, gateway)
    form = await client.get("/app/report")
    token = csrf_of(form.text)
    sent = {"questionnaire": "symptoms", "symptom": "cough", "severity_cough": "mild"}
    await client.post("/app/report", data={**sent, "csrf_token": token})
    key = (await Checkin.get()).checkin_key
    refused = await client.post(
        "/app/report", data={**sent, "correct": key, "reason": "a\x00b", "csrf_token": token}
    )
    assert refused.status_code == 400
    assert await Checkin.all().count() == 1
