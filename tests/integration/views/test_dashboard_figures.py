"""The dashboard's loaders and figures against the real database: a fixed number of
statements with 10 or 500 participants, site scoping, and figures that agree with
what was stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from service.actions.views import Flag, overview, participant_rows
from service.db.models import Checkin, OutboundMessage, Participant, VisitOutcome
from service.domain.actors import Actor
from service.domain.adherence import Band, nearest_rank
from service.domain.states import StaffRole
from tests.support.dashboard_seed import seed
from tests.support.helpers import Client
from tests.support.sql_counter import count_sql

ADMIN = Actor(kind="staff", label="staff:admin@x", role=StaffRole.ADMIN)
CUA = Actor(kind="staff", label="staff:c@x", role=StaffRole.COORDINATOR, sites=("CUA",))


async def _statements(client: Client, actor: Actor) -> tuple[int, int]:
    rt = client.app.state.runtime
    async with count_sql() as rows_sql:
        await participant_rows(rt, actor)
    async with count_sql() as overview_sql:
        await overview(rt, actor)
    return rows_sql.count, overview_sql.count


async def test_same_statements_with_10_and_500_participants(client: Client) -> None:
    now = client.app.state.runtime.clock.now()
    await seed(10, site="CUA", prefix="A", now=now)
    await seed(3, site="HBLT", prefix="H", now=now, phone_offset=90000)
    small = (await _statements(client, ADMIN), await _statements(client, CUA))
    await seed(490, site="CUA", prefix="B", now=now, phone_offset=10000)
    # a new participant at each site, as before the first count: both sites' gaps
    await seed(1, site="HBLT", prefix="I", now=now, phone_offset=95000)
    assert await Participant.filter(site_id="CUA").count() == 500
    large = (await _statements(client, ADMIN), await _statements(client, CUA))
    assert small == large
    # A handful, not one per participant. The overview, two sites: the sites, the
    # summary rows refreshed (stale rows deleted and gaps noted: one statement on
    # PostgreSQL, four in a transaction and a read of the gaps on SQLite; for the sites
    # with a gap, cold here: the schedule copies, one statement and three more to copy
    # new anchors, one per site inserting the missing rows, one removing the gaps), four
    # per site (participants; visit states, check-ins and longest runs from the site's
    # totals, three), alerts, inbox, and the SMS figures: the kept days read, three
    # counting the missing days and today, two keeping them (days were missing: the
    # seed wrote messages into them).
    assert large[0][0] <= 4 and large[0][1] <= 1 + 5 + (1 + 3) + 2 + 1 + 2 * 4 + 2 + (1 + 3 + 2)


async def test_coordinator_sees_only_their_site(client: Client) -> None:
    now = client.app.state.runtime.clock.now()
    await seed(12, site="CUA", prefix="C", now=now)
    await seed(5, site="HBLT", prefix="H", now=now, phone_offset=500)
    rt = client.app.state.runtime
    rows = await participant_rows(rt, CUA)
    assert len(rows) == 12 and {r.fact.site for r in rows} == {"CUA"}
    figures = await overview(rt, CUA)
    assert [s.code for s in figures.sites] == ["CUA"]
    assert figures.total.enrolled == 12
    other = await overview(rt, CUA, site="HBLT")  # another site asked for by name
    assert other.sites == [] and other.total.enrolled == 0
    everything = await overview(rt, ADMIN)
    assert [s.code for s in everything.sites] == ["CUA", "HBLT"]
    assert everything.total.enrolled == 17
    assert everything.total.alerts_open == sum(s.alerts_open for s in everything.sites)


async def test_one_participants_figures(client: Client) -> None:
    rt = client.app.state.runtime
    now = rt.clock.now()  # 13 Jan 2027
    baseline = date(2026, 11, 2)  # a Monday, ten weeks before
    await Participant.create(
        study_id="MSC-900",
        site_id="CUA",
        phone="+56961230000",
        timezone="America/Santiago",
        can_become_pregnant=False,
        baseline_infusion_date=baseline,
        sms_consent=True,
        opted_out=True,
    )
    # Entered long before its first prompt (created_at is the real clock; move it).
    await Participant.filter(study_id="MSC-900").update(created_at=now - timedelta(days=90))
    pid = (await Participant.get(study_id="MSC-900")).id
    await VisitOutcome.create(
        participant_id=pid,
        visit_code="SCR",
        status="attended",
        date=baseline - timedelta(days=3),
        recorded_by="staff:x",
        recorded_at=now,
    )
    weekly = [baseline + timedelta(weeks=w) for w in range(1, 11)]  # 10 weekly prompts
    answered = weekly[:6]  # weeks 7..10 unanswered: a run of 4 misses
    for day in answered:
        await Checkin.create(
            participant_id=pid,
            checkin_key=f"checkin:symptoms_weekly:{day.isoformat()}",
            questionnaire="symptoms",
            channel="sms",
            late=day == answered[0],
            submitted_at=now - timedelta(days=30),
        )
    [row] = await participant_rows(rt, ADMIN)
    weekly_expected = [o for o in row.expected if o.definition.code == "symptoms_weekly"]
    # The 10th (11 Jan, open 48 h from 10:00) closed on 13 Jan 13:00 UTC, before 15:00.
    assert len(weekly_expected) == 10
    post = [o for o in row.expected if o.definition.code == "symptoms_post_infusion"]
    assert len(post) == 3
    assert row.checkins.completed == 6 and row.checkins.late == 1 and row.checkins.on_time == 5
    assert row.checkins.expected == 13
    assert row.checkins.longest_miss_run == 4
    assert row.checkins.band is Band.AMBER
    states = {c.code: c.state for c in row.cells}
    assert states["SCR"] == "attended_in_window"
    assert states["INF1"] == "missed"  # nothing recorded, window closed
    assert states["EOS"] == "upcoming"
    assert row.flags == {Flag.OPTED_OUT, Flag.OVERDUE}
    figures = await overview(rt, ADMIN)
    cua = figures.sites[0]
    assert cua.opted_out == 1 and cua.enrolled == 1 and cua.active == 1
    assert cua.visits["SCR"].states["attended_in_window"] == 1
    # January's only closed prompt is the 10th weekly (4 Jan closed 6 Jan too): both missed
    assert cua.checkins_this.expected == 2 and cua.checkins_this.completed == 0


async def test_sms_counts_and_reminder_lateness(client: Client) -> None:
    rt = client.app.state.runtime
    now = rt.clock.now()  # 13 Jan 2027 15:00 UTC; January began 1 Jan 03:00 UTC
    [pid] = await seed(1, site="CUA", prefix="S", now=now, messages_per_participant=0)
    january = datetime(2027, 1, 5, 12, tzinfo=UTC)
    december = datetime(2026, 12, 20, 12, tzinfo=UTC)
    rows = [
        (january, 60, "delivered"),
        (january, 120, "delivered"),
        (january, 600, "sent"),
        (january, 30, "failed"),
        (december, 5, "delivered"),
        (datetime(2027, 1, 1, 2, 59, tzinfo=UTC), 0, "sent"),  # 31 Dec, 23:59 local
    ]
    for n, (planned, late, status) in enumerate(rows):
        await _reminder_sent(pid, n, planned, late, status)
    async with count_sql() as sql:
        figures = await overview(rt, ADMIN)
    cua = figures.sites[0]
    assert (cua.sent.this, cua.sent.last) == (4, 2)
    assert (cua.delivered.this, cua.delivered.last) == (2, 1)
    assert (cua.failed.this, cua.failed.last) == (1, 0)
    assert cua.lateness_this.count == 4  # 30, 60, 120 and 600 s late
    assert cua.lateness_this.p50 == pytest.approx(60, abs=0.01)  # nearest rank: 2nd of 4
    assert cua.lateness_this.p95 == pytest.approx(600, abs=0.01)
    assert cua.lateness_last.p50 == pytest.approx(0, abs=0.01)
    assert figures.total.lateness_this == cua.lateness_this
    assert figures.total.sent.this == 4
    assert not any("outbound_message" in s and "LIMIT" in s for s in sql.statements)


async def test_worst_adherence_first(client: Client) -> None:
    now = client.app.state.runtime.clock.now()
    await seed(30, site="CUA", prefix="W", now=now)
    rows = await participant_rows(client.app.state.runtime, ADMIN)
    rates = [r.checkins.rate for r in rows if r.checkins.rate is not None]
    assert rates == sorted(rates)


async def test_reminder_lateness_ranks_each_site_and_all_of_them(client: Client) -> None:
    rt = client.app.state.runtime
    now = rt.clock.now()
    [a] = await seed(1, site="CUA", prefix="S", now=now, messages_per_participant=0)
    [b] = await seed(
        1, site="HBLT", prefix="H", now=now, messages_per_participant=0, phone_offset=500
    )
    planned = datetime(2027, 1, 5, 12, tzinfo=UTC)
    lateness = {a: [5, 1, 9, 300, 7, 2, 8], b: [4, 1000, 3, 6, 6, 6, 0.5, 11, 12, 13, 14]}
    n = 0
    for pid, values in lateness.items():
        for late in values:
            n += 1
            await _reminder_sent(pid, n, planned, late, "sent")
    figures = await overview(rt, ADMIN)
    everything = [*lateness[a], *lateness[b]]
    for fig, values in ((figures.sites[0], lateness[a]), (figures.sites[1], lateness[b])):
        assert fig.lateness_this.count == len(values)
        assert fig.lateness_this.p50 == pytest.approx(nearest_rank(values, 0.5), abs=0.01)
        assert fig.lateness_this.p95 == pytest.approx(nearest_rank(values, 0.95), abs=0.01)
    assert figures.total.lateness_this.count == len(everything)
    assert figures.total.lateness_this.p50 == pytest.approx(nearest_rank(everything, 0.5), abs=0.01)
    assert figures.total.lateness_this.p95 == pytest.approx(
        nearest_rank(everything, 0.95), abs=0.01
    )
    assert figures.total.lateness_last.count == 0 and figures.total.lateness_last.p50 is None


async def _reminder_sent(pid: int, n: int, planned: datetime, late: float, status: str) -> None:
    """The participant's ``n``-th reminder, planned for ``planned`` and sent ``late``
    seconds after it."""
    sent = planned + timedelta(seconds=late)
    await OutboundMessage.create(
        participant_id=pid,
        kind="reminder",
        purpose="reminder:t",
        occurrence=str(n),
        dedupe_key=f"{pid}:t:{n}",
        message_key="reminder.clinic.week_before",
        send_at=planned,
        status=status,
        sent_at=sent,
        delivered_at=sent if status == "delivered" else None,
        created_at=planned,
        updated_at=sent,
    )
