"""GET /api/v1/participants/{study_id}/messages and `followup reminders preview`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.actions.errors import NotFound
from service.actions.outbox import dispatch_due
from service.actions.views import preview_lines
from service.db.models import InboundMessage, Participant
from service.ports import ManualClock
from tests.support.helpers import Client, enrollment, staff_headers

URL = "/api/v1/participants/MSC-001/messages"


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    headers = await staff_headers(client, "admin@uandes.cl", "admin")
    response = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    assert response.status_code == 201, response.text
    return headers


async def test_planned_messages_show_local_time_text_and_cost(
    client: Client, admin: dict[str, str]
) -> None:
    messages = (await client.get(URL, headers=admin)).json()
    assert messages and all(m["direction"] == "outbound" for m in messages)
    assert [m["send_at"] for m in messages] == sorted(m["send_at"] for m in messages)
    first = messages[0]
    assert first["kind"] == "reminder" and first["status"] == "planned"
    assert first["local_send_at"] == "2027-01-13T12:00:00-03:00"  # caught up at once
    assert first["send_at"] == first["planned_send_at"] == "2027-01-13T15:00:00Z"
    assert first["sent_at"] is None and first["attempts"] == 0
    for message in messages:
        assert message["body"].startswith("MSC-ROLE:")
        assert message["encoding"] in ("GSM-7", "UCS-2") and message["segments"] >= 1
    assert "miércoles 20 de enero" in first["body"]  # Spanish, Babel's long date
    # Cancelled rows are hidden, except what the daily budget dropped (with its note).
    assert all(m["status"] != "cancelled" or m["budget"] for m in messages)


async def test_sent_messages_show_planned_and_actual_send_times(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    clock.advance(hours=2)  # the dispatcher ran two hours late
    await dispatch_due(client.app.state.runtime)
    sent = (await client.get(URL, headers=admin)).json()[0]
    assert sent["status"] == "delivered"  # the console gateway delivers at once
    assert sent["planned_send_at"] == "2027-01-13T15:00:00Z"
    assert sent["sent_at"] == sent["send_at"] == "2027-01-13T17:00:00Z"
    assert sent["local_send_at"] == "2027-01-13T14:00:00-03:00"
    assert sent["attempts"] == 1 and sent["body"].startswith("MSC-ROLE:")


async def test_received_messages_are_listed_too(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    participant = await Participant.get(study_id="MSC-001")
    await InboundMessage.create(
        message_sid="SM" + "1" * 32,
        participant=participant,
        from_phone=participant.phone,
        body="Sí, ahí estaré",
        handling="visit_confirmed",
        received_at=datetime(2027, 1, 13, 14, 0, tzinfo=UTC),
    )
    messages = (await client.get(URL, headers=admin)).json()
    inbound = [m for m in messages if m["direction"] == "inbound"]
    assert inbound == [
        {
            "id": inbound[0]["id"],
            "direction": "inbound",
            "kind": "sms",
            "status": "visit_confirmed",
            "send_at": "2027-01-13T14:00:00Z",
            "local_send_at": "2027-01-13T11:00:00-03:00",
            "planned_send_at": None,
            "sent_at": None,
            "delivered_at": None,
            "message_key": None,
            "body": "Sí, ahí estaré",
            "encoding": None,
            "segments": None,
            "attempts": 0,
            "error_code": None,
            "budget": None,
            "skip_reason": None,
            "channel": "sms",
            "template": None,
            "fallback_reason": None,
            "read": False,
        }
    ]
    assert messages.index(inbound[0]) == 0  # 11:00, before the 12:00 reminder


async def test_messages_are_scoped_to_the_staff_members_sites(
    client: Client, admin: dict[str, str]
) -> None:
    other_site = await staff_headers(client, "ana@hblt.cl", "coordinator", ["HBLT"])
    monitor = await staff_headers(client, "monitor@cro.cl", "monitor")
    assert (await client.get(URL, headers=other_site)).status_code == 404
    assert (await client.get(URL, headers=monitor)).status_code == 200
    assert (await client.get(URL)).status_code == 401


async def test_preview_lists_messages_in_local_time_with_weekday(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    rt = client.app.state.runtime
    clock.advance(minutes=5)
    await dispatch_due(rt)
    lines = await preview_lines(rt, "MSC-001")
    header, first, second, *_ = lines
    assert "America/Santiago" in header and "language es" in header
    assert first.startswith("mié 2027-01-13 12:05 -03:00  reminder delivered (planned mié")
    assert second.startswith(
        "mar 2027-01-19 18:00 -03:00  reminder planned  sms GSM-7 x2  MSC-ROLE:"
    )
    assert "GSM-7 x" in first and "MSC-ROLE:" in first
    assert all("\n" not in line for line in lines)
    assert len(lines) == 1 + len((await client.get(URL, headers=admin)).json())
    with pytest.raises(NotFound):
        await preview_lines(rt, "NOPE-1")
