"""What an app team builds on: error codes on every 4xx, ``expires_in``, the
questionnaire route (from the protocol file), advice texts without the SMS prefix."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import Participant
from service.domain.protocol_loader import load_protocol
from service.ports import ManualClock
from service.web.error_codes import ERROR_CODES
from tests.integration.access.test_mobile_api import MOBILE, PHONE_A, enrol, sign_in
from tests.support.helpers import Client, staff_headers

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


@pytest.fixture
async def headers(client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway) -> Any:
    await enrol(client, admin)
    return await sign_in(client, gateway, PHONE_A)


async def test_token_answers_say_how_long_they_last(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    staff = await client.post(
        "/api/v1/auth/token",
        json={"email": "admin@uandes.cl", "password": "correct-horse-battery"},
    )
    assert staff.json()["expires_in"] == 12 * 3600  # TOKEN_TTL_HOURS
    await client.post(f"{MOBILE}/auth/request-code", json={"phone": PHONE_A})
    sent = next(m.body for m in reversed(gateway.sent) if m.to == PHONE_A)
    code = next(word for word in sent.replace(".", " ").split() if word.isdigit())
    answer = await client.post(f"{MOBILE}/auth/verify", json={"phone": PHONE_A, "code": code})
    assert answer.json()["expires_in"] == 30 * 24 * 3600  # the sliding session's idle limit
    assert answer.json()["token_type"] == "bearer"


async def test_every_error_on_the_mobile_routes_carries_a_listed_code(
    client: Client, admin: dict[str, str], headers: dict[str, str]
) -> None:
    symptoms = f"{MOBILE}/me/checkins/symptoms"
    report = [{"code": "fever", "severity": "mild"}]
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int, str]] = [
        ("get", f"{MOBILE}/me", None, {}, 401, "not_signed_in"),
        ("get", f"{MOBILE}/me", None, admin, 403, "forbidden"),
        ("get", f"{MOBILE}/nowhere", None, headers, 404, "not_found"),
        ("delete", f"{MOBILE}/me", None, headers, 405, "method_not_allowed"),
        ("post", symptoms, {"symptoms": report, "arm": "A"}, headers, 400, "unknown_field"),
        ("post", symptoms, {"symptoms": "fever"}, headers, 400, "invalid_request"),
        (
            "post",
            symptoms,
            {"symptoms": [{"code": "headache", "severity": "mild"}]},
            headers,
            400,
            "unknown_symptom",
        ),
        ("post", symptoms, {"symptoms": report * 2}, headers, 400, "symptom_repeated"),
        (
            "post",
            symptoms,
            {"symptoms": [{"code": "chills", "severity": "mild", "temperature_c": 38.5}]},
            headers,
            400,
            "temperature_not_asked",
        ),
        (
            "post",
            symptoms,
            {"symptoms": report, "checkin_key": "checkin:symptoms_weekly:2020-01-01"},
            headers,
            404,
            "checkin_closed",
        ),
        ("post", f"{MOBILE}/auth/verify", {"phone": PHONE_A, "code": "12"}, {}, 400, "code_format"),
        (
            "post",
            f"{MOBILE}/auth/verify",
            {"phone": "+56961230000", "code": "123456"},
            {},
            400,
            "code_expired",
        ),
    ]
    for method, url, body, sent_headers, status, code in cases:
        response = await client.request(method, url, json=body, headers=sent_headers)
        assert response.status_code == status, (url, response.text)
        answer = response.json()
        assert answer["code"] == code, (url, answer)
        assert code in ERROR_CODES and ERROR_CODES[code].status == status
        assert answer["detail"] and answer["status_code"] == status

    # Worded for the participant: their language once signed in, else Accept-Language.
    await Participant.filter(phone=PHONE_A).update(language="en")
    english = await client.post(
        symptoms, json={"symptoms": [{"code": "headache", "severity": "mild"}]}, headers=headers
    )
    assert english.json()["detail"] == "That symptom is not on the list."
    assert english.json()["extra"][0]["key"] == "symptoms[0]"  # the technical part stays
    spanish = await client.post(f"{MOBILE}/auth/verify", json={"phone": PHONE_A, "code": "1"})
    assert spanish.json()["detail"] == "El código tiene 6 dígitos."
    asked = await client.post(
        f"{MOBILE}/auth/verify",
        json={"phone": PHONE_A, "code": "1"},
        headers={"Accept-Language": "en-GB,en;q=0.8"},
    )
    assert asked.json()["detail"] == "The code has 6 digits."


async def test_the_openapi_document_lists_the_codes(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    verify = document["paths"]["/api/v1/mobile/auth/verify"]["post"]["responses"]["400"]
    schema = verify["content"]["application/json"]["schema"]
    assert {"code_wrong", "code_expired", "too_many_attempts"} <= set(
        schema["properties"]["code"]["enum"]
    )
    assert "code" in schema["required"]
    closed = document["paths"]["/api/v1/mobile/me/checkins/symptoms"]["post"]["responses"]["404"]
    assert "checkin_closed" in closed["description"]
    staff = document["paths"]["/api/v1/participants"]["post"]["responses"]["400"]
    assert "code" not in staff["content"]["application/json"]["schema"]["properties"]


async def test_questionnaires_come_from_the_protocol_in_the_participants_language(
    client: Client, headers: dict[str, str], tmp_path: Path
) -> None:
    answer = (await client.get(f"{MOBILE}/me/questionnaires", headers=headers)).json()
    by_code = {item["code"]: item for item in answer["symptoms"]}
    assert by_code["chest_pain"]["label"] == "Dolor al pecho"
    assert by_code["chest_pain"]["emergency"] and by_code["chest_pain"]["red_flag"]
    assert by_code["fever"]["asks_temperature"] and not by_code["chills"]["asks_temperature"]
    assert [s["code"] for s in answer["severities"]] == ["mild", "moderate", "severe"]
    assert answer["temperature"] == {"threshold_c": 38.0}
    assert answer["pregnancy"] is True
    assert "headache" not in by_code

    # A symptom added to the protocol file appears, with no change to the code.
    study = (REPO / "schedules" / "msc-role.toml").read_text(encoding="utf-8")
    added = tmp_path / "study.toml"
    added.write_text(
        study + '\n[[symptoms]]\nnumber = 14\ncode = "headache"\nlabel_key = "symptom.other"\n',
        encoding="utf-8",
    )
    rt = client.app.state.runtime
    original = rt.protocol
    object.__setattr__(rt, "protocol", load_protocol(added))
    try:
        again = (await client.get(f"{MOBILE}/me/questionnaires", headers=headers)).json()
        accepted = await client.post(
            f"{MOBILE}/me/checkins/symptoms",
            json={"symptoms": [{"code": "headache", "severity": "mild"}]},
            headers=headers,
        )
    finally:
        object.__setattr__(rt, "protocol", original)
    assert [s["code"] for s in again["symptoms"]][-1] == "headache"
    assert accepted.status_code == 201, accepted.text


async def test_advice_is_shown_without_the_sms_prefix(
    client: Client, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{MOBILE}/me/checkins/symptoms",
        json={"symptoms": [{"code": "chest_pain", "severity": "severe"}]},
        headers=headers,
    )
    advice = response.json()["advice"]
    assert response.json()["advice_key"] == "safety.emergency"
    assert not advice.startswith("MSC-ROLE") and "131" in advice
    assert "atención" in advice  # a screen keeps every accent (no GSM-7 folding)


def test_the_error_table_has_a_word_for_every_code() -> None:
    assert all(dataclasses.astuple(item)[1] for item in ERROR_CODES.values())


async def test_a_report_queued_offline_and_sent_twice_is_one_check_in(
    client: Client, headers: dict[str, str], clock: ManualClock
) -> None:
    report = {
        "symptoms": [{"code": "cough", "severity": "mild"}],
        "client_submission_id": "9b2e4f1a-0c3d-4e5f-8a7b-6c5d4e3f2a1b",
    }
    first = await client.post(f"{MOBILE}/me/checkins/symptoms", json=report, headers=headers)
    clock.advance(hours=3)
    again = await client.post(f"{MOBILE}/me/checkins/symptoms", json=report, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["checkin"] == again.json()["checkin"]
    bad = await client.post(
        f"{MOBILE}/me/checkins/symptoms",
        json={**report, "client_submission_id": "x"},
        headers=headers,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
