"""The per-site totals that triggers keep of the dashboard's summary rows agree with
summing the rows themselves, through every way rows come and go: a page's refresh
inserting them, stale and written-about rows deleted, a row updated in place, the
periodic job, a site's participants moving. So do the kept counts of participants by
state and of open alerts and inbox items."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from tortoise import connections

from service.actions.views import overview
from service.actions.views._summary import forget_written
from service.db.models import (
    Alert,
    DashboardSiteOpen,
    DashboardSitePeople,
    DashboardSiteVisitItems,
    DashboardSummary,
    InboxItem,
    Participant,
)
from tests.integration.views.test_dashboard_figures import ADMIN
from tests.support.dashboard_seed import seed
from tests.support.helpers import Client

_CHECKINS = ("expected", "completed", "late")
_SUMS = (*_CHECKINS, *(f"{c}_{m}" for m in ("this", "last") for c in _CHECKINS))


async def _kept() -> tuple[dict[tuple[str, str], tuple[int, ...]], Counter[tuple[str, str, int]]]:
    conn = connections.get("default")
    visits = {
        (str(r["site_id"]), str(r["visits"])): tuple(
            int(r[c]) for c in ("k", "n", "d", "l", "n1", "d1", "l1", "n2", "d2", "l2")
        )
        for r in await conn.execute_query_dict("SELECT * FROM dashboard_site_visits WHERE k <> 0")
    }
    longest = Counter(
        {
            (str(r["site_id"]), str(r["which"]), int(r["longest"])): int(r["k"])
            for r in await conn.execute_query_dict(
                "SELECT * FROM dashboard_site_longest WHERE k <> 0"
            )
        }
    )
    return visits, longest


async def _summed() -> tuple[dict[tuple[str, str], tuple[int, ...]], Counter[tuple[str, str, int]]]:
    visits: dict[tuple[str, str], list[int]] = {}
    longest: Counter[tuple[str, str, int]] = Counter()
    for row in await DashboardSummary.all():
        key = (row.site_id, row.visits)
        totals = visits.setdefault(key, [0] * 10)
        totals[0] += 1
        for n, column in enumerate(_SUMS, start=1):
            totals[n] += getattr(row, column)
        for which, column in (("", "longest"), ("1", "longest_this"), ("2", "longest_last")):
            longest[(row.site_id, which, getattr(row, column))] += 1
    return {k: tuple(v) for k, v in visits.items()}, longest


async def _items_kept() -> Counter[tuple[str, str]]:
    rows = await DashboardSiteVisitItems.filter(k__not=0)
    return Counter({(r.site_id, r.item): r.k for r in rows})


async def _items_split() -> Counter[tuple[str, str]]:
    return Counter(
        (row.site_id, item)
        for row in await DashboardSummary.all()
        for item in row.visits.split(",")
        if item
    )


async def _agree() -> None:
    assert await _kept() == await _summed()
    assert await _items_kept() == await _items_split()


async def test_site_totals_follow_every_write_to_the_summary_rows(client: Client) -> None:
    rt = client.app.state.runtime
    now = rt.clock.now()
    cua = await seed(12, site="CUA", prefix="A", now=now)
    await seed(5, site="HBLT", prefix="H", now=now, phone_offset=900)
    await overview(rt, ADMIN)  # the refresh inserts every participant's row
    assert await DashboardSummary.all().count() == 17
    await _agree()
    first = await DashboardSummary.get(participant_id=cua[0])
    await DashboardSummary.filter(participant_id=cua[0]).update(
        expected=first.expected + 3, longest=first.longest + 7, visits=first.visits + ","
    )
    await _agree()
    await DashboardSummary.filter(participant_id__in=cua[:4]).delete()
    await _agree()
    await Participant.filter(id__in=cua[4:6]).update(site_id="HBLT")  # noted by triggers
    await forget_written()
    await _agree()
    await overview(rt, ADMIN)  # the missing rows inserted again
    await _agree()
    rt.clock.set(now + timedelta(days=40))  # windows closed, a month turned: rows stale
    figures = await overview(rt, ADMIN)
    await _agree()
    assert sum(f.enrolled for f in figures.sites) == 17


async def _people_kept() -> Counter[tuple[str, str, bool, bool]]:
    rows = await DashboardSitePeople.filter(k__not=0)
    return Counter({(r.site_id, r.status, r.opted_out, r.blocked): r.k for r in rows})


async def _people_counted() -> Counter[tuple[str, str, bool, bool]]:
    return Counter(
        (p.site_id, str(p.status), p.opted_out, p.sms_blocked_code is not None)
        for p in await Participant.all()
    )


async def test_people_by_state_follow_every_write_to_the_participants(client: Client) -> None:
    """The counts of a site's participants by state, which the overview reads, agree
    with counting them through enrolments, withdrawals, opt-outs, carrier blocks,
    moves of site, a bulk update, a save of the whole row and a deletion."""
    rt = client.app.state.runtime
    now = rt.clock.now()
    cua = await seed(8, site="CUA", prefix="A", now=now)
    hblt = await seed(3, site="HBLT", prefix="H", now=now, phone_offset=900)
    bare = await Participant.create(
        study_id="H-BARE",
        site_id="HBLT",
        phone="+56990000999",
        timezone="America/Santiago",
        can_become_pregnant=False,
        baseline_infusion_date=now.date(),
        sms_consent=True,
    )
    assert await _people_kept() == await _people_counted()
    await Participant.filter(id=cua[0]).update(status="withdrawn", withdrawn_at=now)
    await Participant.filter(id=cua[1]).update(opted_out=True)
    await Participant.filter(id=cua[2]).update(sms_blocked_code=21610, opted_out=True)
    await Participant.filter(id__in=cua[3:6]).update(site_id="HBLT")
    await Participant.filter(id=hblt[0]).update(paused=True, plan_version=7)  # no state change
    person = await Participant.get(id=cua[1])
    person.opted_out = False
    await person.save()  # every column written, one changed
    assert await _people_kept() == await _people_counted()
    await Participant.filter(id=cua[2]).update(sms_blocked_code=None)
    await bare.delete()
    assert await _people_kept() == await _people_counted()
    figures = {f.code: f for f in (await overview(rt, ADMIN)).sites}
    assert figures["CUA"].enrolled == 5 and figures["HBLT"].enrolled == 6
    assert figures["CUA"].active == 4 and figures["CUA"].opted_out == 1


async def _open_kept() -> Counter[tuple[str, str]]:
    rows = await DashboardSiteOpen.filter(k__not=0)
    return Counter({(r.kind, r.site_id): r.k for r in rows})


async def _open_counted() -> Counter[tuple[str, str]]:
    alerts = Counter(("alert", a.site_id) for a in await Alert.filter(status="open"))
    inbox = Counter(("inbox", i.site_id or "") for i in await InboxItem.filter(status="open"))
    return alerts + inbox


def _inbox(site: str | None, participant: int | None, now: datetime) -> InboxItem:
    return InboxItem(
        participant_id=participant, site_id=site, reason="not_understood", created_at=now
    )


async def test_open_items_follow_every_write_to_alerts_and_inbox_items(client: Client) -> None:
    """The open alerts and inbox items of each site (and those of no site), which the
    overview reads, agree with counting them through raising and closing, reopening, a
    move of site, a bulk update, a save of the whole row and a deletion; and the
    overview shows them with the oldest open one."""
    rt = client.app.state.runtime
    now = rt.clock.now()
    cua = await seed(4, site="CUA", prefix="A", now=now)
    hblt = await seed(2, site="HBLT", prefix="H", now=now, phone_offset=900)
    await Alert.all().delete()
    await InboxItem.all().delete()
    assert await _open_kept() == Counter()
    raised = [
        await Alert.create(
            participant_id=pid,
            site_id=site,
            dedupe_key=f"t-{pid}",
            raised_at=now - timedelta(hours=n),
        )
        for n, (pid, site) in enumerate([(cua[0], "CUA"), (cua[1], "CUA"), (hblt[0], "HBLT")])
    ]
    await InboxItem.bulk_create([_inbox("CUA", cua[2], now), _inbox(None, None, now)])
    unknown = await InboxItem.create(site_id=None, reason="unknown_sender", created_at=now)
    assert await _open_kept() == await _open_counted()
    await Alert.filter(id=raised[0].id).update(status="acknowledged", acknowledged_at=now)
    await Alert.filter(id=raised[2].id).update(site_id="CUA")  # a move of site
    await InboxItem.filter(site_id="CUA").update(status="closed", closed_at=now)
    unknown.site_id = "HBLT"
    await unknown.save()  # given to a participant: every column written, the site changed
    assert await _open_kept() == await _open_counted()
    await Alert.filter(id=raised[0].id).update(status="open")
    await Alert.filter(id=raised[1].id).update(escalated_at=now)  # no count changes
    await raised[2].delete()
    assert await _open_kept() == await _open_counted()
    shown = await overview(rt, ADMIN)
    sites = {f.code: f for f in shown.sites}
    assert (sites["CUA"].alerts_open, sites["HBLT"].alerts_open) == (2, 0)
    assert sites["CUA"].alerts_oldest == now - timedelta(hours=1)
    assert (sites["CUA"].inbox_open, sites["HBLT"].inbox_open) == (0, 1)
    assert shown.total.inbox_open == 2  # and the one of no site
    assert shown.total.inbox_oldest == now
