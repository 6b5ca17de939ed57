"""A red flag alerts once, at once, whatever says it, and what is not one says why.

The dialogue: an emergency picked among other symptoms ("1 4") alerts and advises
before its severity is asked; an abandoned dialogue keeps its alert; answers given
later refine that alert, never a second one. Repeats: the same red flag texted again,
or reported in the app, raises nothing new; a new red flag does. The queue: a red
flag about someone else, asked about, negated or unclear, and a late answer, each
reach the coordinators with their own reason. All through the signed webhook.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import Alert, AuditEntry, Checkin, InboxItem, OutboundMessage
from service.ports import ManualClock
from tests.integration.access.test_mobile_api import MOBILE, sign_in
from tests.support.helpers import Client, staff_headers
from tests.support.inbound_support import (
    PHONE,
    enrol,
    say,
    settings,
    texts,
    weekly,
)

__all__ = ["settings", "weekly"]  # fixtures, imported for pytest to find

ONCALL = "+56961234501"
EMERGENCY = "Llama ahora al 131"  # safety.emergency, not the "if urgent" of an acknowledgement
RECEIVED = "Recibimos tu mensaje"  # inbound.received


async def on_call(client: Client) -> None:
    admin = await staff_headers(client, "sites@uandes.cl", "admin")
    response = await client.put(
        "/api/v1/sites/CUA/on-call", json={"primary": ONCALL}, headers=admin
    )
    assert response.status_code == 200, response.text


def to(gateway: ConsoleSmsGateway, phone: str) -> list[str]:
    return [m.body for m in gateway.sent if m.to == phone]


async def finding_codes() -> list[set[str]]:
    return [{str(f["code"]) for f in a.findings} for a in await Alert.all().order_by("id")]


@pytest.fixture
async def dialogue(weekly: Client) -> Client:
    """The weekly check-in prompt is out; the site has an on-call phone."""
    await on_call(weekly)
    return weekly


# ---- the dialogue ------------------------------------------------------------------


async def test_an_emergency_picked_among_others_alerts_at_once(
    dialogue: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(dialogue, "1 4")  # fever and chest pain; nothing rated yet
    alert = await Alert.get()
    assert alert.emergency and {f["code"] for f in alert.findings} == {"red_flag:chest_pain"}
    assert len(to(gateway, ONCALL)) == 1
    replies = to(gateway, PHONE)
    advice = next(i for i, t in enumerate(replies) if EMERGENCY in t)
    question = next(i for i, t in enumerate(replies) if "Fiebre" in t and "leve" in t)
    assert advice < question  # "call 131" comes before "how bad was the fever?"
    partial = await Checkin.get()
    assert not partial.complete and partial.raw_texts == ["1 4"]
    assert [s["code"] for s in partial.answers["symptoms"]] == ["fever", "chest_pain"]


async def test_an_abandoned_dialogue_keeps_its_alert(
    dialogue: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await say(dialogue, "4")  # chest pain, then silence
    clock.advance(hours=72)  # the check-in's 48 hours are long over
    await say(dialogue, "2", deliver=False)  # a late severity: kept, flagged, for people
    assert await Alert.all().count() == 1
    versions = await Checkin.all().order_by("version")
    assert [v.complete for v in versions] == [False, False]
    assert versions[-1].late and versions[-1].raw_texts == ["4", "2"]
    assert versions[-1].answers["symptoms"][0]["code"] == "chest_pain"
    assert await InboxItem.filter(reason="late_answer").count() == 1
    assert len(to(gateway, ONCALL)) == 1


async def test_answers_after_the_alert_refine_it_without_a_second_alert(
    dialogue: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(dialogue, "1 4")
    await say(dialogue, "2")  # fever: moderate
    await say(dialogue, "38,5")  # a fever over the threshold: one more finding
    await say(dialogue, "3")  # chest pain: severe
    assert await Alert.all().count() == 1
    alert = await Alert.get()
    by_code = {f["code"]: f["params"] for f in alert.findings}
    assert set(by_code) == {"fever", "red_flag:chest_pain"}
    assert by_code["red_flag:chest_pain"]["severity"] == "severe"
    assert by_code["fever"]["temperature_c"] == "38.5"
    final = await Checkin.all().order_by("-version").first()
    assert final is not None and final.complete and alert.checkin_id == final.id
    assert len(to(gateway, ONCALL)) == 1
    assert sum(EMERGENCY in t for t in to(gateway, PHONE)) == 1
    assert await AuditEntry.filter(action="alert.refine").count() >= 1


# ---- repeats, by SMS and by the app ---------------------------------------------------


async def test_a_red_flag_repeated_by_sms_and_the_app_alerts_once(
    client: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, baseline_infusion_date="2027-01-06")
    await on_call(client)
    await say(client, "me duele mucho el pecho")
    clock.advance(minutes=10)
    await say(client, "sigo con dolor de pecho, me duele harto")
    headers = await sign_in(client, gateway, PHONE)
    report: dict[str, Any] = {"symptoms": [{"code": "chest_pain", "severity": "moderate"}]}
    response = await client.post(f"{MOBILE}/me/checkins/symptoms", json=report, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["alert_raised"] is False and response.json()["advice"]
    assert await finding_codes() == [{"red_flag:chest_pain"}]
    assert await Checkin.all().count() == 3  # every report is kept
    assert sum(EMERGENCY in t for t in to(gateway, PHONE)) == 1
    assert sum(RECEIVED in t for t in to(gateway, PHONE)) == 1  # the repeat: acknowledged
    clock.advance(minutes=10)
    await say(client, "y ahora tengo 39 de fiebre")  # something new: its own alert
    assert await finding_codes() == [{"red_flag:chest_pain"}, {"fever"}]
    assert len(to(gateway, ONCALL)) == 2


async def test_the_same_red_flag_the_next_day_is_news(
    client: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, baseline_infusion_date="2027-01-06")
    await say(client, "estoy embarazada")
    clock.advance(hours=11)
    await say(client, "estoy embarazada, de verdad")  # within the 12 hours: a repeat
    clock.advance(hours=13)
    await say(client, "estoy embarazada, la matrona lo confirmo")
    assert await Alert.all().count() == 2


# ---- what reaches the queue, and why -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("mi papa esta con dolor de pecho", "someone_else"),
        ("si me da fiebre de 38 tengo que ir a urgencia?", "question"),
        ("ya se me paso el dolor de pecho", "negated"),
        ("el test de embarazo salio negativo", "negated"),
        ("tengo fiebre", "red_flag_unclear"),
        ("tengo 37,5", "below_threshold"),
        ("¿a qué hora es mi control?", "not_understood"),
    ],
)
async def test_what_is_not_an_alert_reaches_the_queue_saying_why(
    client: Client, gateway: ConsoleSmsGateway, text: str, reason: str
) -> None:
    await enrol(client, baseline_infusion_date="2027-01-06")
    await say(client, text)
    assert await Alert.all().count() == 0
    item = await InboxItem.get().prefetch_related("inbound")
    assert item.reason == reason and item.inbound is not None and item.inbound.body == text
    assert any(RECEIVED in t for t in texts(gateway))


async def test_an_answer_long_after_its_prompt_is_a_late_answer(
    weekly: Client, clock: ManualClock
) -> None:
    clock.advance(days=10)  # the prompt's 48 hours and the week of grace are over
    await say(weekly, "1 4", deliver=False)
    assert (await InboxItem.get()).reason == "late_answer"
    assert await Checkin.all().count() == 0
    assert await OutboundMessage.filter(kind="alert").count() == 0
