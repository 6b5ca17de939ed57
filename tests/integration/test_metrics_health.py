"""``GET /metrics`` (Prometheus text, protected) and readiness that names the unwell part."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from service.actions.views import _metrics as metrics
from service.app import create_app
from service.db.models import Alert, OutboundMessage, Participant
from service.ports import ManualClock, SmsGateway
from service.runtime import Runtime
from service.settings import Settings, load_settings
from tests.support.helpers import Client, enrollment, staff_headers

METRICS_TOKEN = "metrics-token-that-is-long-enough-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture
def settings(database_url: str) -> Settings:  # the conftest's, plus a metrics token
    from tests.conftest import SECRET

    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SMS_RATE_PER_SECOND": "0",
            "PUBLIC_BASE_URL": "http://testserver.local",
            "METRICS_TOKEN": METRICS_TOKEN,
        }
    )


async def test_metrics_need_the_metrics_token_or_an_admin(client: Client) -> None:
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    coordinator = await staff_headers(client, "coord@example.org", "coordinator", ["CUA"])
    assert (await client.get("/metrics", headers=coordinator)).status_code == 403
    admin = await staff_headers(client, "admin@example.org", "admin")
    assert (await client.get("/metrics", headers=admin)).status_code == 200
    ok = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain; version=0.0.4")


async def test_metrics_report_messages_alerts_and_lateness(
    client: Client, clock: ManualClock
) -> None:
    admin = await staff_headers(client, "admin@example.org", "admin")
    assert (await client.post("/api/v1/participants", json=enrollment(), headers=admin)).is_success
    now = clock.now()
    participant = await Participant.get(study_id="MSC-001")
    planned = await OutboundMessage.filter(status="planned").order_by("send_at").first()
    assert planned is not None
    await OutboundMessage.filter(id=planned.id).update(send_at=now - timedelta(minutes=30))
    sent = await OutboundMessage.filter(status="planned").order_by("-send_at").first()
    assert sent is not None
    await OutboundMessage.filter(id=sent.id).update(
        status="failed",
        send_at=now - timedelta(minutes=5),
        sent_at=now - timedelta(minutes=4),
        error_code=30003,
        updated_at=now,
    )
    await Alert.create(
        participant=participant,
        site_id=participant.site_id,  # type: ignore[attr-defined]  # FK id attr
        dedupe_key="test-alert",
        status="open",
        raised_at=now - timedelta(hours=2),
        findings=[],
    )
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    samples = _samples(response.text)
    assert samples[("followup_messages_due_unsent", ())] == 1
    assert samples[("followup_messages_due_unsent_oldest_age_seconds", ())] == 1800
    assert samples[("followup_messages", (("status", "failed"),))] == 1
    assert samples[("followup_provider_errors_24h", (("code", "30003"),))] == 1
    assert samples[("followup_send_lateness_seconds_bucket", (("le", "60.0"),))] == 1
    assert samples[("followup_send_lateness_seconds_bucket", (("le", "30.0"),))] == 0
    assert samples[("followup_alerts_open", ())] == 1
    assert samples[("followup_alerts_open_oldest_age_seconds", ())] == 7200
    assert ("followup_inbound_messages_per_minute", ()) in samples


async def test_extra_sources_are_scraped_and_a_broken_one_is_contained(client: Client) -> None:
    async def edc(rt: Runtime, now: datetime) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily("followup_edc_pending", "EDC records not pushed", value=3)]

    async def broken(rt: Runtime, now: datetime) -> Iterable[GaugeMetricFamily]:
        raise RuntimeError("boom")

    metrics.register_metrics_source("test-edc", edc)
    metrics.register_metrics_source("test-broken", broken)
    try:
        response = await client.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    finally:
        metrics._SOURCES.pop("test-edc")
        metrics._SOURCES.pop("test-broken")
    samples = _samples(response.text)
    assert samples[("followup_edc_pending", ())] == 3
    assert samples[("followup_metrics_source_failed", (("source", "test-broken"),))] == 1
    assert samples[("followup_metrics_source_failed", (("source", "test-edc"),))] == 0


async def test_readiness_reports_a_dispatch_backlog_without_failing(
    clock: ManualClock, client: Client
) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["unwell"] == [] and ready.json()["checks"]["dispatch"] == "ok"

    participant_rows = await client.post(
        "/api/v1/participants",
        json=enrollment(),
        headers=await staff_headers(client, "admin@example.org", "admin"),
    )
    assert participant_rows.is_success
    await OutboundMessage.filter(status="planned").update(
        send_at=clock.now() - timedelta(minutes=42)
    )
    behind = (await client.get("/health/ready")).json()
    assert behind["checks"]["dispatch"].startswith("behind: a due message has waited 42 min")
    assert behind["unwell"] == []


async def test_readiness_names_a_stopped_scheduler(
    settings: Settings, clock: ManualClock, gateway: SmsGateway
) -> None:
    app: Litestar = create_app(settings, clock=clock, gateway=gateway, run_scheduler=True)
    async with AsyncTestClient(app=app) as fresh:
        await app.state.scheduler.stop()
        stopped = await fresh.get("/health/ready")
    assert stopped.status_code == 503
    assert stopped.json()["unwell"] == ["scheduler"]


async def test_metrics_report_the_edc_push(client: Client) -> None:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    samples = _samples(response.text)
    assert samples[("followup_metrics_source_failed", (("source", "edc"),))] == 0
    assert samples[("followup_edc_push_configured", ())] == 0  # no REDCAP_API_URL in tests
    assert samples[("followup_edc_pending_changes", ())] == 0
    assert samples[("followup_edc_open_conflicts", ())] == 0
    assert samples[("followup_edc_last_push_failed", ())] == 0


async def test_metrics_report_the_inbox(client: Client, clock: ManualClock) -> None:
    """Receipt to reply queued, from the stored rows: a message understood 0.4 s after
    it came, another 3 s after, one still waiting for 20 s."""
    from service.actions.inbound import store_inbound, understand_number
    from service.db.models import InboundMessage
    from service.ports import InboundSms

    def sms(n: int) -> InboundSms:
        return InboundSms(f"SMinbox{n:026d}", "+56961234567", "+15005550006", "hola")

    rt = client.app.state.runtime
    for n, wait in ((1, 0.4), (2, 3.0)):
        await store_inbound(rt, sms(n))
        clock.advance(seconds=wait)
        await understand_number(rt, "+56961234567")
    await store_inbound(rt, sms(3))
    clock.advance(seconds=20)
    assert await InboundMessage.filter(handling="pending").count() == 1
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    samples = _samples(response.text)
    name = "followup_inbox_understood_after_seconds"
    assert samples[(f"{name}_bucket", (("le", "0.5"),))] == 1
    assert samples[(f"{name}_bucket", (("le", "5.0"),))] == 2
    assert samples[(f"{name}_quantile", (("quantile", "0.5"),))] == pytest.approx(0.4)
    assert samples[(f"{name}_quantile", (("quantile", "0.99"),))] == pytest.approx(3.0)
    assert samples[("followup_inbox_pending", ())] == 1
    assert samples[("followup_inbox_pending_oldest_age_seconds", ())] == 20
