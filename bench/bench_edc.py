"""Benchmark: the EDC feed for 100,000 check-ins (ODM export, REDCap push).

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_edc [--checkins 100000] [--participants 1000]
    .venv/bin/python -m bench.bench_edc --sequencing   # the sequencer alone

Each figure is printed next to a baseline measured in the same run:

- ODM export: the streamed Transactional ODM 1.3.2 document (sequencing excluded,
  timed separately), against loading the same check-in rows and serialising them to
  JSON in one go (the naive export). Peak memory is tracemalloc's peak for each.
- REDCap push: the full push (export-before-write, conflict check, import, baselines
  and cursor in the database) to the local REDCap double, against bare imports of the
  same rows in the same batch size to the same server.
- Sequencing (``--sequencing``): the first sequencing of the backlog in short batches
  (total, batches, the longest batch) while another process inserts check-ins one at
  a time, against the same writer with no sequencing (the baseline: its worst and
  median insert); then what a pull pays once the backlog is sequenced (nothing new,
  and 100 new check-ins), against the anti-join over whole tables it replaced.

Set BENCH_DATABASE_URL=postgres://… to run against PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
SYMPTOMS = ("fever", "chills", "rash", "cough", "diarrhea", "swelling")
SEVERITIES = ("mild", "moderate", "severe")


async def _measure(
    work: Callable[[], Awaitable[Any]], *, memory: bool = True
) -> tuple[float, float, Any]:
    """(seconds, peak MiB, result): timed untraced, then run again under tracemalloc
    for the peak (tracemalloc slows Python several times over)."""
    start = time.perf_counter()
    result = await work()
    elapsed = time.perf_counter() - start
    if not memory:
        return elapsed, 0.0, result
    tracemalloc.start()
    await work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2**20, result


async def _seed(participants: int, checkins: int) -> None:
    from service.db.models import Checkin, Participant

    rng = random.Random(12)
    people = []
    for n in range(participants):
        people.append(
            Participant(
                study_id=f"B-{n:05d}", site_id="CUA" if n % 2 else "HBLT",
                phone=f"+5696{n:07d}", timezone="America/Santiago", can_become_pregnant=False,
                baseline_infusion_date=date(2026, 1, 5) + timedelta(days=n % 60),
                sms_consent=True,
            )
        )  # fmt: skip
    await Participant.bulk_create(people, batch_size=1000)
    ids = [p.id for p in await Participant.all().only("id")]
    rows = []
    for i in range(checkins):
        chosen = rng.sample(SYMPTOMS, rng.randrange(0, 3))
        answers = {"symptoms": [{"code": c, "severity": rng.choice(SEVERITIES),
                                 "temperature_c": 38.2 if c == "fever" else None}
                                for c in chosen]}  # fmt: skip
        rows.append(
            Checkin(
                participant_id=ids[i % len(ids)], checkin_key=f"checkin:symptoms_weekly:{i}",
                questionnaire="symptoms", channel="app", answers=answers,
                submitted_at=NOW - timedelta(minutes=i),
            )
        )  # fmt: skip
        if len(rows) == 5000:
            await Checkin.bulk_create(rows)
            rows = []
    if rows:
        await Checkin.bulk_create(rows)


async def _odm(rt: Any) -> int:
    from service.actions.edc import start_odm_export
    from service.domain.actors import Actor
    from service.domain.states import StaffRole

    export = await start_odm_export(
        rt, Actor(kind="system", label="bench", role=StaffRole.ADMIN), None
    )
    size = 0
    with open(os.devnull, "w", encoding="utf-8") as sink:  # noqa: ASYNC230  # a bench
        async for chunk in export.chunks:
            sink.write(chunk)
            size += len(chunk)
    return size


async def _json() -> int:
    from service.db.models import Checkin

    rows = await Checkin.all().values()
    return len(json.dumps(rows, default=str))


async def _bare_imports(url: str, token: str, rows: list[dict[str, str]], batch: int) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for i in range(0, len(rows), batch):
            form = {"token": token, "content": "record", "action": "import", "format": "json",
                    "type": "flat", "overwriteBehavior": "normal", "returnContent": "ids",
                    "data": json.dumps(rows[i : i + batch])}  # fmt: skip
            async with session.post(url, data=form) as response:
                assert response.status == 200, await response.text()


async def _with_writer(
    url: str, folder: str, work: Callable[[], Awaitable[Any]]
) -> tuple[list[float], Any]:
    """Run ``work`` while bench.edc_writer inserts check-ins from another process;
    returns the writer's insert latencies (ms) and what ``work`` returned."""
    from service.db.models import Participant

    participant = await Participant.all().order_by("id").first()
    assert participant is not None
    stop = Path(folder) / f"stop-{time.time_ns()}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.edc_writer", url, str(participant.id), str(stop),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.sleep(1.5)  # the writer is up and inserting
        result = await work()
    finally:
        stop.touch()
        out, _ = await process.communicate()
    return json.loads(out), result


