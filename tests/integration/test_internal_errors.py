"""A 500 that still happens is logged with its traceback, redacted, under the request id
that the response carries too; every response carries an X-Request-ID."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from service.adapters.i18n import load_renderer
from service.app import create_app
from service.logs import build_handler
from service.ports import ManualClock, SmsGateway
from service.settings import Settings
from tests.support.helpers import enrollment, staff_headers

PHONE = "+56961234567"


class ExplodingTranslator:
    """A translator whose failure message echoes a phone number and a token."""

    def __init__(self) -> None:
        self.inner = load_renderer()
        self.armed = False

    def render(self, key: str, locale: str, /, **params: object) -> str:
        if self.armed:
            raise RuntimeError(f"render failed for {PHONE} with Bearer fu_abcdefghijklmnop")
        return self.inner.render(key, locale, **params)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = build_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def test_a_500_is_logged_with_traceback_and_request_id(
    settings: Settings,
    clock: ManualClock,
    gateway: SmsGateway,
    database_url: str,
    log_stream: io.StringIO,
) -> None:
    translator = ExplodingTranslator()
    app = create_app(
        settings, clock=clock, gateway=gateway, translator=translator, run_scheduler=False
    )
    async with AsyncTestClient(app=app) as client:
        from tests.conftest import _truncate

        await _truncate(database_url)
        from service.actions.participants import sync_sites

        await sync_sites(app.state.runtime)
        headers = await staff_headers(client, "admin@example.org", "admin")
        created = await client.post(
            "/api/v1/participants", json=enrollment(phone=PHONE), headers=headers
        )
        assert created.status_code == 201
        assert len(created.headers["x-request-id"]) >= 8
        translator.armed = True
        response = await client.get("/api/v1/participants/MSC-001/calendar", headers=headers)

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["extra"] == {"request_id": request_id}
    assert PHONE not in response.text
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1
    error = errors[0]
    assert error["request_id"] == request_id
    assert request_id in error["message"]
    assert "Traceback" in error["exception"] and "RuntimeError" in error["exception"]
    assert "/api/v1/participants/{study_id}/calendar" in error["message"]
    assert PHONE not in log_stream.getvalue()
    assert "fu_abcdefghijklmnop" not in log_stream.getvalue()


async def test_a_plain_caller_request_id_is_kept_a_hostile_one_is_not(client) -> None:  # type: ignore[no-untyped-def]
    kept = await client.get("/health/live", headers={"X-Request-ID": "abc-12345678"})
    assert kept.headers["x-request-id"] == "abc-12345678"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "+56961234567 \x7f"})
    assert replaced.headers["x-request-id"] != "+56961234567 \x7f"
    unrouted = await client.get("/no/such/route")
    assert unrouted.status_code == 404 and unrouted.headers["x-request-id"]
