"""kill -9 in the middle of a push: REDCap stored the batch, the pusher never heard back.

The next push must neither lose nor double anything: the cursor did not move, so the
batch is built again with the same keys; the export-before-write sees REDCap already
holds exactly those values (no conflict), and the upsert lands on the same instances.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from service.actions.edc import push_to_redcap
from service.db.edc_models import EdcConflict
from service.domain.states import PushStatus
from service.ports import ManualClock
from service.runtime import Runtime
from tests.support.edc_year import walk_a_year
from tests.support.fakes.redcap_server import TEST_TOKEN, RedcapFakeServer
from tests.support.helpers import Client


async def _wait_for(predicate, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_kill_9_mid_push_neither_loses_nor_doubles(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    await walk_a_year(edc_client)
    await walk_a_year(edc_client, study_id="MSC-002", site="HBLT", phone="+56 9 7123 4567")
    rt: Runtime = edc_client.app.state.runtime
    settings = rt.settings
    redcap.delay_next_import(60)  # stored, then the answer never comes in time
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "REDCAP_API_URL": redcap.url,
        "REDCAP_API_TOKEN": TEST_TOKEN,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "edc", "push", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _wait_for(lambda: redcap.imports >= 1)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    stored = redcap.slots()
    assert stored  # REDCap has the batch; the service never recorded the acknowledgement

    assert isinstance(rt.clock, ManualClock)
    rt.clock.advance(minutes=11)  # the dead pusher's lock expires
    result = await push_to_redcap(rt, retry_delays=(0.0,))
    assert result.status == PushStatus.OK, result.detail
    assert result.conflicts == 0 and not await EdcConflict.exists()
    assert redcap.slots() == stored  # same slots, same values: nothing doubled or lost
    instances = sorted((k[0], k[3]) for k in redcap.slots("sintomas"))
    assert instances == [("MSC-001", "1"), ("MSC-001", "2"), ("MSC-002", "1"), ("MSC-002", "2")]
    again = await push_to_redcap(rt, retry_delays=(0.0,))
    assert again.rows == 0 and again.pending == 0


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "edc", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return int(process.returncode or 0), out.decode()


async def test_cli_push_dry_run_then_push(edc_client: Client, redcap: RedcapFakeServer) -> None:
    await walk_a_year(edc_client)
    settings = edc_client.app.state.runtime.settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key}
    code, out = await _cli(env, "push")
    assert code == 1 and "REDCap is not configured" in out
    env |= {"REDCAP_API_URL": redcap.url, "REDCAP_API_TOKEN": TEST_TOKEN}
    code, out = await _cli(env, "push", "--dry-run")
    assert code == 0 and out.splitlines()[-1].startswith("dry_run: 1 records")
    assert redcap.imports == 0 and '"record_id": "MSC-001"' in out
    code, out = await _cli(env, "push")
    assert code == 0 and "ok: 1 records" in out and ", 0 pending" in out
    assert redcap.imports >= 1
