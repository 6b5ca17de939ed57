"""Reminders end to end (enrol → plan → dispatch → API): local wall-clock times across
both 2027 clock changes in Santiago and on Easter Island, quiet hours, re-planning
after a late second infusion, late enrolment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.actions.outbox import dispatch_due
from service.db.models import OutboundMessage
from service.ports import ManualClock
from tests.support.helpers import Client, enrollment, staff_headers

PARTICIPANTS = "/api/v1/participants"
MESSAGES = f"{PARTICIPANTS}/MSC-001/messages"
# The instants the clocks change in 2027, in both zones (04:00 UTC on a Sunday).
APRIL_CHANGE = datetime(2027, 4, 4, 4, 0, tzinfo=UTC)
SEPTEMBER_CHANGE = datetime(2027, 9, 5, 4, 0, tzinfo=UTC)


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


async def enrol(client: Client, admin: dict[str, str], **changes: Any) -> list[dict[str, Any]]:
    response = await client.post(PARTICIPANTS, json=enrollment(**changes), headers=admin)
    assert response.status_code == 201, response.text
    return list((await client.get(MESSAGES, headers=admin)).json())


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def around(messages: list[dict[str, Any]], change: datetime) -> tuple[dict[str, Any], ...]:
    """The last 10:00 reminder and check-in before ``change`` and the first after it."""
    picked = []
    for kind in ("reminder", "checkin"):
        at_ten = [
            m
            for m in messages
            if m["kind"] == kind and m["local_send_at"][11:16] == "10:00" and not m["budget"]
        ]
        picked.append(max((m for m in at_ten if parse(m["send_at"]) < change), key=_at))
        picked.append(min((m for m in at_ten if parse(m["send_at"]) > change), key=_at))
    return tuple(picked)


def _at(message: dict[str, Any]) -> datetime:
    return parse(message["send_at"])


@pytest.mark.parametrize(
    ("zone", "summer", "winter"),
    [("America/Santiago", "-03:00", "-04:00"), ("Pacific/Easter", "-05:00", "-06:00")],
)
async def test_ten_oclock_stays_ten_oclock_across_both_clock_changes(
    client: Client,
    admin: dict[str, str],
    clock: ManualClock,
    zone: str,
    summer: str,
    winter: str,
) -> None:
    messages = await enrol(client, admin, timezone=zone)
    week_before = [
        m for m in messages if m["message_key"].endswith("week_before") and not m["budget"]
    ]
    assert week_before and all(m["local_send_at"][11:19] == "10:00:00" for m in week_before[1:])
    for change, before, after in (
        (APRIL_CHANGE, summer, winter),
        (SEPTEMBER_CHANGE, winter, summer),
    ):
        reminder_before, reminder_after, checkin_before, checkin_after = around(messages, change)
        for message, offset in (
            (reminder_before, before),
            (checkin_before, before),
            (reminder_after, after),
            (checkin_after, after),
        ):
            local = message["local_send_at"]
            assert local[11:] == f"10:00:00{offset}", message
            assert parse(local) == parse(message["send_at"])  # same instant, UTC vs local
            assert abs(parse(local).date() - change.date()) <= timedelta(days=35)

    # And the dispatcher sends them at those instants: local 10:00 on both sides.
    rt = client.app.state.runtime
    tz = ZoneInfo(zone)
    for message in around(messages, APRIL_CHANGE)[2:]:
        clock.set(parse(message["send_at"]))
        await dispatch_due(rt)
        row = await OutboundMessage.get(id=message["id"])
        assert row.status == "delivered" and row.sent_at is not None
        local = row.sent_at.astimezone(tz)
        assert (local.hour, local.minute) == (10, 0)
    sent = [await OutboundMessage.get(id=m["id"]) for m in around(messages, APRIL_CHANGE)[2:]]
    offsets = {row.sent_at.astimezone(tz).strftime("%z") for row in sent if row.sent_at}
    assert offsets == {summer.replace(":", ""), winter.replace(":", "")}


async def test_a_late_evening_preference_moves_to_nine_the_next_morning(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    messages = await enrol(client, admin, preferred_time="22:30")
    tz = ZoneInfo("America/Santiago")
    for message in messages:
        hour = parse(message["local_send_at"]).hour
        assert 9 <= hour < 21, message  # never inside quiet hours (21:00-09:00)
    week_before = await OutboundMessage.filter(
        message_key="reminder.clinic.week_before", status="planned"
    ).order_by("send_at")
    week_before = [row for row in week_before if "budget" not in row.params]  # not moved
    assert week_before
    for row in week_before:
        local = row.send_at.astimezone(tz)
        visit = date.fromisoformat(row.params["visit_date"])
        assert (local.hour, local.minute) == (9, 0)
        assert local.date() == visit - timedelta(days=6)  # 22:30 seven days before → 09:00
    weekly = [
        m for m in messages if m["message_key"] == "checkin.symptoms.weekly" and not m["budget"]
    ]
    assert weekly and {m["local_send_at"][11:16] for m in weekly} == {"09:00"}

    row = week_before[0]
    clock.set(row.send_at)
    await dispatch_due(client.app.state.runtime)
    await row.refresh_from_db()
    assert row.sent_at is not None and row.sent_at.astimezone(tz).strftime("%H:%M") == "09:00"


async def test_a_late_evening_preference_skips_the_tomorrow_reminders(
    client: Client, admin: dict[str, str]
) -> None:
    """22:30 is inside quiet hours: "tomorrow" reminders would land on the visit day
    itself at 09:00, where their words are wrong, so they are dropped (docs/messages.md)."""
    await enrol(client, admin, preferred_time="22:30")
    assert not await OutboundMessage.filter(purpose="reminder:clinic_day_before").exists()
    assert await OutboundMessage.filter(purpose="reminder:clinic_week_before").exists()


async def test_a_late_second_infusion_replans_without_touching_what_was_sent(
    client: Client, admin: dict[str, str]
) -> None:
    await enrol(client, admin, baseline_infusion_date="2026-07-01")
    await dispatch_due(client.app.state.runtime)  # what was due at enrolment goes out
    sent_before = {
        row.id: (row.status, row.send_at, row.sent_at, row.body)
        for row in await OutboundMessage.filter(status__in=("sent", "delivered"))
    }
    assert sent_before
    planned_before = {
        row.occurrence for row in await OutboundMessage.filter(status="planned", kind="reminder")
    }
    old_m7 = {o for o in planned_before if o.startswith("M7@")}
    assert old_m7

    response = await client.post(
        f"{PARTICIPANTS}/MSC-001/infusions",
        json={"number": 2, "date": "2027-01-12"},
        headers=admin,
    )
    assert response.status_code == 201, response.text

    after = await OutboundMessage.all()
    assert {
        row.id: (row.status, row.send_at, row.sent_at, row.body)
        for row in after
        if row.id in sent_before
    } == sent_before
    by_occurrence = {(row.purpose, row.occurrence): row.status for row in after}
    assert all(status == "cancelled" for (_, occ), status in by_occurrence.items() if occ in old_m7)
    new_m7 = {occ for (_, occ), status in by_occurrence.items() if occ.startswith("M7@2027-02-12")}
    assert new_m7 and all(
        by_occurrence[(purpose, occ)] == "planned"
        for (purpose, occ) in by_occurrence
        if occ in new_m7
    )
    post_infusion = [r for r in after if r.purpose == "checkin:symptoms_post_infusion"]
    assert {r.occurrence for r in post_infusion if r.params.get("infusion") == "2"} >= {
        "2027-01-14",
        "2027-01-15",
    }
    assert len({row.dedupe_key for row in after}) == len(after)


async def test_late_enrolment_skips_past_visits_but_reminds_of_the_next(
    client: Client, admin: dict[str, str], clock: ManualClock
) -> None:
    # Entered on Wed 13 January 2027 (12:00 local), three months after baseline: the
    # month-3 visit is on Friday the 15th, its week-before moment long gone.
    messages = await enrol(client, admin, baseline_infusion_date="2026-10-16")
    reminders = await OutboundMessage.filter(kind="reminder").order_by("send_at")
    today = date(2027, 1, 13)
    assert all(date.fromisoformat(r.params["visit_date"]) >= today for r in reminders)
    m3 = [r for r in reminders if r.params["visit_code"] == "M3"]
    # The week-before reminder is 5 days overdue: its "in a week" would be false, so
    # the day-before one carries the message.
    assert [r.purpose for r in m3] == ["reminder:clinic_day_before"]
    assert m3[0].send_at.astimezone(ZoneInfo("America/Santiago")).isoformat() == (
        "2027-01-14T18:00:00-03:00"
    )
    assert any(m["id"] == m3[0].id for m in messages)

    clock.set(m3[0].send_at)
    counts = await dispatch_due(client.app.state.runtime)
    await m3[0].refresh_from_db()
    assert m3[0].status == "delivered" and counts.sent == 1
