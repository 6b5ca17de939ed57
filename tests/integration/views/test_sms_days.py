"""The overview's SMS figures from kept closed days (``sms_day``) agree with a count of
every message, in each site's local months, through the writes that change old days
(late receipts, failures, back-dated sends, deletions, a participant changing site)
and across both of Santiago's clock changes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from service.actions.views import overview
from service.actions.views._sms_days import RECOUNT, SLICE
from service.db.models import OutboundMessage, Participant, SmsDay
from service.domain.adherence import first_instant, month_periods, nearest_rank
from tests.integration.views.test_dashboard_figures import ADMIN
from tests.support.dashboard_seed import seed
from tests.support.helpers import Client

ZONE = "America/Santiago"


@dataclass
class _Expected:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    whatsapp: int = 0
    fallback: int = 0
    lateness: list[float] | None = None


async def _reference(now: datetime) -> dict[tuple[str, str], _Expected]:
    """Every message read and placed in its site's local month by Python."""
    months = month_periods(now, ZONE)
    sites = dict(await Participant.all().values_list("id", "site_id"))
    found: dict[tuple[str, str], _Expected] = {}
    for site in set(sites.values()):
        for which in ("this", "last"):
            found[(site, which)] = _Expected(lateness=[])
    for m in await OutboundMessage.all():
        site = sites[m.participant_id]
        for which, period in (("this", months.this), ("last", months.last)):
            e = found[(site, which)]
            if period.holds(m.sent_at):
                e.sent += 1
                e.whatsapp += m.channel == "whatsapp"
                e.fallback += m.fallback_reason is not None
                if m.kind == "reminder":
                    assert e.lateness is not None and m.sent_at is not None
                    e.lateness.append((m.sent_at - m.send_at).total_seconds())
            e.delivered += m.status == "delivered" and period.holds(m.delivered_at)
            e.failed += m.status == "failed" and period.holds(m.updated_at)
    return found


async def _agree(client: Client) -> None:
    rt = client.app.state.runtime
    now = rt.clock.now()
    figures = await overview(rt, ADMIN)
    expected = await _reference(now)
    for fig in figures.sites:
        for which in ("this", "last"):
            e = expected.get((str(fig.code), which), _Expected(lateness=[]))
            got = tuple(getattr(getattr(fig, n), which) for n in _COUNTS)
            assert got == (e.sent, e.delivered, e.failed, e.whatsapp, e.fallback), (
                fig.code,
                which,
            )
            late = getattr(fig, f"lateness_{which}")
            assert e.lateness is not None and late.count == len(e.lateness)
            for fraction, value in ((0.5, late.p50), (0.95, late.p95)):
                want = nearest_rank(e.lateness, fraction)
                tenth = None if want is None else pytest.approx(want, abs=0.051)
                assert value == tenth  # to the tenth of a second


_COUNTS = ("sent", "delivered", "failed", "whatsapp", "fallback")


async def _message(pid: int, n: int, sent: datetime | None, rnd: random.Random) -> None:
    status = "planned" if sent is None else rnd.choice(["sent", "delivered", "failed"])
    reminder = rnd.random() < 0.5
    planned = (sent or datetime(2027, 1, 1, tzinfo=UTC)) - timedelta(seconds=rnd.uniform(0, 900))
    await OutboundMessage.create(
        participant_id=pid,
        kind="reminder" if reminder else "checkin",
        purpose="t",
        occurrence=str(n),
        dedupe_key=f"{pid}:t:{n}",
        message_key="reminder.clinic.week_before",
        send_at=planned,
        status=status,
        channel="whatsapp" if rnd.random() < 0.3 else "sms",
        fallback_reason="window" if rnd.random() < 0.1 else None,
        sent_at=sent,
        delivered_at=sent + timedelta(minutes=rnd.uniform(0, 90))
        if status == "delivered"
        else None,
        created_at=planned,
        updated_at=(sent or planned) + timedelta(minutes=rnd.uniform(0, 30)),
    )


async def _day_of(message: OutboundMessage) -> int | None:
    """The kept day's row holding the message's sending, at its site."""
    site = await Participant.get(id=message.participant_id).values_list("site_id", flat=True)
    day = await SmsDay.filter(
        site_id=site, starts_at__lte=message.sent_at, ends_at__gt=message.sent_at
    ).first()
    return None if day is None else day.id


