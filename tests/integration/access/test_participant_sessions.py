"""Participant app sessions: 30 days from last use, ended at once when they must be."""

from __future__ import annotations

from typing import Any

import pytest

from service.actions.access import issue_token
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.access_models import ParticipantSession
from service.db.models import AuditEntry, Participant
from service.ports import ManualClock
from tests.integration.access.test_mobile_api import MOBILE, PHONE_A, enrol, sign_in
from tests.support.helpers import Client, staff_headers
from tests.support.inbound_support import say, settings  # noqa: F401  # a fixture


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


@pytest.fixture
async def app_headers(client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway) -> Any:
    await enrol(client, admin)
    return await sign_in(client, gateway, PHONE_A)


async def me(client: Client, headers: dict[str, str]) -> int:
    return int((await client.get(f"{MOBILE}/me", headers=headers)).status_code)


async def test_a_session_slides_for_30_days_of_use_then_ends_idle(
    client: Client, app_headers: dict[str, str], clock: ManualClock
) -> None:
    for _ in range(4):  # used every 25 days: 100 days later still open, no new code
        clock.advance(days=25)
        assert await me(client, app_headers) == 200
    clock.advance(days=30, seconds=1)
    assert await me(client, app_headers) == 401


async def test_a_session_never_outlives_180_days(
    client: Client, app_headers: dict[str, str], clock: ManualClock
) -> None:
    for _ in range(7):
        clock.advance(days=25)
        assert await me(client, app_headers) == 200
    clock.advance(days=6)  # 181 days after sign-in, used 6 days ago
    assert await me(client, app_headers) == 401


async def test_withdrawal_ends_the_session_at_once(
    client: Client, admin: dict[str, str], app_headers: dict[str, str]
) -> None:
    assert await me(client, app_headers) == 200
    response = await client.post("/api/v1/participants/MSC-001/withdraw", json={}, headers=admin)
    assert response.status_code == 200
    assert await me(client, app_headers) == 401
    row = await ParticipantSession.get()
    assert row.revoked_reason == "withdrawn" and row.revoked_at is not None
    assert await AuditEntry.filter(action="session.revoke").count() == 1


async def test_a_phone_change_ends_the_session_at_once(
    client: Client, admin: dict[str, str], app_headers: dict[str, str]
) -> None:
    response = await client.patch(
        "/api/v1/participants/MSC-001", json={"phone": "+56 9 6123 4999"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert await me(client, app_headers) == 401
    assert (await ParticipantSession.get()).revoked_reason == "phone_change"


async def test_an_sms_opt_out_ends_the_session_at_once(
    client: Client, app_headers: dict[str, str]
) -> None:
    await say(client, "PARAR", phone=PHONE_A)
    assert await me(client, app_headers) == 401


async def test_a_coordinator_can_end_the_sessions_and_a_monitor_cannot(
    client: Client, app_headers: dict[str, str]
) -> None:
    url = "/api/v1/participants/MSC-001/sessions/revoke"
    monitor = await staff_headers(client, "mon@uandes.cl", "monitor")
    assert (await client.post(url, headers=monitor)).status_code == 403
    other_site = await staff_headers(client, "hblt@uandes.cl", "coordinator", ["HBLT"])
    assert (await client.post(url, headers=other_site)).status_code == 404
    assert await me(client, app_headers) == 200
    coordinator = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    response = await client.post(url, headers=coordinator)
    assert response.status_code == 200 and response.json() == {"revoked": 1}
    assert await me(client, app_headers) == 401
    entry = await AuditEntry.get(action="session.revoke")
    assert entry.actor == "staff:coord@uandes.cl"


async def test_the_token_is_stored_hashed_and_a_staff_route_refuses_it(
    client: Client, app_headers: dict[str, str]
) -> None:
    token = app_headers["Authorization"].split()[1]
    row = await ParticipantSession.get()
    assert token not in (row.token_hash, row.phone_hash) and len(row.token_hash) == 64
    assert (await client.get("/api/v1/participants", headers=app_headers)).status_code == 403


async def test_a_participant_token_from_before_sessions_ends_at_withdrawal_too(
    client: Client, admin: dict[str, str]
) -> None:
    await enrol(client, admin)
    participant = await Participant.get(study_id="MSC-001")
    legacy = await issue_token(client.app.state.runtime, participant=participant)
    headers = {"Authorization": f"Bearer {legacy}"}
    assert await me(client, headers) == 200
    await client.post("/api/v1/participants/MSC-001/withdraw", json={}, headers=admin)
    assert await me(client, headers) == 401
