"""`followup reminders preview` and the messages route show the daily budget at work."""

from __future__ import annotations

import pytest

from service.actions.outbox import replan_participant
from service.actions.views import preview_lines
from service.db.models import AuditEntry, Participant
from service.domain.actors import SYSTEM
from tests.support.helpers import Client, enrollment, staff_headers

URL = "/api/v1/participants"


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


async def test_the_preview_shows_an_infusion_day_within_budget(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.post(
        URL, json=enrollment(baseline_infusion_date="2027-01-06"), headers=admin
    )
    assert response.status_code == 201
    lines = await preview_lines(client.app.state.runtime, "MSC-001")
    assert "daily budget moved or dropped" in lines[0]
    infusion_day = [line for line in lines if line.startswith("mar 2027-07-06 ")]
    sending = [line for line in infusion_day if "cancelled" not in line]
    assert len(sending) == 2
    assert "09:00" in sending[0] and "Hoy" in sending[0]  # the morning-of instructions
    dropped = [line for line in infusion_day if "cancelled" in line]
    assert len(dropped) == 1 and "[dropped (daily budget; planned 2027-07-06 10:00)]" in dropped[0]
    moved = [line for line in lines if "moved (daily budget; planned 2027-07-06 10:00)" in line]
    assert len(moved) == 1 and moved[0].startswith("mié 2027-07-07 12:00 ")
    assert "embarazada" in moved[0]

    messages = (await client.get(f"{URL}/MSC-001/messages", headers=admin)).json()
    noted = [m for m in messages if m["budget"]]
    assert {m["status"] for m in noted} >= {"planned", "cancelled"}
    assert await AuditEntry.filter(action="messages.replan").exists()

    # Re-planning again changes nothing: the budget is deterministic.
    rt = client.app.state.runtime
    participant = await Participant.get(study_id="MSC-001")
    assert await replan_participant(rt, participant, actor=SYSTEM) == 0