@pytest.mark.parametrize(
    "now",
    [
        # 4 Apr 2027 00:00 local the clocks go back: 3 April has 25 hours
        datetime(2027, 4, 10, 15, tzinfo=UTC),
        # 5 Sep 2027 00:00 local the clocks go forward: 5 September has 23 hours
        datetime(2027, 9, 12, 15, tzinfo=UTC),
    ],
    ids=["autumn-change", "spring-change"],
)
async def test_kept_days_agree_with_every_message_counted(client: Client, now: datetime) -> None:
    rt = client.app.state.runtime
    rt.clock.set(now)
    rnd = random.Random(now.month)
    cua = await seed(2, site="CUA", prefix="S", now=now, messages_per_participant=0)
    [hblt] = await seed(
        1, site="HBLT", prefix="H", now=now, messages_per_participant=0, phone_offset=500
    )
    months = month_periods(now, ZONE)
    span = (now - months.last.start + timedelta(days=3)).total_seconds()
    for n in range(160):
        pid = rnd.choice([*cua, hblt])
        sent = months.last.start - timedelta(days=3) + timedelta(seconds=rnd.uniform(0, span))
        await _message(pid, n, sent if sent < now else None, rnd)
    # the hours around each local midnight of a clock change, on both sides
    for n, local in enumerate(["2027-04-03 23:30", "2027-04-04 00:30", "2027-09-04 23:30"]):
        at = datetime.fromisoformat(local + "-04:00").astimezone(UTC)
        if months.last.start <= at < now:
            await _message(cua[0], 1000 + n, at, rnd)
    await _agree(client)
    assert await SmsDay.all().count() > 30  # the closed days were kept

    # Writes that change closed days, as the outbox and the staff make them.
    old = [
        m for m in await OutboundMessage.all() if m.sent_at and m.sent_at < now - timedelta(days=3)
    ]
    delivered = next(m for m in old if m.status == "delivered")
    await OutboundMessage.filter(id=delivered.id).update(status="failed", updated_at=now)
    late = next(m for m in old if m.status == "sent")
    kept = await _day_of(late)
    await OutboundMessage.filter(id=late.id).update(status="delivered", delivered_at=now)
    assert await _day_of(late) == kept  # a receipt leaves the day it was sent kept
    switched = next(m for m in old if m.channel == "sms" and m.id not in (delivered.id, late.id))
    await OutboundMessage.filter(id=switched.id).update(channel="whatsapp")
    await _agree(client)
    planned = await OutboundMessage.filter(status="planned").first()
    if planned is not None:  # a send found by reconciliation, recorded at its real time
        await OutboundMessage.filter(id=planned.id).update(
            status="sent", sent_at=months.last.start + timedelta(days=4), updated_at=now
        )
    gone = next(m for m in old if m.id not in (delivered.id, late.id, switched.id))
    await OutboundMessage.filter(id=gone.id).delete()
    await _agree(client)
    await Participant.filter(id=cua[1]).update(site_id="HBLT")
    await _agree(client)
    rt.clock.set(now + timedelta(days=1))  # a day closes
    await _agree(client)


async def test_a_day_counted_while_settling_is_counted_again(client: Client) -> None:
    """A day counted in the two days after it ended may have missed a write racing
    the count; it is counted again after an hour. An older day is kept."""
    rt = client.app.state.runtime
    now = datetime(2027, 3, 20, 15, tzinfo=UTC)
    rt.clock.set(now)
    [pid] = await seed(1, site="CUA", prefix="S", now=now, messages_per_participant=0)
    rnd = random.Random(7)
    for n, days_ago in enumerate([1, 1, 5, 5, 5]):
        await _message(pid, n, now - timedelta(days=days_ago), rnd)
    await _agree(client)
    conn = connections.get("default")
    # A count that missed a write: what a race between the count and a writer leaves.
    await conn.execute_query("UPDATE sms_day SET sent = sent + 100 WHERE sent > 0")
    rt.clock.set(now + RECOUNT / 2)
    first = (await overview(rt, ADMIN)).sites[0].sent.this
    assert first == 5 + 200  # within the hour, both days as kept
    rt.clock.set(now + RECOUNT * 1.5)
    later = (await overview(rt, ADMIN)).sites[0].sent.this
    assert later == 5 + 100  # yesterday counted again; the older day (kept for good) is not


