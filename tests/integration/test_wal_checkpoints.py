"""SQLite's WAL checkpoints run on a thread of their own, not inside the service's
commits: the process's one connection is shared by webhooks, the outbox and
re-planning, and a checkpoint inside a commit held it for all of them."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tortoise import connections

from service.db.lifecycle import close_database, open_database, wal_checkpointer
from service.db.wal_checkpoints import AUTOMATIC_FROM_PAGES, WalCheckpointer


def _written(path: Path, rows: int) -> sqlite3.Connection:
    """A WAL database with ``rows`` rows committed and no checkpoint of its own."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * rows)
    conn.commit()
    return conn


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the checkpointer did not get there"
        time.sleep(0.01)


def test_a_pass_copies_the_log_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    writer = _written(path, 5_000)
    before = path.stat().st_size
    checkpointer = WalCheckpointer(path)
    with contextlib.closing(sqlite3.connect(path)) as own:
        checkpointer.checkpoint(own)
    logged, copied = checkpointer.last
    assert logged > 200 and copied == logged
    assert path.stat().st_size > before + 200 * 4096  # the rows are in the file now
    writer.close()


def test_the_thread_checkpoints_until_stopped(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    writer = _written(path, 10)
    checkpointer = WalCheckpointer(path, every_s=0.01)
    checkpointer.start()
    writer.executemany("INSERT INTO t VALUES (?)", [("y" * 200,)] * 2_000)
    writer.commit()
    _until(lambda: checkpointer.last[0] > 100 and checkpointer.last[1] == checkpointer.last[0])
    checkpointer.stop()
    assert not checkpointer.running
    writer.close()


def test_a_failing_checkpoint_is_said_once_and_its_end_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite3"
    _written(path, 10).close()
    checkpointer = WalCheckpointer(path)
    gone = sqlite3.connect(path)
    gone.close()  # every statement on it fails
    with caplog.at_level(logging.INFO, logger="service.db"):
        checkpointer.checkpoint(gone)
        checkpointer.checkpoint(gone)
        with contextlib.closing(sqlite3.connect(path)) as own:
            checkpointer.checkpoint(own)
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2, said
    assert said[0].startswith("WAL checkpoints failing") and said[1] == "WAL checkpoints work again"


async def test_the_service_connection_leaves_checkpoints_to_the_thread(database_url: str) -> None:
    await open_database(database_url)
    try:
        checkpointer = wal_checkpointer()
        if not database_url.startswith("sqlite"):
            assert checkpointer is None  # PostgreSQL checkpoints on its own
            return
        assert checkpointer is not None and checkpointer.running
        _, rows = await connections.get("default").execute_query("PRAGMA wal_autocheckpoint")
        assert tuple(rows[0]) == (AUTOMATIC_FROM_PAGES,)
    finally:
        await close_database()
    assert wal_checkpointer() is None and not checkpointer.running
