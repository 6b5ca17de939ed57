"""App reports at any time: check-ins posted without ``checkin_key``."""

from __future__ import annotations

from typing import Any

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import Alert, Checkin
from tests.integration.access.test_mobile_api import MOBILE, PHONE_A, enrol, sign_in, table_counts
from tests.support.helpers import Client, staff_headers


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


@pytest.fixture
async def headers(client: Client, admin: dict[str, str], gateway: ConsoleSmsGateway) -> Any:
    await enrol(client, admin)
    return await sign_in(client, gateway, PHONE_A)


async def test_a_pregnancy_reported_unasked_is_stored_and_alerts(
    client: Client, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{MOBILE}/me/checkins/pregnancy", json={"pregnant": True}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["alert_raised"] and body["checkin"]["checkin_key"].startswith("report:pregnancy:")
    assert body["checkin"]["late"] is False and body["advice"]
    assert (await Alert.get()).status == "open"


async def test_an_app_retry_of_the_same_report_is_one_check_in_and_a_new_one_is_another(
    client: Client, headers: dict[str, str]
) -> None:
    report = {"symptoms": [{"code": "chest_pain", "severity": "moderate"}]}
    first = await client.post(f"{MOBILE}/me/checkins/symptoms", json=report, headers=headers)
    retry = await client.post(f"{MOBILE}/me/checkins/symptoms", json=report, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json()["checkin"]["checkin_key"] == retry.json()["checkin"]["checkin_key"]
    assert await Checkin.all().count() == 1
    assert await Alert.all().count() == 1
    other = {"symptoms": [{"code": "nausea_vomiting", "severity": "mild"}]}
    later = await client.post(f"{MOBILE}/me/checkins/symptoms", json=other, headers=headers)
    assert later.status_code == 201
    assert await Checkin.all().count() == 2
    assert await Alert.all().count() == 1  # mild nausea does not alert


async def test_an_unasked_report_is_checked_like_any_other(
    client: Client, headers: dict[str, str]
) -> None:
    before = await table_counts()
    response = await client.post(
        f"{MOBILE}/me/checkins/symptoms",
        json={"symptoms": [{"code": "hair_loss", "severity": "mild"}]},
        headers=headers,
    )
    assert response.status_code == 400 and "symptoms[0]" in response.text
    response = await client.post(
        f"{MOBILE}/me/checkins/symptoms", json={"checkin_key": None, "arm": "A"}, headers=headers
    )
    assert response.status_code == 400 and "arm" in response.text
    assert await table_counts() == before
