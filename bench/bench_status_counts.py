"""Benchmark: what SQLite's kept figures for ``/metrics`` (migration 0042: counts by
status, each sent message's lateness) add to a write.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_status_counts [--participants 2000] [--writes 1500]

Seeds the database of ``bench_metrics`` (SQLite only: PostgreSQL keeps no counts),
then times, warm, one-row transactions that change a message's status (a receipt:
sent to delivered and back), the same changes in one transaction (the statement
without its commit), and inserts of planned messages in batches of 500 (a plan),
with the triggers and without them (dropped, then made again), alternating rounds so
that a change in the machine's load falls on both alike. The ORM's figures carry its
noise; the same writes, and sends (a status and a ``sent_at``), are then timed
through the sqlite3 module alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.bench_metrics import NOW, seeded


async def _receipts(ids: list[int], flip: int, *, together: bool = False) -> float:
    """Each id's status changed in its own transaction (a receipt, commit included);
    ``together``: all in one transaction (the statement's own cost). Seconds a change."""
    from tortoise.transactions import in_transaction

    from service.db.models import OutboundMessage

    status = "delivered" if flip % 2 == 0 else "sent"

    async def change(n: int, pk: int) -> None:
        await OutboundMessage.filter(id=pk).update(
            status=status, delivered_at=NOW, updated_at=NOW + timedelta(microseconds=n)
        )

    start = time.perf_counter()
    if together:
        async with in_transaction():
            for n, pk in enumerate(ids):
                await change(n, pk)
    else:
        for n, pk in enumerate(ids):
            async with in_transaction():
                await change(n, pk)
    return (time.perf_counter() - start) / len(ids)


async def _plan(round_: int, batches: int) -> float:
    """Batches of 500 planned messages inserted; seconds per row."""
    from service.db.models import OutboundMessage

    start = time.perf_counter()
    for b in range(batches):
        await OutboundMessage.bulk_create(
            [
                OutboundMessage(
                    to_phone="+56970000000",
                    kind="reminder",
                    purpose="reminder:bench",
                    occurrence=f"{round_}:{b}:{k}",
                    dedupe_key=f"plan:{round_}:{b}:{k}",
                    message_key="reminder.clinic.week_before",
                    params={},
                    send_at=NOW + timedelta(days=1, minutes=k),
                    created_at=NOW,
                    updated_at=NOW,
                )
                for k in range(500)
            ],
            batch_size=500,
        )
    return (time.perf_counter() - start) / (batches * 500)


_WRITES = (  # what a raw write does, and its statement
    (
        "receipt",
        "UPDATE outbound_message SET status = ?, delivered_at = ?, updated_at = ? WHERE id = ?",
    ),
    ("send", "UPDATE outbound_message SET status = ?, sent_at = ?, updated_at = ? WHERE id = ?"),
)


def _raw(path: Path, ids: list[int], rounds: int, creates: list[str]) -> dict[bool, list[float]]:
    """Writes through the sqlite3 module alone (no ORM, no thread hop), so the
    triggers' share is not lost in the noise of the rest: per write, the median of
    ``rounds`` alternating rounds, in µs. A receipt (sent to delivered and back: the
    status counts) and a send (status and ``sent_at``: the counts and the lateness),
    each as one-row transactions (commit included) and as 1,500 statements in one
    transaction (the statement alone); and a planned row inserted, 500 a statement."""
    import statistics

    took: dict[bool, list[list[float]]] = {
        True: [[] for _ in range(5)],
        False: [[] for _ in range(5)],
    }
    columns = (
        "kind, purpose, occurrence, dedupe_key, message_key, params, language, send_at,"
        " status, attempts, created_at, updated_at"
    )
    at = NOW.isoformat(" ")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        for r in range(rounds):
            for triggers in (True, False) if r % 2 == 0 else (False, True):
                if not triggers:
                    for statement in creates:
                        db.execute(f"DROP TRIGGER {statement.split()[2]}")
                for w, (what, update) in enumerate(_WRITES):
                    done = ("delivered", "sent") if what == "receipt" else ("sent", "sending")
                    start = time.perf_counter()
                    for n, pk in enumerate(ids):
                        db.execute("BEGIN IMMEDIATE")
                        db.execute(update, (done[0], f"{at}.{n:06d}", f"{at}.{n:06d}", pk))
                        db.execute("COMMIT")
                    took[triggers][2 * w].append((time.perf_counter() - start) / len(ids))
                    start = time.perf_counter()
                    db.execute("BEGIN IMMEDIATE")
                    for n, pk in enumerate(ids):
                        db.execute(update, (done[1], f"{at}.{n + 1:06d}", at, pk))
                    db.execute("COMMIT")
                    took[triggers][2 * w + 1].append((time.perf_counter() - start) / len(ids))
                rows = [
                    (
                        *("reminder", "p", str(k), f"raw:{r}:{triggers}:{k}", "m", "{}", "es"),
                        *(at, "planned", 0, at, at),
                    )
                    for k in range(500)
                ]
                marks = ", ".join("?" * 12)
                start = time.perf_counter()
                db.execute("BEGIN IMMEDIATE")
                insert = f"INSERT INTO outbound_message ({columns}) VALUES ({marks})"  # noqa: S608  # constants
                db.executemany(insert, rows)
                db.execute("COMMIT")
                took[triggers][4].append((time.perf_counter() - start) / len(rows))
                if not triggers:
                    for statement in creates:
                        db.execute(statement)
    return {k: [statistics.median(v) * 1e6 for v in runs] for k, runs in took.items()}


async def bench(participants: int, writes: int, rounds: int) -> None:
    from tortoise import connections

    from service.db.migrations import __name__ as migrations
    from service.db.models import OutboundMessage

    kept = __import__(f"{migrations}.0042_metrics_kept_on_sqlite", fromlist=["_sqlite"])
    creates = [s for s in kept._sqlite() if s.startswith("CREATE TRIGGER")]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        async with seeded(url, participants, 50) as (_, messages):
            conn = connections.get("default")
            ids = list(
                await OutboundMessage.filter(status="sent")
                .limit(writes)
                .values_list("id", flat=True)
            )
            await _receipts(ids, 0)  # warm
            await _receipts(ids, 1)
            took: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
            for r in range(rounds):
                for triggers in (True, False) if r % 2 == 0 else (False, True):
                    if not triggers:
                        for statement in creates:
                            await conn.execute_script(f"DROP TRIGGER {statement.split()[2]}")
                    one = (await _receipts(ids, 0) + await _receipts(ids, 1)) / 2
                    alone = (
                        await _receipts(ids, 0, together=True)
                        + await _receipts(ids, 1, together=True)
                    ) / 2
                    row = await _plan(r * 2 + triggers, 10)
                    took[triggers].append((one, alone, row))
                    if not triggers:
                        for statement in creates:
                            await conn.execute_script(statement)
        raw = _raw(Path(folder) / "bench.sqlite3", ids, rounds * 3, creates)
    print(f"kept counts by status, {messages} outbound messages (SQLite), {rounds} rounds")
    for triggers, label in ((True, "with the triggers"), (False, "without")):
        ones = ", ".join(f"{t[0] * 1e6:.0f}" for t in took[triggers])
        alone = ", ".join(f"{t[1] * 1e6:.1f}" for t in took[triggers])
        rows = ", ".join(f"{t[2] * 1e6:.1f}" for t in took[triggers])
        print(f"  {label:18s} status change, one-row transaction (us): {ones}")
        print(f"  {'':18s} the same, 1,500 in one transaction (us each): {alone}")
        print(f"  {'':18s} planned row inserted, batches of 500 (us): {rows}")
    print(f"  through sqlite3 alone, medians of {rounds * 3} rounds (us a write):")
    heads = ("receipt", "statement", "send", "statement")
    print(f"  {'':18s} " + " ".join(f"{h:>9s}" for h in heads) + f" {'insert':>7s}")
    for triggers, label in ((True, "with the triggers"), (False, "without")):
        a, b, c, d, e = raw[triggers]
        print(f"  {label:18s} {a:9.1f} {b:9.1f} {c:9.1f} {d:9.1f} {e:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--writes", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(bench(args.participants, args.writes, args.rounds))


if __name__ == "__main__":
    main()
