"""The embedded SQLite file with its disk full, or its file and folder read-only.

Full: every write is refused with 507 and ``Retry-After`` naming the cause, readiness
and the metrics say so, nothing is half-written, and writes work again the moment
space returns, without a restart. (``PRAGMA max_page_count`` caps the file where it
stands: SQLite then answers exactly as on a full disk, "database or disk is full".)

Read-only: ``followup migrate`` and ``followup serve`` stop at once with one line
naming the file and the cause (they hung for ever before). Run as an unprivileged
user when the tests run as root, for whom nothing is read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from tortoise import connections

from service.db.models import InboundMessage, Participant
from tests.conftest import SECRET
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.inbound_support import captured, post_sms, settings  # noqa: F401  # fixture

NOBODY = 65534
STOP_BUDGET_S = 30.0  # "at once": interpreter start and imports on a loaded machine


def _sqlite_only(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded SQLite default's own faults")


async def _in_the_app(client: Client, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` on the app's event loop: Tortoise gives each loop its own SQLite
    connection, and a pragma holds only for the connection that ran it."""
    await asyncio.to_thread(client.blocking_portal.call, work)


async def _cap_the_file() -> None:
    conn = connections.get("default")
    await conn.execute_script("VACUUM")  # no free pages left inside the file
    _, rows = await conn.execute_query("PRAGMA page_count")
    pages = int(dict(rows[0])["page_count"])
    await conn.execute_script(f"PRAGMA max_page_count = {pages}")


async def _uncap_the_file() -> None:
    await connections.get("default").execute_script("PRAGMA max_page_count = 1073741823")


async def test_a_full_disk_refuses_writes_clearly_and_recovers_by_itself(
    client: Client, database_url: str
) -> None:
    _sqlite_only(database_url)
    headers = await staff_headers(client, "admin@uandes.cl", "admin")
    first = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    assert first.status_code == 201
    stored = await InboundMessage.all().count()
    await _in_the_app(client, _cap_the_file)
    try:
        answers = []
        for i in range(5):
            body = enrollment(study_id=f"MSC-1{i:02d}", phone=f"+5696111{i:04d}")
            answers.append(await client.post("/api/v1/participants", json=body, headers=headers))
            answers.append(await post_sms(client, captured(Body="x" * 1500)))
        ready = await client.get("/health/ready")
        metrics = (await client.get("/metrics", headers=headers)).text
    finally:
        await _in_the_app(client, _uncap_the_file)
    statuses = [a.status_code for a in answers]
    # A row that still fits in a page the file has is written (as on a real disk).
    assert set(statuses) <= {200, 201, 507} and statuses.count(507) >= 8, statuses
    refused = [a for a in answers if a.status_code == 507]
    assert all(a.headers["retry-after"] for a in refused)
    assert "disk is full" in refused[0].json()["detail"]
    assert ready.status_code == 503 and ready.json()["unwell"] == ["database"]
    assert ready.json()["checks"]["database"].startswith("full: writes refused since")
    assert 'followup_database_fault{fault="full"} 1.0' in metrics
    # Nothing half-written, nothing accepted and lost: exactly the answered rows exist.
    assert await Participant.all().count() == 1 + statuses.count(201)
    assert await InboundMessage.all().count() == stored + statuses.count(200)

    again = await client.post(
        "/api/v1/participants",
        json=enrollment(study_id="MSC-200", phone="+56961119999"),
        headers=headers,
    )
    assert again.status_code == 201, again.text
    assert (await post_sms(client, captured(Body="Hola"))).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200


@pytest.fixture
def read_only_database() -> Iterator[Path]:
    """A migrated database whose file and folder are then made read-only."""
    folder = Path(tempfile.mkdtemp(prefix="followup-ro-"))
    path = folder / "followup.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite://{path}", "SECRET_KEY": SECRET}
    subprocess.run(  # our own command line, no shell
        [sys.executable, "-m", "service", "migrate"], env=env, check=True, capture_output=True
    )
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield path
    finally:
        folder.chmod(stat.S_IRWXU)
        shutil.rmtree(folder, ignore_errors=True)


def _unprivileged() -> list[str]:
    """The command prefix that drops root (for whom nothing is read-only)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: nothing is read-only to root")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"]])
def test_a_read_only_database_stops_start_up_at_once_with_one_line(
    read_only_database: Path, command: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "SECRET"))}
    env.update(DATABASE_URL=f"sqlite://{read_only_database}", SECRET_KEY=SECRET)
    began = time.monotonic()
    with contextlib.suppress(subprocess.TimeoutExpired):
        done = subprocess.run(  # noqa: S603  # our own command line, no shell
            [*_unprivileged(), sys.executable, "-m", "service", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=STOP_BUDGET_S,
        )
    took = time.monotonic() - began
    assert took < STOP_BUDGET_S, "start-up hung on the read-only database"
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert str(read_only_database) in lines[0] and "read-only" in lines[0]
