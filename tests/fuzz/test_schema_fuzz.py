"""Schemathesis over the OpenAPI document: no 5xx, nothing the schema does not say.

Runs only with ``FUZZ_SCHEMA=1`` (``.ci/run`` sets it, on SQLite and on PostgreSQL):
it takes a few minutes, which the everyday suite should not. The service runs as a
real ``followup serve`` process on its own database, sending SMS through the official
twilio SDK to the fake Twilio server in this process, which is how the participant's
one-time code is read to obtain a participant token (no test-only route in the
service). Every operation is fuzzed twice, with a participant's token and with an
admin's; examples are derandomized (a fixed seed) and bounded by FUZZ_EXAMPLES.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import SECRET
from tests.support.fakes.twilio_server import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TwilioFakeServer,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("FUZZ_SCHEMA") != "1", reason="schema fuzzing runs in CI (FUZZ_SCHEMA=1)"
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN = "fuzz-admin@example.org"
PASSWORD = "fuzz-password-long-enough"
PHONE = "+56961230001"


@dataclass
class FuzzTarget:
    base_url: str
    admin_token: str
    participant_token: str
    log: Path


def _database(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite://{tmp / 'fuzz.sqlite3'}"
    fuzz_url = url + "_fuzz"  # keeps the suite's database name as its prefix

    async def recreate() -> None:
        from tests.conftest import _recreate_postgres

        await _recreate_postgres(fuzz_url)

    asyncio.run(recreate())
    return fuzz_url


def _drop_if_postgres(url: str) -> None:
    if not url.startswith("postgres"):
        return

    async def drop() -> None:
        import asyncpg  # type: ignore[import-untyped]  # no stubs

        base, _, name = url.replace("postgres://", "postgresql://", 1).rpartition("/")
        conn = await asyncpg.connect(base + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    done = subprocess.run(  # noqa: S603  # our own command line, no shell
        [sys.executable, "-m", "service", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _code_for(server: TwilioFakeServer, phone: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in server.messages:
            if message.to == phone:
                found = re.search(r"\b(\d{6})\b", message.body)
                if found:
                    return found.group(1)
        time.sleep(0.05)
    raise AssertionError("no one-time code reached the fake Twilio server")


@pytest.fixture(scope="session")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with TwilioFakeServer() as twilio:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "LOG_"))}
        env.update(
            DATABASE_URL=_database(tmp),
            SECRET_KEY=SECRET,
            SMS_BACKEND="twilio",
            TWILIO_ACCOUNT_SID=TEST_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
            TWILIO_FROM_NUMBER=TEST_FROM_NUMBER,
            TWILIO_API_BASE_URL=twilio.base_url,
            SMS_RATE_PER_SECOND="0",
            LOG_FORMAT="json",
            PYTHONUNBUFFERED="1",
        )
        _run(env, "migrate")
        _run(env, "user", "add", ADMIN, "--role", "admin", stdin=PASSWORD + "\n")
        log = tmp / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # our own command line, no shell
                [sys.executable, "-m", "service", "serve", "--port", "0"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            base = _wait_for_port(log, proc)
            with httpx.Client(base_url=base, timeout=30) as http:
                login = http.post("/api/v1/auth/token", json={"email": ADMIN, "password": PASSWORD})
                admin = login.json()["access_token"]
                enrolled = http.post(
                    "/api/v1/participants",
                    headers={"Authorization": f"Bearer {admin}"},
                    json={
                        "study_id": "FUZZ-001",
                        "site": "CUA",
                        "phone": PHONE,
                        "can_become_pregnant": True,
                        "baseline_infusion_date": time.strftime("%Y-%m-%d"),
                        "sms_consent": True,
                    },
                )
                assert enrolled.status_code == 201, enrolled.text
                http.post("/api/v1/mobile/auth/request-code", json={"phone": PHONE})
                verified = http.post(
                    "/api/v1/mobile/auth/verify",
                    json={"phone": PHONE, "code": _code_for(twilio, PHONE)},
                )
                assert verified.status_code == 200, verified.text
            yield FuzzTarget(base, admin, verified.json()["access_token"], log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            _drop_if_postgres(env["DATABASE_URL"])


def _wait_for_port(log: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", text)
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise AssertionError(text[-2000:])
        time.sleep(0.05)
    raise AssertionError("serve did not start")


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the fixed seed: the same examples on every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # report the first failure, do not shrink
)


def _fuzz_every_operation(target: FuzzTarget, token: str) -> list[str]:
    """Fuzz each operation; returns one line per failing operation.

    Schemathesis' pytest plugin does not run under pytest 9, so the operations are
    driven here with Hypothesis directly (same strategies, same checks).
    """
    api = schemathesis.openapi.from_url(target.base_url + "/schema/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()

        # Valid requests and invalid ones alike: neither may give a 5xx.
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @FUZZ
        @given(case=strategy)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=target.base_url, headers=headers, checks=CHECKS)

        try:
            fuzz()
        except BaseException as exc:  # collect all (exception groups too), report together
            if isinstance(exc, KeyboardInterrupt):
                raise
            first = str(exc).strip().splitlines()
            failures.append(f"{operation.label}: {' | '.join(first[:12])}")
    return failures


def test_with_a_participant_token(fuzz_target: FuzzTarget) -> None:
    failures = _fuzz_every_operation(fuzz_target, fuzz_target.participant_token)
    assert not failures, "\n".join(failures)


def test_with_an_admin_token(fuzz_target: FuzzTarget) -> None:
    failures = _fuzz_every_operation(fuzz_target, fuzz_target.admin_token)
    assert not failures, "\n".join(failures)
