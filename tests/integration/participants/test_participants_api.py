"""The staff participant API: enrolment, scoping, re-anchoring, refusals, audit."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from service.db.models import AuditEntry, Infusion, Participant
from tests.support.helpers import Client, database_snapshot, enrollment, staff_headers

URL = "/api/v1/participants"


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


async def test_enrol_read_and_calendar(client: Client, admin: dict[str, str]) -> None:
    response = await client.post(URL, json=enrollment(), headers=admin)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phone"] == "+56961234567"
    assert body["timezone"] == "America/Santiago"
    assert "treatment_arm" not in body and "arm" not in body

    calendar = (await client.get(f"{URL}/MSC-001/calendar", headers=admin)).json()
    visits = {v["code"]: v for v in calendar["visits"]}
    assert visits["INF1"]["target_date"] == "2027-01-20"
    assert visits["INF2"]["anchor"] == "baseline_infusion"
    assert visits["M7"]["anchor"] == "second_infusion"
    assert visits["SCR"]["status"] == "due"  # today 2027-01-13 is inside its window
    for visit in calendar["visits"]:
        assert visit["window_start"] <= visit["target_date"] <= visit["window_end"]
    entry = await AuditEntry.get(action="participant.enroll")
    assert entry.actor == "staff:admin@uandes.cl"
    assert "+5696" not in str(entry.changes)  # the audit log never holds the phone


async def test_late_second_infusion_moves_the_rest(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-07-01"), headers=admin)
    before = (await client.get(f"{URL}/MSC-001/calendar", headers=admin)).json()
    m7_before = next(v for v in before["visits"] if v["code"] == "M7")["target_date"]
    response = await client.post(
        f"{URL}/MSC-001/infusions", json={"number": 2, "date": "2027-01-12"}, headers=admin
    )
    assert response.status_code == 201, response.text
    after = {v["code"]: v for v in response.json()["visits"]}
    assert after["INF2"]["target_date"] == "2027-01-12"
    assert after["M7"]["anchor_date"] == "2027-01-12"
    assert after["M7"]["target_date"] > m7_before
    assert after["M1"]["target_date"] == "2026-07-31"  # 1 Aug 2026 is a Saturday: Friday is nearer
    assert await Infusion.filter(number=2).count() == 1
    assert await AuditEntry.filter(action="infusion.record").count() == 1


async def test_visit_outcome_and_history(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-11-10"), headers=admin)
    put = await client.put(
        f"{URL}/MSC-001/visits/M1", json={"status": "attended", "date": "2026-12-22"}, headers=admin
    )
    assert put.status_code == 200, put.text
    calendar = (await client.get(f"{URL}/MSC-001/calendar", headers=admin)).json()
    m1 = next(v for v in calendar["visits"] if v["code"] == "M1")
    assert m1["status"] == "attended_out_of_window"
    await client.put(
        f"{URL}/MSC-001/visits/M1", json={"status": "attended", "date": "2026-12-10"}, headers=admin
    )
    calendar = (await client.get(f"{URL}/MSC-001/calendar", headers=admin)).json()
    m1 = next(v for v in calendar["visits"] if v["code"] == "M1")
    assert m1["status"] == "attended_in_window"
    unknown = await client.put(
        f"{URL}/MSC-001/visits/NOPE",
        json={"status": "attended", "date": "2026-12-10"},
        headers=admin,
    )
    assert unknown.status_code == 404


async def test_ics_has_stable_uids(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-07-01"), headers=admin)
    first = await client.get(f"{URL}/MSC-001/calendar.ics", headers=admin)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    await client.post(
        f"{URL}/MSC-001/infusions", json={"number": 2, "date": "2027-01-12"}, headers=admin
    )
    second = await client.get(f"{URL}/MSC-001/calendar.ics", headers=admin)
    events_1 = Calendar.from_ical(first.content).walk("VEVENT")
    events_2 = Calendar.from_ical(second.content).walk("VEVENT")
    assert [str(e["UID"]) for e in events_1] == [str(e["UID"]) for e in events_2]
    moved = [b for a, b in zip(events_1, events_2, strict=True) if a["DTSTART"] != b["DTSTART"]]
    assert moved and all(int(b["SEQUENCE"]) == 1 for b in moved)  # test_calendar_ics.py has more
    assert all(isinstance(e.decoded("DTSTART"), date) for e in events_1)
    assert "+569" not in second.text


async def test_site_scoping_and_roles(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(), headers=admin)
    await client.post(
        URL,
        json=enrollment(study_id="MSC-002", site="HBLT", phone="+56961234568"),
        headers=admin,
    )
    cua = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    listed = (await client.get(URL, headers=cua)).json()
    assert [p["study_id"] for p in listed] == ["MSC-001"]
    assert (await client.get(f"{URL}/MSC-002", headers=cua)).status_code == 404
    assert (await client.get(f"{URL}/MSC-002/calendar", headers=cua)).status_code == 404
    other_site = await client.post(
        URL, json=enrollment(study_id="MSC-003", site="HBLT", phone="+56961234569"), headers=cua
    )
    assert other_site.status_code == 403
    monitor = await staff_headers(client, "monitor@uandes.cl", "monitor")
    assert (await client.get(f"{URL}/MSC-002", headers=monitor)).status_code == 200
    snapshot = await database_snapshot()
    write = await client.post(f"{URL}/MSC-002/withdraw", json={}, headers=monitor)
    assert write.status_code == 403
    assert await database_snapshot() == snapshot
    assert (await client.get(URL)).status_code == 401
    bogus = {"Authorization": "Bearer not-a-token"}
    assert (await client.get(URL, headers=bogus)).status_code == 401


async def test_withdraw_cancels_upcoming_visits(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(), headers=admin)
    response = await client.post(
        f"{URL}/MSC-001/withdraw", json={"reason": "moved abroad"}, headers=admin
    )
    assert response.json()["status"] == "withdrawn"
    calendar = (await client.get(f"{URL}/MSC-001/calendar", headers=admin)).json()
    assert {v["status"] for v in calendar["visits"]} == {"cancelled"}
    entry = await AuditEntry.get(action="participant.withdraw")
    assert entry.reason == "moved abroad"


async def test_patch_changes_contact_details(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(), headers=admin)
    response = await client.patch(
        f"{URL}/MSC-001",
        json={"phone": "9 8765 4321", "preferred_time": "08:30", "reason": "new phone"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "+56987654321"
    entry = await AuditEntry.get(action="participant.update")
    assert entry.reason == "new phone"
    assert entry.changes["preferred_time"] == [None, "08:30"]
    assert "8765" not in str(entry.changes)


BAD_ENROLMENTS = [
    ("treatment_arm", {"treatment_arm": "MSC"}, 400),
    ("kit_number", {"kit_number": "K-17"}, 400),
    ("dose", {"dose": "1e6/kg"}, 400),
    ("colour", {"colour": "blue"}, 400),
    ("baseline_infusion_date", {"baseline_infusion_date": "2027-02-30"}, 400),
    ("baseline_infusion_date", {"baseline_infusion_date": "1999-01-01"}, 400),
    ("baseline_infusion_date", {"baseline_infusion_date": "2031-01-01"}, 400),
    ("phone", {"phone": "+56 2 2618 1000"}, 400),
    ("phone", {"phone": "hello"}, 400),
    ("site", {"site": "XYZ"}, 400),
    ("language", {"language": "fr"}, 400),
    ("timezone", {"timezone": "Mars/Olympus"}, 400),
    ("preferred_time", {"preferred_time": "25:00"}, 400),
    ("sms_consent", {"sms_consent": "maybe"}, 400),
    ("study_id", {"study_id": "a b c"}, 400),
]


@pytest.mark.parametrize(("field", "change", "status"), BAD_ENROLMENTS)
async def test_bad_enrolment_names_field_and_changes_nothing(
    client: Client, admin: dict[str, str], field: str, change: dict[str, object], status: int
) -> None:
    snapshot = await database_snapshot()
    response = await client.post(URL, json=enrollment(**change), headers=admin)
    assert response.status_code == status, response.text
    assert field in response.text
    assert await database_snapshot() == snapshot


async def test_missing_field_and_malformed_json(client: Client, admin: dict[str, str]) -> None:
    body = enrollment()
    del body["phone"]
    missing = await client.post(URL, json=body, headers=admin)
    assert missing.status_code == 400 and "phone" in missing.text
    malformed = await client.post(
        URL, content=b'{"study_id": ', headers={**admin, "content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert await Participant.all().count() == 0


async def test_duplicates_are_conflicts(client: Client, admin: dict[str, str]) -> None:
    assert (await client.post(URL, json=enrollment(), headers=admin)).status_code == 201
    snapshot = await database_snapshot()
    again = await client.post(URL, json=enrollment(phone="+56961234599"), headers=admin)
    assert again.status_code == 409 and "study_id" in again.text
    same_phone = await client.post(URL, json=enrollment(study_id="MSC-009"), headers=admin)
    assert same_phone.status_code == 409 and "phone" in same_phone.text
    assert await database_snapshot() == snapshot


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": 2, "date": "2027-01-10"}, "date"),  # before baseline (2027-01-20)
        ({"number": 2, "date": "2027-13-01"}, "date"),
        ({"number": 3, "date": "2027-01-10"}, "number"),
        ({"number": 2, "date": "2027-01-10", "arm": "placebo"}, "arm"),
    ],
)
async def test_bad_infusions(
    client: Client, admin: dict[str, str], body: dict[str, object], field: str
) -> None:
    await client.post(URL, json=enrollment(), headers=admin)
    snapshot = await database_snapshot()
    response = await client.post(f"{URL}/MSC-001/infusions", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert await database_snapshot() == snapshot
    assert await Infusion.all().count() == 0


async def test_second_infusion_in_the_future_is_refused(
    client: Client, admin: dict[str, str]
) -> None:
    await client.post(URL, json=enrollment(baseline_infusion_date="2026-07-01"), headers=admin)
    response = await client.post(
        f"{URL}/MSC-001/infusions", json={"number": 2, "date": "2027-02-01"}, headers=admin
    )
    assert response.status_code == 400 and "future" in response.text


async def test_schema_documents_every_route(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = set(schema["paths"])
    for route in (
        "/api/v1/participants",
        "/api/v1/participants/{study_id}",
        "/api/v1/participants/{study_id}/infusions",
        "/api/v1/participants/{study_id}/visits/{visit_code}",
        "/api/v1/participants/{study_id}/withdraw",
        "/api/v1/participants/{study_id}/calendar",
        "/api/v1/participants/{study_id}/calendar.ics",
        "/api/v1/sites",
        "/api/v1/sites/{code}/on-call",
        "/api/v1/auth/token",
        "/health/live",
        "/health/ready",
    ):
        assert route in paths, route


async def test_new_phone_clears_a_provider_block(client: Client, admin: dict[str, str]) -> None:
    await client.post(URL, json=enrollment(), headers=admin)
    await Participant.filter(study_id="MSC-001").update(sms_blocked_code=21211)
    response = await client.patch(f"{URL}/MSC-001", json={"phone": "+56987654321"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["sms_blocked_code"] is None