async def _hours_kept() -> list[tuple[datetime, datetime]]:
    rows = await SmsDay.filter(site_id="CUA").order_by("starts_at")
    return [(r.starts_at, r.ends_at) for r in rows if r.ends_at - r.starts_at == timedelta(hours=1)]


@pytest.mark.parametrize(
    "now",
    [
        # the day after each of Santiago's clock changes has its hours from its own
        # first instant; the day of the change has 25 or 23 of them
        datetime(2027, 4, 3, 20, 30, tzinfo=UTC),
        datetime(2027, 9, 5, 20, 30, tzinfo=UTC),
    ],
    ids=["autumn-change", "spring-change"],
)
async def test_todays_closed_hours_are_kept_and_give_way_to_the_day(
    client: Client, now: datetime
) -> None:
    """Today is counted an hour at a time: a page counts only the current hour live.
    A late write to an earlier hour of today is counted; when the day closes its row
    replaces its hours."""
    rt = client.app.state.runtime
    rt.clock.set(now)
    rnd = random.Random(now.month + 1)
    [pid] = await seed(1, site="CUA", prefix="S", now=now, messages_per_participant=0)
    for n in range(40):
        await _message(pid, n, now - timedelta(minutes=rnd.uniform(0, 60 * 20)), rnd)
    await _agree(client)
    tz = ZoneInfo(ZONE)
    today = first_instant(now.astimezone(tz).date(), tz)
    hours = await _hours_kept()
    assert hours[0][0] == today and hours[-1][1] == now - timedelta(minutes=30)
    assert [b for b, _ in hours[1:]] == [e for _, e in hours[:-1]]  # one after another
    # a send found by reconciliation, back-dated into an hour already kept
    back = hours[len(hours) // 2][0] + timedelta(minutes=20)
    await _message(pid, 100, back, rnd)
    await _agree(client)
    rt.clock.set(now + timedelta(hours=1, minutes=5))  # another hour closes; all recounted
    await _agree(client)
    assert len(await _hours_kept()) == len(hours) + 1
    rt.clock.set(now + timedelta(days=1))  # the day closes: its row replaces its hours
    await _agree(client)
    tomorrow = first_instant(now.astimezone(tz).date() + timedelta(days=1), tz)
    assert min(start for start, _ in await _hours_kept()) == tomorrow
    day = await SmsDay.get(site_id="CUA", starts_at=today)
    assert day.ends_at == tomorrow and (tomorrow - today).total_seconds() / 3600 in (23, 25)


async def _slices_kept() -> list[tuple[datetime, datetime]]:
    rows = await SmsDay.filter(site_id="CUA").order_by("starts_at")
    return [(r.starts_at, r.ends_at) for r in rows if r.ends_at - r.starts_at == SLICE]


async def test_the_current_hours_five_minutes_are_kept_and_give_way_to_the_hour(
    client: Client,
) -> None:
    """A page counts live only what was sent since the last five minutes closed: a
    reminder wave is read for five minutes, not for the hour after it went. A late
    write to a kept five minutes is counted; when the hour closes its row replaces them."""
    rt = client.app.state.runtime
    now = datetime(2027, 4, 14, 15, 32, tzinfo=UTC)
    rt.clock.set(now)
    rnd = random.Random(7)
    [pid] = await seed(1, site="CUA", prefix="S", now=now, messages_per_participant=0)
    for n in range(30):
        await _message(pid, n, now - timedelta(minutes=rnd.uniform(0, 90)), rnd)
    await _agree(client)
    hour = datetime(2027, 4, 14, 15, tzinfo=UTC)
    assert await _slices_kept() == [(hour + k * SLICE, hour + (k + 1) * SLICE) for k in range(6)]
    await _message(pid, 100, hour + timedelta(minutes=12), rnd)  # back-dated into a kept one
    await _message(pid, 101, now - timedelta(seconds=40), rnd)  # in the live rest
    await _agree(client)
    rt.clock.set(now + timedelta(minutes=16))
    await _agree(client)
    assert len(await _slices_kept()) == 9
    rt.clock.set(hour + timedelta(hours=1, minutes=3))  # the hour closes
    await _agree(client)
    assert await _slices_kept() == []
    assert (hour, hour + timedelta(hours=1)) in await _hours_kept()
