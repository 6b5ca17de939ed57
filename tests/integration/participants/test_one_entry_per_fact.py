"""One entry per fact: recording an infusion date records its visit attended, for
every reader (the API's calendar, the .ics, the app's calendar, the EDC), audited as
the act of the person who recorded the infusion."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from service.db.models import AuditEntry, VisitOutcome
from tests.support.helpers import Client, enrollment, staff_headers

URL = "/api/v1/participants"


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


async def statuses(client: Client, admin: dict[str, str]) -> dict[str, str]:
    calendar = (await client.get(f"{URL}/MSC-001/calendar", headers=admin)).json()
    return {v["code"]: v["status"] for v in calendar["visits"]}


async def test_recording_the_infusions_records_their_visits_attended(
    client: Client, admin: dict[str, str]
) -> None:
    # Today is 2027-01-13: INF1 (2026-07-01) has passed, INF2's window is open.
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-07-01"), headers=admin)
    before = await statuses(client, admin)
    assert (before["INF1"], before["INF2"]) == ("missed", "due")

    for number, day in ((1, "2026-07-02"), (2, "2027-01-05")):
        response = await client.post(
            f"{URL}/MSC-001/infusions", json={"number": number, "date": day}, headers=admin
        )
        assert response.status_code == 201, response.text

    after = await statuses(client, admin)
    # The baseline moved to 2026-07-02, INF1's date; INF2 lies inside its planned window.
    assert after["INF1"] == "attended_in_window"
    assert after["INF2"] == "attended_in_window"
    ics = await client.get(f"{URL}/MSC-001/calendar.ics", headers=admin)
    descriptions = {
        str(e["SUMMARY"]): str(e["DESCRIPTION"])
        for e in Calendar.from_ical(ics.content).walk("VEVENT")
    }
    infusions = [text for summary, text in descriptions.items() if "Infusi" in summary]
    assert len(infusions) == 2 and all("attended_in_window" in t for t in infusions)

    rows = (
        await VisitOutcome.all().order_by("id").values_list("visit_code", "source", "recorded_by")
    )
    assert rows == [
        ("INF1", "infusion_1", "staff:admin@uandes.cl"),
        ("INF2", "infusion_2", "staff:admin@uandes.cl"),
    ]
    audited = await AuditEntry.filter(action="visit.record").order_by("id")
    assert [(a.actor, a.changes["visit"], a.changes["recorded_with"]) for a in audited] == [
        ("staff:admin@uandes.cl", "INF1", "infusion_1"),
        ("staff:admin@uandes.cl", "INF2", "infusion_2"),
    ]


async def test_a_corrected_infusion_date_moves_its_visit_with_it(
    client: Client, admin: dict[str, str]
) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-07-01"), headers=admin)
    for day in ("2026-12-20", "2027-01-05"):  # first typed out of the window, then corrected
        await client.post(
            f"{URL}/MSC-001/infusions", json={"number": 2, "date": day}, headers=admin
        )
        outcome = await VisitOutcome.filter(visit_code="INF2").order_by("-id").first()
        assert outcome is not None and str(outcome.date) == day
    assert (await statuses(client, admin))["INF2"] == "attended_in_window"
    assert await VisitOutcome.filter(visit_code="INF2").count() == 2  # history kept
