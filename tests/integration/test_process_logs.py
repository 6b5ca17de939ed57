"""Run ``serve``, ``worker`` and a CLI command as real processes and grep their logs.

Nothing personal may reach a log: no phone number (in any form), no bearer token,
password, one-time code or message body. The serve log is JSON lines (LOG_FORMAT=json)
and every line written while serving a request carries that request's id. The same
``serve`` also shows that X-Forwarded-For is believed from nobody by default: a
client cannot pick its own address to escape the per-address sign-in throttle.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET, TEST_PASSWORD_HASH_COST

# A number no other test uses: this test's rows are not truncated before it runs.
PHONE = "+56961239876"
PHONE_FORMS = ("+56961239876", "56961239876", "961239876", "6123 9876", "%2B56961239876")
PASSWORD = "correct-horse-battery"
ADMIN = "log-admin@example.org"


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "LOG_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        SMS_BACKEND="console",
        LOG_FORMAT="json",
        DISPATCH_INTERVAL_SECONDS="1",
        SMS_RATE_PER_SECOND="0",
        PASSWORD_HASH_COST=TEST_PASSWORD_HASH_COST,
        PYTHONUNBUFFERED="1",
    )
    return env


def _followup(*args: str) -> list[str]:
    return [sys.executable, "-m", "service", *args]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return _env(database_url, tmp_path)


def _wait_for(path: Path, pattern: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        match = re.search(pattern, text)
        if match:
            return match.group(1)
        if proc.poll() is not None:
            raise AssertionError(f"process ended early:\n{text[-2000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {pattern!r}")


def _daytime_zone() -> str:
    """A zone where it is daytime now, so the worker's sends are not held back by
    quiet hours (21:00-09:00 local) whatever hour the suite runs at."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    candidates = (
        "America/Santiago",
        "Europe/Madrid",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Pacific/Auckland",
        "America/Los_Angeles",
        "America/New_York",
    )
    now = datetime.now(UTC)
    for zone in candidates:
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 19:
            return zone
    return "America/Santiago"  # unreachable: the zones cover every hour


class Serve:
    """A running ``followup serve``; ``stop()`` ends it (SIGTERM) and waits."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603  # our own command line, no shell
                _followup("serve", "--port", "0"), env=env, stdout=out, stderr=subprocess.STDOUT
            )
        port = _wait_for(log, r"Uvicorn running on http://127\.0\.0\.1:(\d+)", self.proc, 60)
        self.base_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[Serve]:
    server = Serve(env, tmp_path / "serve.log")
    try:
        yield server
    finally:
        server.stop()


def _make_planned_messages_due(database_url: str) -> None:
    """So that the worker, not serve, sends something while we watch its log."""
    from datetime import UTC, datetime, timedelta

    from service.db.lifecycle import close_database, open_database
    from service.db.models import OutboundMessage

    async def work() -> None:
        await open_database(database_url)
        try:
            due = datetime.now(UTC) - timedelta(minutes=1)
            await OutboundMessage.filter(status="planned", participant__study_id="LOG-001").update(
                send_at=due, expires_at=None
            )
        finally:
            await close_database()

    asyncio.run(work())


def _sent_bodies(database_url: str) -> list[str]:
    from service.db.lifecycle import close_database, open_database
    from service.db.models import OutboundMessage

    async def work() -> list[str]:
        await open_database(database_url)
        try:
            rows = await OutboundMessage.filter(
                participant__study_id="LOG-001", body__isnull=False
            ).values_list("body", flat=True)
            return [str(body) for body in rows if body and len(str(body)) > 20]
        finally:
            await close_database()

    return asyncio.run(work())


def _assert_nothing_personal(text: str, extra_secrets: list[str]) -> None:
    for form in PHONE_FORMS:
        assert form not in text, f"phone number {form!r} in the log"
    # Request ids are random hex: a six-digit code can turn up inside one by chance.
    without_ids = re.sub(r"\b[0-9a-f]{32}\b", "<request id>", text)
    for secret in extra_secrets:
        assert secret not in without_ids, f"secret {secret[:6]}… in the log"
    assert not re.search(r"\bfu_[A-Za-z0-9_-]{8,}", text), "a bearer token in the log"


def test_cli_serve_and_worker_logs_hold_nothing_personal(
    env: dict[str, str], serve: Serve, tmp_path: Path, database_url: str
) -> None:
    base, serve_log = serve.base_url, serve.log
    added = subprocess.run(  # noqa: S603  # our own command line, no shell
        _followup("user", "add", ADMIN, "--role", "admin"),
        env=env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    secrets: list[str] = [PASSWORD]
    bodies: list[str] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        token = http.post("/api/v1/auth/token", json={"email": ADMIN, "password": PASSWORD})
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        secrets.append(access)
        auth = {"Authorization": f"Bearer {access}"}
        enrolled = http.post(
            "/api/v1/participants",
            headers=auth,
            json={
                "study_id": "LOG-001",
                "site": "CUA",
                "phone": PHONE,
                "can_become_pregnant": False,
                "baseline_infusion_date": time.strftime("%Y-%m-%d"),
                "sms_consent": True,
                "timezone": _daytime_zone(),
            },
        )
        assert enrolled.status_code == 201, enrolled.text
        assert http.get("/api/v1/participants", params={"phone": PHONE}, headers=auth).is_success
        listed = http.get(f"/api/v1/participants?q={PHONE}&token={access}", headers=auth)
        assert listed.status_code == 200
        request_id = listed.headers["x-request-id"]
        http.post("/api/v1/mobile/auth/request-code", json={"phone": PHONE})
        http.post("/api/v1/mobile/auth/verify", json={"phone": PHONE, "code": "481516"})
        secrets.append("481516")
        messages = http.get("/api/v1/participants/LOG-001/messages", headers=auth).json()
        bodies = [m["body"] for m in messages if m.get("body") and len(m["body"]) > 20]

        # X-Forwarded-For from an untrusted client: ignored, the limit holds.
        for n in range(20):
            http.post(
                "/api/v1/auth/token",
                json={"email": f"nobody{n}@example.org", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
        last = http.post(
            "/api/v1/auth/token",
            json={"email": ADMIN, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
        assert last.status_code == 429, last.text
        assert int(last.headers["retry-after"]) > 0

    serve.stop()
    _make_planned_messages_due(database_url)
    worker_log = tmp_path / "worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603  # our own command line, no shell
            _followup("worker"), env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(worker_log, r"(worker running)", worker, 60)
        _wait_for(worker_log, r"(console sms)", worker, 30)  # the worker sends
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    bodies += _sent_bodies(database_url)
    assert bodies, "nothing was sent, so nothing was checked"
    serve_text = serve_log.read_text()
    everything = "\n".join([added.stdout, added.stderr, serve_text, worker_log.read_text()])
    _assert_nothing_personal(everything, secrets + bodies)

    lines = [json.loads(line) for line in serve_text.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access, "no access log lines"
    assert all(line["request_id"] != "-" for line in access)
    mine = [line for line in access if line["request_id"] == request_id]
    assert len(mine) == 1 and "q=…" in mine[0]["message"]
    assert "worker stopped" in worker_log.read_text()
