"""The mobile API: one-time codes, token isolation, /me, app check-ins, preferences."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise import Tortoise

from service.actions.access import OTP_BODY_PLACEHOLDER, purge_stale_codes
from service.actions.outbox import dispatch_due
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.access_models import OneTimeCode, ParticipantSession
from service.db.models import Alert, AuditEntry, Checkin, OutboundMessage, Participant
from service.ports import ManualClock, ProviderReceipt, SmsFailure, SmsSendError
from tests.support.helpers import Client, enrollment, staff_headers

MOBILE = "/api/v1/mobile"
PHONE_A = "+56961234567"
PHONE_B = "+56961234568"
SANTIAGO = ZoneInfo("America/Santiago")


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


async def enrol(client: Client, admin: dict[str, str], **overrides: Any) -> None:
    response = await client.post(
        "/api/v1/participants", json=enrollment(**overrides), headers=admin
    )
    assert response.status_code == 201, response.text


async def request_code(client: Client, phone: str) -> Any:
    return await client.post(f"{MOBILE}/auth/request-code", json={"phone": phone})


def last_code(gateway: ConsoleSmsGateway, to: str) -> str:
    body = next(m.body for m in reversed(gateway.sent) if m.to == to)
    match = re.search(r"\b(\d{6})\b", body)
    assert match, "no 6-digit code in the SMS"
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def verify(client: Client, phone: str, code: str) -> Any:
    return await client.post(f"{MOBILE}/auth/verify", json={"phone": phone, "code": code})


async def sign_in(client: Client, gateway: ConsoleSmsGateway, phone: str) -> dict[str, str]:
    assert (await request_code(client, phone)).status_code == 202
    response = await verify(client, phone, last_code(gateway, phone))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def table_counts() -> dict[str, int]:
    models = Tortoise.apps["followup"].values()
    return {model._meta.db_table: await model.all().count() for model in models}


async def every_stored_value() -> str:
    """All values of every column of every table, as one string to search."""
    parts: list[str] = []
    for model in Tortoise.apps["followup"].values():
        for row in await model.all().values():
            parts.extend(f"{k}={v!r}" for k, v in row.items())
    return "\n".join(parts)


# ---------------------------------------------------------------- one-time codes


def same_headers(response: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.items() if k != "x-request-id"]


async def test_request_code_answers_alike_and_texts_only_eligible_participants(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)  # PHONE_A, national form in the request
    await enrol(client, admin, study_id="MSC-002", phone=PHONE_B)
    await enrol(client, admin, study_id="MSC-003", phone="+56961234569")
    await enrol(client, admin, study_id="MSC-004", phone="+56961234570", sms_consent=False)
    await client.post("/api/v1/participants/MSC-002/withdraw", json={}, headers=admin)
    await Participant.filter(study_id="MSC-003").update(opted_out=True)
    sent_before = len(gateway.sent)

    numbers = [
        "9 6123 4567",  # MSC-001 in national form: the only one that gets a code
        PHONE_B,  # withdrawn
        "+56961234569",  # opted out
        "+56961234570",  # no SMS consent
        "+56961239999",  # nobody
        "not a number",
    ]
    responses = [await request_code(client, n) for n in numbers]
    assert {r.status_code for r in responses} == {202}
    assert len({r.text for r in responses}) == 1
    # Every response carries its own request id; everything else is alike.
    assert len({tuple(sorted(same_headers(r))) for r in responses}) == 1

    texts = gateway.sent[sent_before:]
    assert [m.to for m in texts] == [PHONE_A]
    assert re.search(r"\b\d{6}\b", texts[0].body)
    assert texts[0].validity_period_s == 600
    row = await OutboundMessage.get(kind="otp")
    assert row.body == OTP_BODY_PLACEHOLDER and row.params == {}
    assert row.status == "delivered" and row.provider_id == texts[0].provider_id  # console
    assert row.message_key == "otp.code" and row.to_phone is None
    # Every request left a code row (so verify behaves alike), none holds a phone.
    assert await OneTimeCode.all().count() == len(numbers)
    assert "+5696" not in str(await OneTimeCode.all().values())
    assert last_code(gateway, PHONE_A) not in await every_stored_value()
    entries = await AuditEntry.filter(action="mobile.code_request").order_by("id")
    assert [e.changes["outcome"] for e in entries] == ["sent"] + ["not_eligible"] * 5
    assert all("+569" not in str(e.changes) for e in entries)


async def test_code_is_hashed_at_rest_and_never_logged(
    client: Client,
    admin: dict[str, str],
    gateway: ConsoleSmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await enrol(client, admin)
    caplog.set_level(logging.DEBUG)
    await request_code(client, PHONE_A)
    code = last_code(gateway, PHONE_A)
    await verify(client, PHONE_A, wrong(code))
    assert code not in await every_stored_value()
    row = await OneTimeCode.get()
    assert len(row.code_hash) == 64 and row.phone != PHONE_A
    # Our own lines at any level, everybody's at INFO and above (DEBUG SQL echoes phones).
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("service") or r.levelno >= logging.INFO
    ]
    assert not [line for line in lines if code in line or PHONE_A in line]
    assert (await verify(client, PHONE_A, code)).status_code == 200
    assert code not in await every_stored_value()
    token = await ParticipantSession.get(participant__study_id="MSC-001")
    assert len(token.token_hash) == 64 and len(token.phone_hash) == 64


async def test_code_signs_in_once(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await request_code(client, PHONE_A)
    code = last_code(gateway, PHONE_A)
    first = await verify(client, "9 6123 4567", code)  # same number, national form
    assert first.status_code == 200, first.text
    me = await client.get(
        f"{MOBILE}/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert me.json()["study_id"] == "MSC-001"
    again = await verify(client, PHONE_A, code)
    assert again.status_code == 400
    assert again.json()["extra"][0]["key"] == "code"
    assert (await OneTimeCode.get()).used_at is not None
    outcomes = [e.changes["outcome"] for e in await AuditEntry.filter(action="mobile.code_verify")]
    assert outcomes == ["ok"]  # the refused second try changed nothing: not audited


async def test_code_expires_after_ten_minutes(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, admin)
    await request_code(client, PHONE_A)
    clock.advance(minutes=10)
    late = await verify(client, PHONE_A, last_code(gateway, PHONE_A))
    assert late.status_code == 400 and late.json()["extra"][0]["key"] == "code"
    assert late.json()["code"] == "code_expired"
    assert late.json()["detail"] == "Ese código venció. Pide uno nuevo."  # Spanish by default

    clock.advance(minutes=1)
    await request_code(client, PHONE_A)
    clock.advance(minutes=9, seconds=59)
    assert (await verify(client, PHONE_A, last_code(gateway, PHONE_A))).status_code == 200


async def test_five_attempts_then_the_code_is_dead(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await request_code(client, PHONE_A)
    code = last_code(gateway, PHONE_A)
    for attempt in range(1, 6):
        response = await verify(client, PHONE_A, wrong(code))
        assert response.status_code == 400
        assert response.json()["extra"][0]["key"] == "code"
        assert response.json()["code"] == ("code_wrong" if attempt < 5 else "too_many_attempts")
        assert (await OneTimeCode.get()).attempts == attempt
    dead = await verify(client, PHONE_A, code)
    assert dead.status_code == 400 and dead.json()["code"] == "too_many_attempts"
    assert not await ParticipantSession.exists()
    malformed = await verify(client, PHONE_A, "12ab")
    assert malformed.status_code == 400 and malformed.json()["extra"][0]["key"] == "code"
    assert malformed.json()["code"] == "code_format"


async def test_unknown_number_fails_verify_exactly_like_a_wrong_code(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    unknown = "+56961239999"
    await request_code(client, PHONE_A)
    await request_code(client, unknown)
    code = last_code(gateway, PHONE_A)
    for _ in range(5):
        known_answer = await verify(client, PHONE_A, wrong(code))
        unknown_answer = await verify(client, unknown, wrong(code))
        assert known_answer.status_code == unknown_answer.status_code == 400
        assert known_answer.json() == unknown_answer.json()
    no_code_at_all = await verify(client, "+56961238888", code)
    assert no_code_at_all.status_code == 400


async def test_new_code_retires_the_old_one(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, admin)
    await request_code(client, PHONE_A)
    old = last_code(gateway, PHONE_A)
    clock.advance(seconds=61)
    await request_code(client, PHONE_A)
    new = last_code(gateway, PHONE_A)
    if new != old:  # one chance in a million they coincide
        assert (await verify(client, PHONE_A, old)).status_code == 400
    assert (await verify(client, PHONE_A, new)).status_code == 200


async def test_resend_is_rate_limited_per_phone(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, admin)

    async def texts_after_request() -> int:
        response = await request_code(client, PHONE_A)
        assert response.status_code == 202
        return sum(1 for m in gateway.sent if m.to == PHONE_A)

    assert await texts_after_request() == 1
    assert await texts_after_request() == 1  # within 60 s: refused, silently
    for expected in (2, 3, 4, 5):
        clock.advance(seconds=61)
        assert await texts_after_request() == expected
    clock.advance(seconds=61)
    assert await texts_after_request() == 5  # sixth in the hour: refused
    # A refused request changed nothing: the code sent before it still works.
    assert (await verify(client, PHONE_A, last_code(gateway, PHONE_A))).status_code == 200
    clock.advance(minutes=60)
    assert await texts_after_request() == 6
    assert (await verify(client, PHONE_A, last_code(gateway, PHONE_A))).status_code == 200
    # Refused requests wrote nothing: one audit entry per code actually sent.
    assert await AuditEntry.filter(action="mobile.code_request").count() == 6


async def test_requests_are_rate_limited_per_address(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, admin)
    for n in range(20):  # twenty strangers' numbers from one client address
        assert (await request_code(client, f"+569612350{n:02d}")).status_code == 202
    assert (await request_code(client, PHONE_A)).status_code == 202
    assert gateway.sent == []
    clock.advance(minutes=61)
    await request_code(client, PHONE_A)
    assert [m.to for m in gateway.sent] == [PHONE_A]


async def test_failed_send_is_recorded_not_raised(
    client: Client,
    admin: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Refusing(ConsoleSmsGateway):
        async def send(self, to: str, body: str, **_: Any) -> ProviderReceipt:
            raise SmsSendError(
                f"cannot route to {to}: {body}", code=21612, failure=SmsFailure.INVALID_NUMBER
            )

    await enrol(client, admin)
    client.app.state.runtime = dataclasses.replace(client.app.state.runtime, gateway=Refusing())
    caplog.set_level(logging.INFO)
    response = await request_code(client, PHONE_A)
    assert response.status_code == 202
    row = await OutboundMessage.get(kind="otp")
    assert row.status == "failed" and row.error_code == 21612
    assert PHONE_A not in (row.error_detail or "")
    assert re.search(r"\b\d{6}\b", row.error_detail or "") is None
    assert "failed" in caplog.text and PHONE_A not in caplog.text


async def test_stale_code_rows_are_purged(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    await enrol(client, admin)
    await request_code(client, PHONE_A)
    await request_code(client, "+56961239999")
    rt = client.app.state.runtime
    assert await purge_stale_codes(rt) == 0
    clock.advance(hours=25)
    await request_code(client, PHONE_A)
    assert await purge_stale_codes(rt) == 2
    assert await OneTimeCode.all().count() == 1


# ---------------------------------------------------------------- isolation


async def test_a_token_opens_only_its_owner(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    await enrol(client, admin, study_id="MSC-002", site="HBLT", phone=PHONE_B, language="en")
    a = await sign_in(client, gateway, PHONE_A)
    b = await sign_in(client, gateway, PHONE_B)

    me_a = (await client.get(f"{MOBILE}/me", headers=a)).json()
    me_b = (await client.get(f"{MOBILE}/me", headers=b)).json()
    assert me_a["study_id"] == "MSC-001" and me_a["site"] == "CUA"
    assert me_b["study_id"] == "MSC-002" and me_b["language"] == "en"
    assert "arm" not in me_a and "phone" not in me_a
    assert me_a["help_line"] and me_a["site_name"]
    cal_a = (await client.get(f"{MOBILE}/me/calendar", headers=a)).json()
    cal_b = (await client.get(f"{MOBILE}/me/calendar", headers=b)).json()
    assert cal_a["study_id"] == "MSC-001" and cal_b["study_id"] == "MSC-002"

    # Staff routes refuse a participant token, whichever study id is asked for.
    for path in (
        "/api/v1/participants",
        "/api/v1/participants/MSC-001",
        "/api/v1/participants/MSC-002",
        "/api/v1/participants/MSC-002/calendar",
        "/api/v1/participants/MSC-002/calendar.ics",
        "/api/v1/participants/MSC-002/messages",
        "/api/v1/participants/MSC-002/checkins",
        "/api/v1/sites",
        "/api/v1/alerts",
    ):
        response = await client.get(path, headers=a)
        assert response.status_code == 403, path
        assert "MSC-002" not in response.text
    writes = [
        await client.patch("/api/v1/participants/MSC-002", json={"paused": True}, headers=a),
        await client.post("/api/v1/participants/MSC-002/withdraw", json={}, headers=a),
        await client.post("/api/v1/alerts/1/acknowledge", json={"note": "x"}, headers=a),
    ]
    assert [w.status_code for w in writes] == [403, 403, 403]
    assert (await Participant.get(study_id="MSC-002")).status == "active"
    # The mobile routes refuse staff tokens and anonymous callers.
    assert (await client.get(f"{MOBILE}/me", headers=admin)).status_code == 403
    assert (await client.get(f"{MOBILE}/me")).status_code == 401
    assert (await client.get(f"{MOBILE}/me/MSC-002")).status_code == 404

    # A's preference change touches A alone.
    put = await client.put(
        f"{MOBILE}/me/preferences",
        json={"language": "en", "preferred_time": "15:30", "paused": True},
        headers=a,
    )
    assert put.status_code == 200, put.text
    b_row = await Participant.get(study_id="MSC-002")
    assert (b_row.preferred_time, b_row.paused) == (None, False)


# ---------------------------------------------------------------- preferences


async def test_preferences_update_replans_reminders(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin, baseline_infusion_date="2027-01-20")
    headers = await sign_in(client, gateway, PHONE_A)
    got = (await client.get(f"{MOBILE}/me/preferences", headers=headers)).json()
    statement = got.pop("whatsapp_opt_in_text")
    assert got == {
        "language": "es",
        "preferred_time": None,
        "paused": False,
        "channel": "sms",
        "whatsapp_opt_in_at": None,
    }
    assert "WhatsApp" in statement and "Universidad de los Andes" in statement

    def local_times(rows: list[OutboundMessage]) -> set[str]:
        # What the daily budget moved is not at the preferred time, by design.
        unmoved = [r for r in rows if "budget" not in r.params]
        return {r.send_at.astimezone(SANTIAGO).strftime("%H:%M") for r in unmoved}

    query = OutboundMessage.filter(
        participant__study_id="MSC-001",
        status="planned",
        message_key="reminder.clinic.week_before",
    )
    assert local_times(await query) == {"10:00"}
    put = await client.put(
        f"{MOBILE}/me/preferences",
        json={"language": "en", "preferred_time": "15:30", "paused": False},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["preferred_time"] == "15:30" and put.json()["language"] == "en"
    moved = await query
    assert moved and local_times(moved) == {"15:30"}
    assert {r.language for r in moved} == {"en"}
    entry = await AuditEntry.get(action="participant.preferences")
    assert entry.actor == "participant:MSC-001"
    assert entry.changes["preferred_time"] == [None, "15:30"]
    assert await AuditEntry.filter(action="messages.replan", actor="participant:MSC-001").exists()

    paused = await client.put(
        f"{MOBILE}/me/preferences",
        json={"language": "en", "preferred_time": "15:30", "paused": True},
        headers=headers,
    )
    assert paused.status_code == 200
    assert not await OutboundMessage.filter(
        participant__study_id="MSC-001", status="planned"
    ).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "fr", "preferred_time": None, "paused": False}, "language"),
        ({"language": "es", "preferred_time": "25:00", "paused": False}, "preferred_time"),
        ({"language": "es", "preferred_time": None}, "paused"),
        ({"language": "es", "preferred_time": None, "paused": False, "phone": "+1"}, "phone"),
    ],
)
async def test_bad_preferences_name_the_field_and_change_nothing(
    client: Client,
    admin: dict[str, str],
    gateway: ConsoleSmsGateway,
    body: dict[str, Any],
    field: str,
) -> None:
    await enrol(client, admin)
    headers = await sign_in(client, gateway, PHONE_A)
    before = await table_counts()
    response = await client.put(f"{MOBILE}/me/preferences", json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert await table_counts() == before
    row = await Participant.get(study_id="MSC-001")
    assert (row.language, row.preferred_time, row.paused) == ("es", None, False)


async def test_unknown_fields_are_refused_and_change_nothing(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin)
    headers = await sign_in(client, gateway, PHONE_A)
    sent = len(gateway.sent)
    before = await table_counts()
    refused = [
        await client.post(
            f"{MOBILE}/auth/request-code", json={"phone": PHONE_A, "treatment_arm": "A"}
        ),
        await client.post(
            f"{MOBILE}/auth/verify", json={"phone": PHONE_A, "code": "123456", "study_id": "x"}
        ),
        await client.post(
            f"{MOBILE}/me/checkins/symptoms",
            json={"checkin_key": "k", "symptoms": [], "kit": "K-1"},
            headers=headers,
        ),
        await client.post(
            f"{MOBILE}/me/checkins/pregnancy",
            json={"checkin_key": "k", "pregnant": False, "dose": 2},
            headers=headers,
        ),
    ]
    names = ["treatment_arm", "study_id", "kit", "dose"]
    for response, name in zip(refused, names, strict=True):
        assert response.status_code == 400, response.text
        assert name in response.text
    assert await table_counts() == before
    assert len(gateway.sent) == sent


# ---------------------------------------------------------------- check-ins

WEEKLY_KEY = "checkin:symptoms_weekly:2027-01-13"
PREGNANCY_KEY = "checkin:pregnancy_monthly:2027-01-13"


async def symptoms(client: Client, headers: dict[str, str], key: str, items: list[Any]) -> Any:
    return await client.post(
        f"{MOBILE}/me/checkins/symptoms",
        json={"checkin_key": key, "symptoms": items},
        headers=headers,
    )


async def test_weekly_checkin_becomes_due_when_its_prompt_time_passes(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 1, 13, 11, 0, tzinfo=UTC))  # 08:00 in Santiago
    await enrol(client, admin, baseline_infusion_date="2027-01-06", can_become_pregnant=False)
    headers = await sign_in(client, gateway, PHONE_A)
    before = (await client.get(f"{MOBILE}/me/checkins", headers=headers)).json()
    assert before == {"due": [], "submitted": []}

    clock.set(datetime(2027, 1, 13, 13, 1, tzinfo=UTC))  # past 10:00 local, the prompt's time
    due = (await client.get(f"{MOBILE}/me/checkins", headers=headers)).json()["due"]
    assert [d["checkin_key"] for d in due] == [WEEKLY_KEY]
    assert due[0]["questionnaire"] == "symptoms"
    assert due[0]["due_at"].startswith("2027-01-13T13:00")
    assert due[0]["expires_at"].startswith("2027-01-15T13:00")

    none = await symptoms(client, headers, WEEKLY_KEY, [])
    assert none.status_code == 201, none.text
    body = none.json()
    assert body["checkin"]["answers"] == {"symptoms": []}
    assert body["checkin"]["channel"] == "app" and body["checkin"]["late"] is False
    assert body["alert_raised"] is False and body["advice"] is None
    after = (await client.get(f"{MOBILE}/me/checkins", headers=headers)).json()
    assert after["due"] == []
    assert [c["checkin_key"] for c in after["submitted"]] == [WEEKLY_KEY]
    assert await Alert.all().count() == 0


async def test_severe_symptom_from_the_app_alerts_and_advises(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin, baseline_infusion_date="2027-01-06")
    headers = await sign_in(client, gateway, PHONE_A)
    items = [
        {"code": "fever", "severity": "moderate", "temperature_c": 37.2},
        {"code": "nausea_vomiting", "severity": "severe"},
    ]
    response = await symptoms(client, headers, WEEKLY_KEY, items)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["alert_raised"] is True
    assert body["advice_key"] == "safety.contact_team"
    assert client.app.state.runtime.protocol.site("CUA").help_line in body["advice"]
    assert "{" not in body["advice"]  # every placeholder filled (help line, site)
    assert body["checkin"]["answers"]["symptoms"][1] == {
        "code": "nausea_vomiting",
        "severity": "severe",
        "temperature_c": None,
    }
    row = await Checkin.get(checkin_key=WEEKLY_KEY)
    assert row.channel == "app" and row.version == 1 and not row.late
    assert row.raw_texts and '"nausea_vomiting"' in row.raw_texts[0]
    alert = await Alert.get()
    assert alert.checkin_id == row.id  # type: ignore[attr-defined]  # FK id attr
    assert await Alert.all().count() == 1

    again = await symptoms(client, headers, WEEKLY_KEY, items)  # an app retry
    assert again.status_code == 201 and again.json()["checkin"]["version"] == 1
    assert await Alert.all().count() == 1 and await Checkin.all().count() == 1
    corrected = await symptoms(client, headers, WEEKLY_KEY, items[:1])
    assert corrected.json()["checkin"]["version"] == 2
    assert corrected.json()["alert_raised"] is False


async def test_emergency_symptom_advises_calling_131(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin, baseline_infusion_date="2027-01-06")
    headers = await sign_in(client, gateway, PHONE_A)
    response = await symptoms(
        client, headers, WEEKLY_KEY, [{"code": "chest_pain", "severity": "mild"}]
    )
    assert response.status_code == 201, response.text
    assert response.json()["advice_key"] == "safety.emergency"
    assert "131" in response.json()["advice"]
    assert (await Alert.get()).emergency is True


async def test_pregnancy_yes_from_the_app_alerts(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin, baseline_infusion_date="2026-12-13")
    headers = await sign_in(client, gateway, PHONE_A)
    due = (await client.get(f"{MOBILE}/me/checkins", headers=headers)).json()["due"]
    assert PREGNANCY_KEY in [d["checkin_key"] for d in due]
    wrong_route = await symptoms(client, headers, PREGNANCY_KEY, [])
    assert wrong_route.status_code == 400 and "checkin_key" in wrong_route.text
    response = await client.post(
        f"{MOBILE}/me/checkins/pregnancy",
        json={"checkin_key": PREGNANCY_KEY, "pregnant": True},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["checkin"]["answers"] == {"pregnant": True}
    assert response.json()["alert_raised"] is True
    assert response.json()["advice_key"] == "safety.contact_team"
    assert await Alert.filter(participant__study_id="MSC-001").count() == 1


async def test_late_answer_is_taken_and_flagged(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, admin, baseline_infusion_date="2027-01-06")
    clock.advance(days=3)  # the weekly prompt expired a day ago
    headers = await sign_in(client, gateway, PHONE_A)
    due = (await client.get(f"{MOBILE}/me/checkins", headers=headers)).json()["due"]
    assert WEEKLY_KEY not in [d["checkin_key"] for d in due]
    response = await symptoms(client, headers, WEEKLY_KEY, [])
    assert response.status_code == 201, response.text
    assert response.json()["checkin"]["late"] is True
    clock.advance(days=8)  # beyond the late window
    headers = await sign_in(client, gateway, PHONE_A)
    too_late = await symptoms(client, headers, WEEKLY_KEY, [])
    assert too_late.status_code == 404


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"code": "headache", "severity": "mild"}], "symptoms[0]"),
        ([{"code": "fever", "severity": "awful"}], "severity"),
        ([{"code": "fever", "severity": "mild", "temperature_c": 45}], "temperature_c"),
        ([{"code": "cough", "severity": "mild", "temperature_c": 38}], "temperature_c"),
        ([{"code": "cough", "severity": "mild"}, {"code": "cough", "severity": "severe"}], "[1]"),
        ([{"code": "cough"}], "severity"),
    ],
)
async def test_bad_symptoms_name_the_field_and_change_nothing(
    client: Client,
    admin: dict[str, str],
    gateway: ConsoleSmsGateway,
    items: list[Any],
    field: str,
) -> None:
    await enrol(client, admin, baseline_infusion_date="2027-01-06")
    headers = await sign_in(client, gateway, PHONE_A)
    before = await table_counts()
    response = await symptoms(client, headers, WEEKLY_KEY, items)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert await table_counts() == before


async def test_a_token_cannot_read_or_write_another_participants_checkins(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, admin, baseline_infusion_date="2027-01-06")
    await enrol(
        client, admin, study_id="MSC-002", phone=PHONE_B, baseline_infusion_date="2027-01-05"
    )
    a = await sign_in(client, gateway, PHONE_A)
    b = await sign_in(client, gateway, PHONE_B)
    b_due = (await client.get(f"{MOBILE}/me/checkins", headers=b)).json()["due"]
    b_key = b_due[0]["checkin_key"]
    assert b_key != WEEKLY_KEY
    assert (
        await symptoms(client, b, b_key, [{"code": "rash", "severity": "mild"}])
    ).status_code == 201

    before = await table_counts()
    stolen = await symptoms(client, a, b_key, [{"code": "chest_pain", "severity": "severe"}])
    assert stolen.status_code == 404
    assert await table_counts() == before
    a_view = (await client.get(f"{MOBILE}/me/checkins", headers=a)).json()
    assert a_view["submitted"] == []
    assert b_key not in [d["checkin_key"] for d in a_view["due"]]
    assert "MSC-002" not in str(a_view)
    unknown = await symptoms(client, a, "checkin:symptoms_weekly:1999-01-01", [])
    assert unknown.status_code == 404


async def test_paused_participant_still_answers_in_the_app_but_gets_no_sms(
    client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 1, 13, 11, 0, tzinfo=UTC))  # 08:00 in Santiago
    await enrol(client, admin, baseline_infusion_date="2027-01-06", can_become_pregnant=False)
    headers = await sign_in(client, gateway, PHONE_A)
    put = await client.put(
        f"{MOBILE}/me/preferences",
        json={"language": "es", "preferred_time": None, "paused": True},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert await OutboundMessage.filter(status="planned").count() == 0
    sent_before = len(gateway.sent)

    clock.set(datetime(2027, 1, 13, 13, 1, tzinfo=UTC))  # the weekly prompt's time
    await dispatch_due(client.app.state.runtime)
    assert len(gateway.sent) == sent_before  # paused: nothing by SMS
    due = (await client.get(f"{MOBILE}/me/checkins", headers=headers)).json()["due"]
    assert [d["checkin_key"] for d in due] == [WEEKLY_KEY]  # but the app still asks
