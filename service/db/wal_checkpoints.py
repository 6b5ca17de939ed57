"""SQLite's WAL checkpoints, run by a thread of their own instead of inside commits.

SQLite copies the write-ahead log back into the database file (a checkpoint) from
inside whichever ``COMMIT`` takes the log past 1,000 pages. The service's connection
is one per process, shared by webhooks, the outbox and re-planning, so that copy held
it for everyone: at 5,000 participants a first plan's commits took 1.07 s in all with
SQLite's automatic checkpoints and 0.40 s without them, and one batch's commit reached
310 ms at 10,000. SQLite's own advice for that case is to switch the automatic
checkpoint off and run ``PRAGMA wal_checkpoint(PASSIVE)`` from another thread: a
passive checkpoint waits for no reader and no writer, and blocks neither.

Every process that opens the database file runs one (``open_database``), a second
connection on a daemon thread. Processes that checkpoint at once do no harm: one
copies, the others find the log busy and try again at the next turn.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["AUTOMATIC_FROM_PAGES", "EVERY_S", "WalCheckpointer"]

log = logging.getLogger("service.db")

# Between two checkpoints. A re-plan commits a few thousand pages a second at most;
# copying them once a second, rather than at each 1,000, copies a page changed by
# several commits once.
EVERY_S = 1.0
# SQLite's own checkpoint stays, as a net, for a log ten times its usual size (about
# 40 MB): should this thread stop or fall behind, the log still cannot grow for ever.
AUTOMATIC_FROM_PAGES = 10_000


class WalCheckpointer:
    """A daemon thread that checkpoints ``path``'s write-ahead log every ``every_s``
    seconds, on a connection of its own, until :meth:`stop`."""

    def __init__(self, path: Path, every_s: float = EVERY_S) -> None:
        self.path = path
        self.every_s = every_s
        self.last: tuple[int, int] = (0, 0)  # the log's pages, and how many are copied
        self._failing = ""  # the last failure, said once until a pass succeeds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop, after the last pass (the pages still in the log are copied by the
        last connection to close, as SQLite does)."""
        self._stopping.set()
        self._thread.join(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=0)) as conn:
                while not self._stopping.wait(self.every_s):
                    self.checkpoint(conn)
        except Exception:  # SQLite's own checkpoint (AUTOMATIC_FROM_PAGES) takes over
            log.exception("the WAL checkpointer stopped")

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """One passive checkpoint. A failure (a full disk) is logged once, and each
        pass tries again: the log only grows meanwhile, as it does under a long read."""
        try:
            busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            if str(exc) != self._failing:
                self._failing = str(exc)
                log.warning(
                    "WAL checkpoints failing, trying again every %g s: %s", self.every_s, exc
                )
            return
        if self._failing:
            self._failing = ""
            log.info("WAL checkpoints work again")
        self.last = (logged, copied)
        if busy:
            log.debug("WAL checkpoint: another connection was checkpointing")
