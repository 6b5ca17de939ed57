"""``/metrics``' messages by status, provider errors and send lateness agree with a
count of every message by Python, through a random run of the writes that change them:
single and bulk inserts (some ignored as duplicates), status changes of one row and of
many in one statement, writes that leave the status alone, send and due times moved
(and a sending undone), whole rows saved again, deletions, and a transaction rolled
back. On SQLite the counts by status and each message's lateness are kept by triggers
(migration 0042); on PostgreSQL they are computed at each scrape, and the same
comparison holds."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from service.actions.views import _metrics as metrics
from service.actions.views import _sql
from service.db.models import OutboundMessage
from service.domain.states import MessageStatus

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
STATUSES = [status.value for status in MessageStatus]
CODES = (30003, 30005, 30008, 21211)


class _Rollback(Exception):
    pass


def _message(rng: random.Random, n: int) -> OutboundMessage:
    """A message in any status; once it left, sent up to two minutes after its send time
    (within the last hour or before it), some with a provider error code."""
    status = rng.choice(STATUSES)
    send_at = NOW - timedelta(seconds=rng.randint(0, 2 * 3600))
    left = status not in ("planned", "in_app", "cancelled", "expired")
    sent_at = send_at + timedelta(milliseconds=rng.randint(-2000, 120_000)) if left else None
    return OutboundMessage(
        to_phone="+56970000000",
        kind="reminder",
        purpose="reminder:test",
        occurrence=str(n),
        dedupe_key=f"test:{n}",
        message_key="reminder.clinic.week_before",
        params={},
        send_at=send_at,
        status=status,
        sent_at=sent_at,
        error_code=rng.choice(CODES) if status in ("failed", "undelivered") else None,
        created_at=NOW - timedelta(days=2),
        updated_at=NOW - timedelta(hours=rng.randint(0, 48)),
    )


async def _agree() -> None:
    rows = await OutboundMessage.all().values(
        "status", "sent_at", "send_at", "error_code", "updated_at"
    )
    by_status = Counter(str(r["status"]) for r in rows)
    assert dict(await metrics._by_status()) == {s: by_status.get(s, 0) for s in STATUSES}
    if not _sql.dialect().postgres:  # the kept rows themselves: never below zero
        kept = await _sql.fetch("SELECT status, n FROM outbound_status_count", [])
        assert {str(k["status"]): int(k["n"]) for k in kept if k["n"]} == +by_status
        assert all(int(k["n"]) >= 0 for k in kept)
        for r in await _sql.fetch("SELECT sent_at, send_at, late_ms FROM outbound_message", []):
            if r["sent_at"] is None:
                assert r["late_ms"] is None
            else:
                gap = _sql.as_instant(r["sent_at"]) - _sql.as_instant(r["send_at"])
                assert r["late_ms"] == pytest.approx(max(0, gap.total_seconds() * 1000), abs=1)

    since = NOW - timedelta(hours=24)
    errors = Counter(
        int(r["error_code"])
        for r in rows
        if r["error_code"] is not None and r["updated_at"] >= since
    )
    got = [(int(r["error_code"]), int(r["n"])) for r in await metrics._provider_errors(NOW)]
    assert got == sorted(errors.items())

    late = [
        max(0.0, (r["sent_at"] - r["send_at"]).total_seconds())
        for r in rows
        if r["sent_at"] is not None and NOW - timedelta(hours=1) <= r["sent_at"] <= NOW
    ]
    family = await metrics._lateness(NOW)
    samples = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    for bound in metrics.LATENESS_BUCKETS:
        assert samples[str(bound)] == sum(x <= bound for x in late), bound
    assert samples["+Inf"] == len(late)
    [total] = [s.value for s in family.samples if s.name.endswith("_sum")]
    assert total == pytest.approx(sum(late), abs=0.002 * max(1, len(late)))


async def _some_ids(rng: random.Random, k: int) -> list[int]:
    ids = list(await OutboundMessage.all().order_by("id").values_list("id", flat=True))
    return rng.sample(ids, min(k, len(ids)))


async def _step(rng: random.Random, n: int) -> None:
    """One random write."""
    what = rng.randrange(11)
    if what == 0:  # a key no earlier step made: step 1 makes n * 100 + 0..29, step 2 reuses
        await _message(rng, n * 100 + 99).save()
    elif what == 1:
        await OutboundMessage.bulk_create([_message(rng, n * 100 + k) for k in range(30)])
    elif what == 2:  # some of them already there: ignored, and not counted
        await OutboundMessage.bulk_create(
            [_message(rng, rng.randrange(n * 100 + 1)) for _ in range(10)],
            ignore_conflicts=True,
        )
    elif what in (3, 4):  # one row, or many in one statement, to a status
        ids = await _some_ids(rng, 1 if what == 3 else 25)
        await OutboundMessage.filter(id__in=ids).update(
            status=rng.choice(STATUSES),
            error_code=rng.choice((None, *CODES)),
            updated_at=NOW - timedelta(hours=rng.randint(0, 48)),
        )
    elif what == 5:  # the status written again, or not at all
        ids = await _some_ids(rng, 10)
        for row in await OutboundMessage.filter(id__in=ids):
            await OutboundMessage.filter(id=row.id).update(status=row.status, attempts=3)
        await OutboundMessage.filter(id__in=ids).update(priority=rng.randint(0, 9))
    elif what == 6:
        await OutboundMessage.filter(id__in=await _some_ids(rng, rng.choice((1, 20)))).delete()
    elif what == 7:  # one statement moves every due planned row
        await _sql.execute(
            "UPDATE outbound_message SET status = ? WHERE status = ? AND send_at <= ?",
            [rng.choice(("expired", "sending")), "planned", NOW - timedelta(minutes=90)],
        )
    elif what == 8:  # sent again, sent later or earlier, re-planned, or unsent
        for pk in await _some_ids(rng, 6):
            moved = NOW - timedelta(seconds=rng.randint(0, 2 * 3600))
            await OutboundMessage.filter(id=pk).update(
                **rng.choice(
                    (
                        {"sent_at": moved},
                        {"send_at": moved},
                        {"sent_at": moved, "send_at": moved - timedelta(milliseconds=1500)},
                        {"sent_at": None},
                    )
                )
            )
    elif what == 9:  # a whole row saved again, and one statement moving many send times
        for row in await OutboundMessage.filter(id__in=await _some_ids(rng, 3)):
            row.attempts += 1
            await row.save()
        await _sql.execute(
            "UPDATE outbound_message SET send_at = ? WHERE id IN (SELECT id FROM"
            " outbound_message ORDER BY id DESC LIMIT 15)",
            [NOW - timedelta(minutes=rng.randint(0, 90), milliseconds=rng.randint(0, 999))],
        )
    else:
        with pytest.raises(_Rollback):
            async with in_transaction():
                await OutboundMessage.bulk_create([_message(rng, n * 100 + k) for k in range(5)])
                await OutboundMessage.filter(id__in=await _some_ids(rng, 5)).update(
                    status="cancelled"
                )
                raise _Rollback


@pytest.mark.parametrize("seed", [7, 2027])
async def test_kept_figures_equal_a_count_through_random_writes(db: None, seed: int) -> None:
    rng = random.Random(seed)
    await _agree()
    for n in range(1, 121):
        await _step(rng, n)
        if n % 5 == 0:
            await _agree()
    await OutboundMessage.all().delete()
    await _agree()
