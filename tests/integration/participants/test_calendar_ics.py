"""iCalendar SEQUENCE: every change to an event raises it, and only that event's."""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar

from service.ports import ManualClock
from tests.support.helpers import Client, enrollment, staff_headers

URL = "/api/v1/participants"


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


async def events(client: Client, admin: dict[str, str]) -> dict[str, Any]:
    response = await client.get(f"{URL}/MSC-001/calendar.ics", headers=admin)
    assert response.status_code == 200
    return {
        str(e["SUMMARY"]): (int(e["SEQUENCE"]), str(e["STATUS"]), e.decoded("DTSTART"))
        for e in Calendar.from_ical(response.content).walk("VEVENT")
    }


async def test_withdrawal_raises_the_sequence_of_every_cancelled_event(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2027-01-06"), headers=admin)
    before = await events(client, admin)
    assert {seq for seq, _status, _date in before.values()} == {0}
    again = await events(client, admin)
    assert again == before  # reading never changes a number

    response = await client.post(f"{URL}/MSC-001/withdraw", json={}, headers=admin)
    assert response.status_code == 200
    after = await events(client, admin)
    cancelled = {name for name, (_s, status, _d) in after.items() if status == "CANCELLED"}
    assert len(cancelled) >= 10
    for name, (seq, _status, _date) in after.items():
        assert seq == (1 if name in cancelled else 0), name
    # Weeks later the cancelled visits stay cancelled, at the same SEQUENCE.
    clock.advance(days=60)
    later = await staff_headers(client, "admin2@uandes.cl", "admin")
    assert await events(client, later) == after


async def test_a_recorded_second_infusion_raises_only_the_events_it_moves(
    client: Client, admin: dict[str, str]
) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-07-01"), headers=admin)
    before = await events(client, admin)
    response = await client.post(
        f"{URL}/MSC-001/infusions", json={"number": 2, "date": "2027-01-12"}, headers=admin
    )
    assert response.status_code == 201, response.text
    after = await events(client, admin)
    moved = {name for name in before if before[name][2] != after[name][2]}
    assert moved, "the second infusion moved nothing"
    for name in before:
        expected = before[name][0] + (1 if name in moved else 0)
        assert after[name][0] == expected, name
    # A visit outcome raises its own event once more.
    m1 = await client.put(
        f"{URL}/MSC-001/visits/M1", json={"status": "attended", "date": "2026-08-01"}, headers=admin
    )
    assert m1.status_code == 200, m1.text
    final = await events(client, admin)
    changed = {name for name in after if final[name][0] != after[name][0]}
    assert len(changed) == 1