def _latency(ms: list[float]) -> str:
    return f"worst {max(ms):.1f} ms, median {statistics.median(ms):.1f} ms, {len(ms)} inserts"


async def _whole_table_anti_joins() -> int:
    """The scans sequencing ran before the mark: every source, from its first row."""
    from tortoise import connections

    from service.actions.edc._sequence import _SOURCES

    found = 0
    for src in _SOURCES:
        rows = await connections.get("default").execute_query_dict(
            f"SELECT s.id FROM {src.table} s LEFT JOIN edc_change e "  # noqa: S608  # fixed names
            f"ON e.source = '{src.source.value}' AND e.source_id = s.id "
            f"WHERE e.id IS NULL AND {src.condition} ORDER BY s.id LIMIT 2000"
        )
        found += len(rows)
    return found


async def _seed_planned(count: int) -> None:
    """``count`` planned (unsent) reminders, as a year's plan leaves: the mark passes
    them unfed, so they are watched until sent."""
    from service.db.models import OutboundMessage, Participant

    ids = [p.id for p in await Participant.all().only("id")]
    rows = []
    for n in range(count):
        rows.append(
            OutboundMessage(
                participant_id=ids[n % len(ids)], kind="reminder", purpose="visit",
                occurrence=f"bench:{n}", dedupe_key=f"bench:planned:{n}",
                message_key="visit_reminder", send_at=NOW + timedelta(days=1 + n % 300),
                created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        if len(rows) == 5000:
            await OutboundMessage.bulk_create(rows)
            rows = []
    if rows:
        await OutboundMessage.bulk_create(rows)


async def sequencing(participants: int, checkins: int, planned: int = 0) -> None:
    from service.actions.edc import sequence_backlog
    from service.actions.edc._sequence import sequence_changes
    from service.actions.participants import sync_sites
    from service.composition import build_runtime
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.ports import ManualClock
    from service.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        secret = "bench-secret-key-0123456789-0123456789"  # noqa: S105  # a throwaway bench key
        settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": secret})
        await open_database(url)
        try:
            await apply_migrations()
            await sync_sites(build_runtime(settings, clock=ManualClock(NOW)))
            await _seed(participants, checkins)
            await _seed_planned(planned)
            idle, _ = await _with_writer(url, folder, lambda: asyncio.sleep(3))
            busy, run = await _with_writer(url, folder, lambda: sequence_backlog(NOW))
            await sequence_changes(NOW)  # what the writer added meanwhile
            nothing_s, _, _ = await _measure(lambda: sequence_changes(NOW), memory=False)
            full_s, _, _ = await _measure(_whole_table_anti_joins, memory=False)
            await _seed_more(100)
            hundred_s, _, added = await _measure(lambda: sequence_changes(NOW), memory=False)
        finally:
            await close_database()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"EDC sequencing, {checkins} check-ins of {participants} participants,"
        f" {planned} planned messages watched ({backend})"
    )
    longest_ms = run.longest_batch_s * 1000
    print(f"  first sequencing in batches: {run.added} changes in {run.seconds:.1f} s "
          f"({run.rate:.0f}/s), {run.batches} batches, longest {longest_ms:.0f} ms")  # fmt: skip
    print(f"  a concurrent writer's insert meanwhile: {_latency(busy)}")
    print(f"  the same writer, no sequencing (baseline): {_latency(idle)}")
    print(f"  a pull's sequencing once caught up: {nothing_s * 1000:.1f} ms with nothing new, "
          f"{hundred_s * 1000:.1f} ms for {added} new check-ins")  # fmt: skip
    print(f"  the whole-table anti-joins it replaced (baseline): {full_s * 1000:.1f} ms")


async def _seed_more(count: int) -> None:
    from service.db.models import Checkin, Participant

    participant = await Participant.all().order_by("id").first()
    assert participant is not None
    await Checkin.bulk_create(
        [
            Checkin(
                participant_id=participant.id,
                checkin_key=f"bench:more:{n}",
                questionnaire="symptoms",
                channel="app",
                answers={"symptoms": []},
                submitted_at=NOW,
            )
            for n in range(count)
        ]
    )


async def main(participants: int, checkins: int) -> None:
    from service.actions.edc import BATCH, push_to_redcap, redcap_setup_files
    from service.actions.edc._sequence import sequence_changes
    from service.actions.participants import sync_sites
    from service.adapters.redcap_http import RedcapHttpApi
    from service.composition import build_runtime
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.ports import ManualClock
    from service.settings import load_settings
    from tests.support.fakes.redcap_server import TEST_TOKEN, RedcapFakeServer

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        secret = "bench-secret-key-0123456789-0123456789"  # noqa: S105  # a throwaway bench key
        settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": secret})
        setup = redcap_setup_files(build_runtime(settings))
        await open_database(url)
        try:
            await apply_migrations()
            with RedcapFakeServer(setup) as redcap, RedcapFakeServer(setup) as bare:
                rt = build_runtime(settings, clock=ManualClock(NOW),
                                   redcap=RedcapHttpApi(redcap.url, TEST_TOKEN))  # fmt: skip
                await sync_sites(rt)
                await _seed(participants, checkins)
                start = time.perf_counter()
                sequenced = await sequence_changes(NOW)
                sequencing = time.perf_counter() - start
                odm_s, odm_mib, odm_chars = await _measure(lambda: _odm(rt))
                json_s, json_mib, json_chars = await _measure(_json)
                push_s, _, result = await _measure(lambda: push_to_redcap(rt), memory=False)
                keys = ("record_id", "redcap_event_name", "redcap_repeat_instrument",
                        "redcap_repeat_instance")  # fmt: skip
                rows = [dict(r, **dict(zip(keys, k, strict=True)))
                        for k, r in redcap.slots().items()]  # fmt: skip
                start = time.perf_counter()
                await _bare_imports(bare.url, TEST_TOKEN, rows, BATCH)
                bare_s = time.perf_counter() - start
        finally:
            await close_database()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"EDC feed, {checkins} check-ins of {participants} participants ({backend})")
    print(f"  sequencing: {sequenced} changes in {sequencing:.1f} s")
    mib = 2**20
    print(f"  ODM export (streamed): {odm_s:.1f} s, peak {odm_mib:.1f} MiB, "
          f"{odm_chars / mib:.0f} MiB of XML")  # fmt: skip
    print(f"  JSON of the same rows (baseline): {json_s:.1f} s, peak {json_mib:.1f} MiB, "
          f"{json_chars / mib:.0f} MiB")  # fmt: skip
    print(f"  REDCap push: {result.status}, {result.rows} rows in {push_s:.1f} s "
          f"({result.rows / push_s:.0f} rows/s)")  # fmt: skip
    print(f"  bare imports of the same rows (baseline): {bare_s:.1f} s "
          f"({len(rows) / bare_s:.0f} rows/s)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--checkins", type=int, default=100_000)
    parser.add_argument("--sequencing", action="store_true", help="the sequencer alone")
    parser.add_argument(
        "--planned", type=int, default=0, help="with --sequencing: planned messages watched"
    )
    args = parser.parse_args()
    if args.sequencing:
        asyncio.run(sequencing(args.participants, args.checkins, args.planned))
    else:
        asyncio.run(main(args.participants, args.checkins))
