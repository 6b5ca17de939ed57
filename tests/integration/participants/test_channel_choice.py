"""Choosing the channel after enrolment: a coordinator by PATCH, the participant from
the app's preferences. WhatsApp is refused without an opt-in on record (400 naming the
field, nothing changed); the opt-in keeps when, how, who and the statement shown."""

from __future__ import annotations

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import AuditEntry, Participant
from service.settings import Settings
from tests.integration.access.test_mobile_api import MOBILE, PHONE_A, sign_in
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.whatsapp_support import whatsapp_settings

URL = "/api/v1/participants/MSC-001"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return whatsapp_settings(database_url)


@pytest.fixture
async def coordinator(client: Client) -> dict[str, str]:
    headers = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    response = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    assert response.status_code == 201, response.text
    return headers


async def test_a_coordinator_switches_to_whatsapp_with_the_opt_in_and_back(
    client: Client, coordinator: dict[str, str]
) -> None:
    refused = await client.patch(URL, json={"channel": "whatsapp"}, headers=coordinator)
    assert refused.status_code == 400 and "whatsapp_opt_in" in refused.text
    assert (await Participant.get()).channel == "sms"

    bad = {"channel": "whatsapp", "whatsapp_opt_in": {"method": "smoke signal"}}
    refused = await client.patch(URL, json=bad, headers=coordinator)
    assert refused.status_code == 400 and "whatsapp_opt_in.method" in refused.text
    future = {
        "channel": "whatsapp",
        "whatsapp_opt_in": {"method": "verbal", "at": "2030-01-01T00:00:00Z"},
    }
    refused = await client.patch(URL, json=future, headers=coordinator)
    assert refused.status_code == 400 and "whatsapp_opt_in.at" in refused.text

    body = {"channel": "whatsapp", "whatsapp_opt_in": {"method": "verbal"}}
    response = await client.patch(URL, json=body, headers=coordinator)
    assert response.status_code == 200, response.text
    opt_in = response.json()["whatsapp_opt_in"]
    assert response.json()["channel"] == "whatsapp"
    assert opt_in["method"] == "verbal" and opt_in["recorded_by"] == "staff:coord@uandes.cl"
    assert opt_in["at"] == "2027-01-13T15:00:00Z" and "BAJA" in opt_in["text"]

    back = await client.patch(URL, json={"channel": "sms"}, headers=coordinator)
    assert back.json()["channel"] == "sms" and back.json()["whatsapp_opt_in"] == opt_in
    again = await client.patch(URL, json={"channel": "whatsapp"}, headers=coordinator)
    assert again.status_code == 200  # the opt-in on record is enough
    changes = [e.changes for e in await AuditEntry.filter(action="participant.update")]
    assert [c["channel"] for c in changes] == [
        ["sms", "whatsapp"],
        ["whatsapp", "sms"],
        ["sms", "whatsapp"],
    ]


async def test_the_participant_chooses_whatsapp_in_the_app(
    client: Client, coordinator: dict[str, str], gateway: ConsoleSmsGateway
) -> None:
    headers = await sign_in(client, gateway, PHONE_A)
    got = (await client.get(f"{MOBILE}/me/preferences", headers=headers)).json()
    assert got["channel"] == "sms" and got["whatsapp_opt_in_at"] is None
    assert got["whatsapp_opt_in_text"].startswith("MSC-ROLE: acepto recibir por WhatsApp")
    keep = {"language": "es", "preferred_time": None, "paused": False}

    refused = await client.put(
        f"{MOBILE}/me/preferences", json={**keep, "channel": "whatsapp"}, headers=headers
    )
    assert refused.status_code == 400 and "whatsapp_opt_in" in refused.text
    response = await client.put(
        f"{MOBILE}/me/preferences",
        json={**keep, "channel": "whatsapp", "whatsapp_opt_in": True},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["channel"] == "whatsapp"
    participant = await Participant.get()
    assert participant.whatsapp_opt_in_method == "app"
    assert participant.whatsapp_opt_in_by == "participant:MSC-001"
    assert participant.whatsapp_opt_in_text == got["whatsapp_opt_in_text"]
    entry = await AuditEntry.get(action="participant.preferences")
    assert entry.changes["channel"] == ["sms", "whatsapp"]
