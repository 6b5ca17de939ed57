"""The dashboard's per-participant summary rows (service/actions/views/_summary.py):
a write to a participant, its visits or its check-ins, and the passage of time (a
window closing, the month turning) change the figures on the very next request, as
the domain's own computation in Python says; between them nothing is recomputed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.actions.views import SORTS, overview, page_of, participant_list_page, participant_rows
from service.actions.views._summary import forget_summaries
from service.db.models import (
    Checkin,
    DashboardSummary,
    DashboardWritten,
    Participant,
    VisitOutcome,
)
from service.domain.actors import Actor
from service.domain.states import StaffRole
from service.runtime import Runtime
from tests.support.dashboard_seed import seed
from tests.support.figures_reference import site_figures_in_python

ADMIN = Actor(kind="staff", label="staff:admin@x", role=StaffRole.ADMIN)
NOW = datetime(2026, 11, 18, 15, tzinfo=UTC)
_COMPARED = ("enrolled", "active", "withdrawn", "visits", "checkins", "checkins_this")
_COMPARED += ("checkins_last",)


async def _as_python_says(rt: Runtime) -> dict[str, tuple[object, ...]]:
    """The overview's figures per site, after checking each against Python's, and the
    first list page in every order against the one Python cuts."""
    counted = await overview(rt, ADMIN)
    found = {}
    for site in counted.sites:
        assert site.code is not None and site.months is not None
        expected = await site_figures_in_python(rt, ADMIN, site.code, site.months)
        for name in _COMPARED:
            assert getattr(site, name) == getattr(expected, name), (rt.clock.now(), name)
        found[site.code] = tuple(getattr(site, name) for name in _COMPARED)
    everyone = await participant_rows(rt, ADMIN)
    for sort in SORTS:
        want = page_of(everyone, sort=sort, limit=10, cursor=None)
        got = await participant_list_page(rt, ADMIN, sort=sort, limit=10)
        assert (got.rows, got.total, got.next_cursor) == (want.rows, want.total, want.next_cursor)
    return found


async def _study(rt: Runtime) -> list[int]:
    rt.clock.set(NOW)
    ids = await seed(12, site="CUA", prefix="S", now=NOW)
    await seed(4, site="HBLT", prefix="H", now=NOW, phone_offset=90000)
    return ids


async def test_writes_change_the_next_requests_figures(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    ids = await _study(rt)
    before = await _as_python_says(rt)
    assert await DashboardSummary.all().count() == 16
    rows = {r.fact.id: r for r in await participant_rows(rt, ADMIN)}
    who = next(pid for pid in ids if rows[pid].fact.active and rows[pid].expected)
    row = rows[who]
    unanswered = [o for o in row.expected if o.key not in row.answers]
    assert unanswered, "the seed leaves some prompts unanswered"

    # a check-in answered (late: its window had closed)
    await Checkin.create(
        participant_id=who,
        checkin_key=unanswered[-1].key,
        questionnaire="symptoms",
        channel="sms",
        version=1,
        complete=True,
        late=True,
        submitted_at=NOW,
    )
    answered = await _as_python_says(rt)
    assert answered["CUA"] != before["CUA"] and answered["HBLT"] == before["HBLT"]

    # a visit recorded (missed before its window opened: a new state)
    code = next(c.code for c in row.cells if c.state == "upcoming")
    await VisitOutcome.create(
        participant_id=who,
        visit_code=code,
        status="missed",
        date=NOW.date(),
        recorded_by="staff:test",
        recorded_at=NOW,
    )
    recorded = await _as_python_says(rt)
    assert recorded["CUA"] != answered["CUA"]

    # withdrawn, by a bulk update that no model's save() sees (the triggers do)
    await Participant.filter(id=who).update(
        status="withdrawn", withdrawn_at=NOW - timedelta(days=40)
    )
    withdrawn = await _as_python_says(rt)
    assert withdrawn["CUA"] != recorded["CUA"]

    # moved to another site: its row leaves CUA's figures and joins HBLT's
    await Participant.filter(id=who).update(site_id="HBLT")
    moved = await _as_python_says(rt)
    assert moved["HBLT"] != withdrawn["HBLT"]
    assert await DashboardSummary.filter(participant_id=who, site_id="HBLT").exists()

    # a participant enrolled joins the figures; deleted, its row goes with it
    await Participant.create(
        study_id="S-NEW",
        site_id="CUA",
        phone="+56977777777",
        timezone="America/Santiago",
        can_become_pregnant=False,
        baseline_infusion_date=(NOW - timedelta(days=60)).date(),
        sms_consent=True,
        created_at=NOW - timedelta(days=60),
        updated_at=NOW - timedelta(days=60),
    )
    enrolled = await _as_python_says(rt)
    assert enrolled["CUA"] != moved["CUA"]
    new = await Participant.get(study_id="S-NEW")
    assert await DashboardSummary.filter(participant_id=new.id).exists()
    await new.delete()
    assert await _as_python_says(rt) == moved
    assert not await DashboardSummary.filter(participant_id=new.id).exists()


async def test_time_closes_windows_and_turns_the_month(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    await _study(rt)
    await _as_python_says(rt)
    soonest = await DashboardSummary.all().order_by("valid_until").first()
    assert soonest is not None
    changes_at = soonest.valid_until
    assert NOW < changes_at <= datetime(2026, 12, 1, 3, tzinfo=UTC)  # CUA's month turns

    # just before: every row is still good, nothing is recomputed
    rt.clock.set(changes_at - timedelta(microseconds=1))
    kept = {r.participant_id: r.as_of for r in await DashboardSummary.all()}
    await _as_python_says(rt)
    assert {r.participant_id: r.as_of for r in await DashboardSummary.all()} == kept

    # at the instant: that participant's row (and any other changing then) is redone
    rt.clock.set(changes_at)
    await _as_python_says(rt)
    redone = await DashboardSummary.get(participant_id=soonest.participant_id)
    assert redone.as_of == changes_at and redone.valid_until > changes_at
    others = await DashboardSummary.filter(as_of=NOW).count()
    assert 0 < others < 16

    # every change the rows announce, over a month (its turn included)
    for _ in range(400):
        nxt = await DashboardSummary.all().order_by("valid_until").first()
        assert nxt is not None
        if nxt.valid_until > NOW + timedelta(days=31):
            break
        rt.clock.set(nxt.valid_until)
        await overview(rt, ADMIN)
    await _as_python_says(rt)

    # and back in time (a test's clock; a server's does not): recomputed, not reused
    rt.clock.set(NOW)
    await _as_python_says(rt)


async def test_writes_name_the_participant_until_the_next_request(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    ids = await _study(rt)
    figures = await _as_python_says(rt)
    assert await DashboardWritten.all().count() == 0  # the request took the names
    await Participant.filter(id=ids[0]).update(paused=True)
    await Participant.filter(id=ids[1]).update(site_id="CUA")  # not moved: named once
    assert sorted(await DashboardWritten.all().values_list("participant_id", flat=True)) == [
        ids[0],
        ids[1],
    ]
    assert await _as_python_says(rt) == figures  # paused is not one of these figures
    assert await DashboardWritten.all().count() == 0
    await forget_summaries()
    assert await DashboardSummary.all().count() == 0
    assert await _as_python_says(rt) == figures
    assert await DashboardSummary.all().count() == 16


async def test_the_periodic_job_takes_the_names_with_the_rows_they_make_stale(client) -> None:  # type: ignore[no-untyped-def]
    """Writes leave names while nobody opens the dashboard; the job drops them with the
    written participants' rows only, and the next request's figures are still right."""
    from service.jobs.tasks import periodic_jobs

    rt = client.app.state.runtime
    ids = await _study(rt)
    before = await _as_python_says(rt)
    assert await DashboardWritten.all().count() == 0
    summarized = await DashboardSummary.all().count()
    await Participant.filter(id=ids[0]).update(status="withdrawn")
    await Participant.filter(id=ids[1]).update(preferred_time="18:30")
    assert await DashboardWritten.all().count() == 2
    await periodic_jobs()["dashboard.written"](rt)
    assert await DashboardWritten.all().count() == 0
    assert await DashboardSummary.all().count() == summarized - 2
    after = await _as_python_says(rt)
    assert after["CUA"][1] == before["CUA"][1] - 1  # one active fewer
    assert await DashboardSummary.all().count() == summarized


async def test_missing_rows_are_looked_for_only_at_sites_with_a_gap(client) -> None:  # type: ignore[no-untyped-def]
    """Every way a participant comes to lack a summary row notes a gap at the site, and
    a page looks for missing rows (a scan of the site's participants) only where it
    finds one (docs/decisions/0111)."""
    from service.db.models import DashboardSummaryGap
    from service.jobs.tasks import periodic_jobs
    from tests.support.sql_counter import count_sql

    cua = Actor(kind="staff", label="staff:c@x", role=StaffRole.COORDINATOR, sites=("CUA",))
    inserts = "INSERT INTO dashboard_summary ("

    async def gaps() -> list[str]:
        return sorted(await DashboardSummaryGap.all().values_list("site_id", flat=True))

    rt = client.app.state.runtime
    ids = await _study(rt)
    assert await gaps() == []  # emptied by the tests' set-up, not noted by the seed
    await forget_summaries()
    assert {"CUA", "HBLT"} <= set(await gaps())  # every site
    await _as_python_says(rt)
    assert await gaps() == []
    async with count_sql() as sql:
        page = await participant_list_page(rt, cua)
    assert page.total == 12 and not any(inserts in s for s in sql.statements)

    # moved from HBLT to CUA: its row (HBLT) dropped, both sites noted
    moved = (await Participant.filter(site_id="HBLT").order_by("id").first()).id  # type: ignore[union-attr]
    await Participant.filter(id=moved).update(site_id="CUA")
    async with count_sql() as sql:
        page = await participant_list_page(rt, cua, sort="study_id", limit=50)
    assert page.total == 13 and moved in {r.fact.id for r in page.rows}
    assert sum(inserts in s for s in sql.statements) == 1  # CUA's, not HBLT's
    assert await gaps() == ["HBLT"]  # the coordinator's page did not read HBLT
    await _as_python_says(rt)
    assert await gaps() == []

    # enrolled: named by the trigger, no row to drop
    new = await seed(1, site="HBLT", prefix="N", now=NOW, phone_offset=95000)
    assert await gaps() == []  # noted when the names are taken
    await _as_python_says(rt)
    hblt = await participant_list_page(rt, ADMIN, site="HBLT", sort="study_id")
    assert new[0] in {r.fact.id for r in hblt.rows} and hblt.total == 4

    # the periodic job drops rows too, and notes their sites
    await Checkin.filter(participant_id=ids[0]).update(late=True)
    await periodic_jobs()["dashboard.written"](rt)
    assert await gaps() == ["CUA"]
    await _as_python_says(rt)
    assert await gaps() == []

    # a window closing (time alone) drops rows: noted as well
    rt.clock.set(NOW + timedelta(days=8))
    await _as_python_says(rt)
    assert await gaps() == []
