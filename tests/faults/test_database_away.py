"""PostgreSQL reset, refused and black-holed while requests arrive: no 500.

``DATABASE_URL`` points at a TCP proxy (tests/support/tcp_fault_proxy.py) in front of
the test database. In each fault the API, the dashboard and the inbound webhook
answer 503 with ``Retry-After``, readiness answers 503 within its check timeout and
names the database, the log has one line per outage and no traceback, and once the
proxy forwards again everything answers as before without a restart.

PostgreSQL only (the embedded SQLite file has no network to lose).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.ports import ManualClock, SmsGateway
from service.settings import load_settings
from tests.conftest import SECRET
from tests.support.dashboard_support import dashboard_login
from tests.support.fakes.twilio_server import TEST_AUTH_TOKEN, sign
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.inbound_support import WEBHOOK, captured
from tests.support.tcp_fault_proxy import Mode, TcpFaultProxy

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only",
)

READY_BUDGET_S = 3.0  # the check's own timeout is 1 s; slack for a loaded machine
RECOVERY_BUDGET_S = 20.0
REQUESTS_PER_FAULT = 3


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpFaultProxy]:
    parts = urlsplit(database_url)
    server = TcpFaultProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    try:
        yield server
    finally:
        server.stop()


def _through(database_url: str, proxy: TcpFaultProxy) -> str:
    parts = urlsplit(database_url)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    return parts._replace(netloc=netloc, query="timeout=2&command_timeout=2").geturl()


async def _burst(client: Client, headers: dict[str, str], n: int) -> list[tuple[str, int, str]]:
    """``n`` of each kind of request at once: (what, status, Retry-After)."""
    settings = client.app.state.runtime.settings

    async def one(what: str, i: int) -> tuple[str, int, str]:
        if what == "api-read":
            response = await client.get("/api/v1/participants", headers=headers)
        elif what == "api-write":
            body = enrollment(study_id=f"MSC-9{i:02d}", phone=f"+5696123{i:04d}")
            response = await client.post("/api/v1/participants", json=body, headers=headers)
        elif what == "webhook":
            form = captured(Body="Hola", From="+56961234567")
            signature = sign(f"{settings.public_base_url}{WEBHOOK}", form, TEST_AUTH_TOKEN)
            response = await client.post(
                WEBHOOK, data=form, headers={"X-Twilio-Signature": signature}
            )
        else:
            response = await client.get("/dashboard/participants")
        return what, response.status_code, response.headers.get("retry-after", "")

    kinds = ("api-read", "api-write", "webhook", "dashboard")
    return list(await asyncio.gather(*(one(k, i) for i in range(n) for k in kinds)))


async def _ready_again(client: Client) -> float:
    began = time.monotonic()
    while (await client.get("/health/ready")).status_code != 200:
        assert time.monotonic() - began < RECOVERY_BUDGET_S, "the database never came back"
        await asyncio.sleep(0.2)
    return time.monotonic() - began


async def test_reset_refused_and_black_holed_database_answers_503_not_500(
    db: None,
    database_url: str,
    proxy: TcpFaultProxy,
    clock: ManualClock,
    gateway: SmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": _through(database_url, proxy),
            "SECRET_KEY": SECRET,
            "SMS_RATE_PER_SECOND": "0",
            "PUBLIC_BASE_URL": "http://testserver.local",
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        }
    )
    app = create_app(settings, clock=clock, gateway=gateway, run_scheduler=False)
    figures: dict[Mode, dict[str, object]] = {}
    async with AsyncTestClient(app=app) as client:
        headers = await staff_headers(client, "admin@uandes.cl", "admin")
        await dashboard_login(client, "coord@uandes.cl")
        created = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
        assert created.status_code == 201, created.text
        caplog.clear()
        for mode in ("reset", "refuse", "blackhole"):
            proxy.set_mode(mode)
            began = time.monotonic()
            ready = await client.get("/health/ready")
            ready_s = time.monotonic() - began
            answers = await _burst(client, headers, REQUESTS_PER_FAULT)
            proxy.set_mode("pass")
            recovered_s = await _ready_again(client)
            after = await client.get("/api/v1/participants", headers=headers)
            figures[mode] = {
                "ready_s": round(ready_s, 2),
                "statuses": Counter(status for _, status, _ in answers),
                "recovered_s": round(recovered_s, 2),
            }
            assert ready.status_code == 503 and ready.json()["unwell"][0] == "database"
            assert ready_s < READY_BUDGET_S, figures
            refused = [(what, status, retry) for what, status, retry in answers if status != 200]
            assert all(status == 503 and retry for _, status, retry in refused), answers
            assert not any(status == 500 for _, status, _ in answers)
            assert after.status_code == 200
    print("database faults:", figures)  # the figures the docs quote
    tracebacks = [r for r in caplog.records if r.exc_info]
    outage_lines = [r for r in caplog.records if r.name == "service.database" and r.levelno >= 40]
    assert tracebacks == []
    assert 1 <= len(outage_lines) <= 3  # one per outage (at most one per fault)
