"""A concurrent writer for bench_edc --sequencing: another process inserting check-ins.

It inserts one check-in at a time (each its own transaction, as a request does), every
``PAUSE_S``, and records how long each insert took until the stop file appears; then it
prints the latencies (ms) as JSON. Run by bench_edc, not by hand:

    python -m bench.edc_writer DATABASE_URL PARTICIPANT_ID STOP_FILE
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

PAUSE_S = 0.005
_COLUMNS = (
    "participant_id, checkin_key, questionnaire, channel, version, answers, raw_texts, "
    "complete, late, submitted_at"
)


def _sqlite(path: str, participant: int, stop: Path) -> list[float]:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    latencies, n = [], 0
    while not stop.exists():
        n += 1
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            f"INSERT INTO checkin ({_COLUMNS}) VALUES (?, ?, 'symptoms', 'app', 1, "  # noqa: S608  # fixed names
            "'{\"symptoms\": []}', '[]', 1, 0, ?)",
            (participant, f"bench:writer:{time.time_ns()}:{n}", datetime.now(UTC).isoformat()),
        )
        conn.execute("COMMIT")
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(PAUSE_S)
    conn.close()
    return latencies


async def _postgres(url: str, participant: int, stop: Path) -> list[float]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    latencies, n = [], 0
    try:
        while not stop.exists():  # noqa: ASYNC240  # a bench's own stop file
            n += 1
            start = time.perf_counter()
            await conn.execute(
                f"INSERT INTO checkin ({_COLUMNS}) VALUES ($1, $2, 'symptoms', 'app', 1, "  # noqa: S608  # fixed names
                "'{\"symptoms\": []}', '[]', true, false, $3)",
                participant,
                f"bench:writer:{time.time_ns()}:{n}",
                datetime.now(UTC),
            )
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(PAUSE_S)
    finally:
        await conn.close()
    return latencies


def main() -> None:
    url, participant, stop = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    if url.startswith("sqlite://"):
        latencies = _sqlite(url.removeprefix("sqlite://"), participant, stop)
    else:
        latencies = asyncio.run(_postgres(url, participant, stop))
    print(json.dumps(latencies))


if __name__ == "__main__":
    main()
