"""The figures the database counts (overview, list pages) against the same figures
computed in Python over every participant (the domain's definitions, as before), on a
small varied study, at instants around both of America/Santiago's clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from service.actions.errors import FieldInvalid
from service.actions.views import (
    SORTS,
    filter_rows,
    overview,
    page_of,
    parse_flags,
    participant_list_page,
    participant_rows,
)
from service.actions.views._rows import Anchors, schedule_of
from service.actions.views._schedules import forget_schedules
from service.db.models import Checkin, DashboardSchedule, Participant, VisitOutcome
from service.domain.actors import Actor
from service.domain.calendar import build_calendar
from service.domain.states import StaffRole
from service.runtime import Runtime
from tests.support.dashboard_seed import seed
from tests.support.figures_reference import site_figures_in_python
from tests.support.helpers import Client

ADMIN = Actor(kind="staff", label="staff:admin@x", role=StaffRole.ADMIN)
CUA = Actor(kind="staff", label="staff:c@x", role=StaffRole.COORDINATOR, sites=("CUA",))
ZONE = "America/Santiago"
# Santiago's clocks: back at 2026-04-05 00:00 (-03 -> -04 of the 4th), forward at
# 2026-09-06 00:00 (-04 -> 01:00 -03). The first instant of each of those days, UTC:
FALL_BACK_DAY, SPRING_FORWARD_DAY = date(2026, 4, 5), date(2026, 9, 6)
FALL_BACK_FIRST = datetime(2026, 4, 5, 4, 0, tzinfo=UTC)
SPRING_FORWARD_FIRST = datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
NOWS = (
    datetime(2026, 4, 5, 2, 59, 59, tzinfo=UTC),  # the 4th, 23:59:59 -03, before the change
    datetime(2026, 4, 5, 3, 30, tzinfo=UTC),  # the 4th again, 23:30 -04
    FALL_BACK_FIRST - timedelta(microseconds=1),
    FALL_BACK_FIRST,
    SPRING_FORWARD_FIRST - timedelta(microseconds=1),  # the 5th, 23:59:59.999999 -04
    SPRING_FORWARD_FIRST,  # the 6th, 01:00 -03: midnight never happened
    datetime(2026, 9, 30, 15, 0, tzinfo=UTC),
)


def _baselines_touching(rt: Runtime, day: date) -> list[date]:
    """Baselines whose calendar opens a window on ``day`` or closes one the day before
    (so the window's edge is the instant the clocks change)."""
    found = []
    for back in range(0, 420):
        baseline = day - timedelta(days=back)
        calendar = build_calendar(rt.protocol, baseline, None, rt.non_working)
        if any(v.window_start == day or v.window_end + timedelta(days=1) == day for v in calendar):
            found.append(baseline)
    return found[::9][:8]


def _participant(n: int, site: str, baseline: date, enrolled: datetime, **kw: Any) -> Participant:
    fields: dict[str, Any] = {
        "study_id": f"X{n:04d}",
        "site_id": site,
        "phone": f"+5697{n:07d}",
        "timezone": ZONE,
        "can_become_pregnant": n % 2 == 1,
        "baseline_infusion_date": baseline,
        "sms_consent": True,
        "created_at": enrolled,
        "updated_at": enrolled,
    }
    return Participant(**{**fields, **kw})


async def _varied_study(rt: Runtime) -> None:
    """The dashboard seed at two sites, and participants at the edges: windows opening
    or closing on a clock-change day, second infusions, a preferred time, another zone,
    late enrolment, withdrawals at the change's first instant or without a date,
    corrected outcomes and answers, answers to open prompts and to no prompt."""
    await seed(30, site="CUA", prefix="S", now=datetime(2026, 6, 20, 14, tzinfo=UTC))
    await seed(8, site="HBLT", prefix="H", now=FALL_BACK_FIRST, phone_offset=90000)
    people = []
    n = 0
    for day, first in (
        (FALL_BACK_DAY, FALL_BACK_FIRST),
        (SPRING_FORWARD_DAY, SPRING_FORWARD_FIRST),
    ):
        for baseline in _baselines_touching(rt, day):
            n += 1
            enrolled = datetime.combine(baseline, datetime.min.time(), tzinfo=UTC)
            extra: dict[str, Any] = {}
            if n % 4 in (1, 2):  # one with a window closing as the clocks change
                extra = {"status": "withdrawn", "withdrawn_at": first}
            elif n % 8 == 3:
                extra = {"status": "withdrawn", "withdrawn_at": None, "updated_at": first}
            elif n % 4 == 3:
                extra = {"second_infusion_date": baseline + timedelta(days=190)}
            else:
                extra = {"preferred_time": "21:30", "opted_out": True}
            people.append(_participant(n, "CUA", baseline, enrolled, **extra))
        n += 1  # withdrawn the instant the baseline infusion's one-day window closed
        people.append(
            _participant(
                n,
                "CUA",
                day - timedelta(days=1),
                first - timedelta(days=30),
                status="withdrawn",
                withdrawn_at=first,
            )
        )
    n += 1  # entered the very instant a prompt's window closed: that one never asked
    anchors = Anchors(date(2026, 5, 4), None, False, ZONE, None)
    _, prompts = schedule_of(rt.protocol, rt.non_working, anchors)
    people.append(_participant(n, "HBLT", anchors.baseline, prompts[3].expires_at))
    n += 1
    people.append(
        _participant(
            n, "CUA", date(2026, 2, 10), datetime(2026, 4, 1, 12, tzinfo=UTC), timezone="UTC"
        )
    )
    n += 1
    people.append(  # entered months after the baseline: earlier prompts were never asked
        _participant(n, "HBLT", date(2026, 1, 5), datetime(2026, 3, 20, 18, tzinfo=UTC))
    )
    await Participant.bulk_create(people)
    ids = dict(await Participant.filter(study_id__startswith="X").values_list("study_id", "id"))
    at = datetime(2026, 3, 1, tzinfo=UTC)
    outcomes, answers = [], []
    for k, (_study_id, pid) in enumerate(sorted(ids.items())):
        for code, status, shift, later in (
            ("SCR", "attended", -3, False),
            ("M1", "missed", 0, False),
            ("M1", "attended", 40, True),  # a correction: the newest wins
            ("W1", "attended", 9, False),  # out of its window
        ):
            if k % 3 == 0 and code == "M1":
                continue
            outcomes.append(
                VisitOutcome(
                    participant_id=pid,
                    visit_code=code,
                    status=status,
                    date=date(2026, 1, 1) + timedelta(days=shift + k),
                    recorded_by="staff:test",
                    recorded_at=at + timedelta(days=1 if later else 0),
                )
            )
        person = next(p for p in people if p.study_id == _study_id)
        for week in range(1, 40):
            day = person.baseline_infusion_date + timedelta(weeks=week)
            key = f"checkin:symptoms_weekly:{day.isoformat()}"
            if (k + week) % 3 == 0:
                continue
            complete_first = (k + week) % 4 != 1
            answers.append(_answer(pid, key, 1, complete_first, late=(k + week) % 5 == 0))
            if not complete_first or week % 6 == 0:
                answers.append(_answer(pid, key, 2, True, late=True))
        answers.append(_answer(pid, "report:free-text", 1, True, late=False))
    await VisitOutcome.bulk_create(outcomes)
    await Checkin.bulk_create(answers)


def _answer(pid: int, key: str, version: int, complete: bool, *, late: bool) -> Checkin:
    return Checkin(
        participant_id=pid,
        checkin_key=key,
        questionnaire="symptoms",
        channel="sms",
        version=version,
        complete=complete,
        late=late,
        submitted_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


_COMPARED = (
    "enrolled",
    "active",
    "withdrawn",
    "enrolled_in",
    "withdrawn_in",
    "opted_out",
    "blocked",
    "visits",
    "checkins",
    "checkins_this",
    "checkins_last",
)


async def _a_prompt_closing(rt: Runtime) -> datetime:
    """The instant a prompt's answer window closes (expected from that instant on)."""
    rows = await participant_rows(rt, ADMIN)
    return next(o.expires_at for r in rows for o in r.expected if o.expires_at.month == 9)


async def test_overview_counts_what_python_computes(client: Client) -> None:
    rt = client.app.state.runtime
    await _varied_study(rt)
    rt.clock.set(datetime(2026, 10, 1, tzinfo=UTC))
    closing = await _a_prompt_closing(rt)
    states = set()
    for now in (*NOWS, closing, closing - timedelta(microseconds=1)):
        rt.clock.set(now)
        for actor in (ADMIN, CUA):
            counted = await overview(rt, actor)
            for site in counted.sites:
                assert site.code is not None and site.months is not None
                expected = await site_figures_in_python(rt, actor, site.code, site.months)
                for name in _COMPARED:
                    assert getattr(site, name) == getattr(expected, name), (now, site.code, name)
                assert list(site.visits) == list(expected.visits)
                states |= {state for visit in site.visits.values() for state in visit.states}
            assert counted.total.enrolled == sum(s.enrolled for s in counted.sites)
    assert states == {"attended_in_window", "attended_out_of_window", "missed", "due"} | {
        "upcoming",
        "cancelled",
    }


FILTERS = ((), ("overdue",), ("opted_out",), ("open_alert",), ("paused", "overdue"))


async def test_list_pages_are_the_pages_python_cuts(client: Client) -> None:
    rt = client.app.state.runtime
    await _varied_study(rt)
    for now in (NOWS[3], NOWS[5]):
        rt.clock.set(now)
        for actor in (ADMIN, CUA):
            for status in (None, "withdrawn"):
                everyone = await participant_rows(rt, actor, status=status)
                for names in FILTERS:
                    flags = parse_flags(names)
                    rows = filter_rows(everyone, flags)
                    for sort in SORTS:
                        cursor = None
                        for _ in range(20):
                            want = page_of(rows, sort=sort, limit=7, cursor=cursor)
                            got = await participant_list_page(
                                rt,
                                actor,
                                status=status,
                                flags=flags,
                                sort=sort,
                                limit=7,
                                cursor=cursor,
                            )
                            case = (now, actor.label, status, names, sort, cursor)
                            assert [r.study_id for r in got.rows] == [
                                r.study_id for r in want.rows
                            ], case
                            assert got.rows == want.rows, case
                            assert (got.total, got.next_cursor) == (
                                want.total,
                                want.next_cursor,
                            ), case
                            cursor = got.next_cursor
                            if cursor is None:
                                break


async def test_one_site_of_the_list_and_a_cursor_of_another_order(client: Client) -> None:
    rt = client.app.state.runtime
    await _varied_study(rt)
    page = await participant_list_page(rt, ADMIN, site="HBLT", sort="study_id", limit=3)
    assert {r.fact.site for r in page.rows} == {"HBLT"} and page.next_cursor
    with pytest.raises(FieldInvalid):  # a study id where a rate sorts
        await participant_list_page(rt, ADMIN, sort="worst", cursor=page.next_cursor)
    with pytest.raises(FieldInvalid):
        await participant_list_page(rt, ADMIN, sort="worst", cursor="not-a-cursor")


async def test_schedule_copies_are_rebuilt_after_being_forgotten(client: Client) -> None:
    rt = client.app.state.runtime
    await _varied_study(rt)
    before = await overview(rt, ADMIN)
    assert await DashboardSchedule.all().count() > 0
    await forget_schedules()
    assert await DashboardSchedule.all().count() == 0
    after = await overview(rt, ADMIN)
    assert [(s.visits, s.checkins) for s in after.sites] == [
        (s.visits, s.checkins) for s in before.sites
    ]
    # A participant's anchors change: another copy matches, the old one stays unused.
    moved = await Participant.filter(study_id="X0003").first()
    assert moved is not None
    moved.second_infusion_date = date(2026, 8, 1)
    await moved.save()
    counted = await overview(rt, ADMIN)
    for site in counted.sites:
        assert site.code is not None and site.months is not None
        expected = await site_figures_in_python(rt, ADMIN, site.code, site.months)
        assert (site.visits, site.checkins) == (expected.visits, expected.checkins)
