"""The harness itself: the offline guard records and blocks, axe fails on a serious
violation and passes a clean page, the context speaks es-CL in Santiago's zone."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, Page

from tests.browser.support import ADMIN, LiveServer, check_axe, unique, unique_phone


async def test_a_request_outside_the_service_is_blocked_and_recorded(
    page: Page, context: BrowserContext
) -> None:
    await page.goto("/health/live")
    outside = context.outside_requests  # type: ignore[attr-defined]
    await page.evaluate(
        "() => fetch('https://cdn.example.org/x.js').then(() => 'reached', () => 'blocked')"
    )
    assert outside == ["https://cdn.example.org/x.js"]
    outside.clear()  # recorded on purpose; the teardown would fail the test otherwise


async def test_axe_fails_on_a_critical_violation_and_names_it(page: Page) -> None:
    await page.goto("/health/live")
    await page.set_content(
        '<html lang="es"><head><title>x</title></head>'
        '<body><main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>'
    )
    with pytest.raises(AssertionError, match=r"\[critical\] image-alt"):
        await check_axe(page)


async def test_axe_passes_a_clean_page(page: Page) -> None:
    await page.goto("/health/live")
    await page.set_content(
        '<html lang="es"><head><title>Prueba</title></head>'
        "<body><main><h1>Hola</h1><p>Texto.</p></main></body></html>"
    )
    await check_axe(page)


async def test_context_is_spanish_chile_in_santiago(page: Page) -> None:
    await page.goto("/health/live")
    assert await page.evaluate("() => navigator.language") == "es-CL"
    zone = await page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert zone == "America/Santiago"


async def test_seeding_through_the_cli_and_the_api_raises_a_real_alert(
    live_server: LiveServer,
) -> None:
    study_id, phone = unique("BRW-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", phone)
    result = live_server.report_symptoms(phone, [{"code": "chest_pain", "severity": "severe"}])
    assert result["alert_raised"] is True
    alerts = live_server.api("GET", "/api/v1/alerts", ADMIN).json()
    assert [a["study_id"] for a in alerts if a["study_id"] == study_id] == [study_id]


async def test_a_participants_free_text_reaches_the_queue(live_server: LiveServer) -> None:
    study_id, phone = unique("BRW-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", phone)
    live_server.text_from(phone, "hola, tengo una duda sobre la visita")
    items = live_server.api("GET", "/api/v1/inbox", ADMIN).json()
    assert [i["study_id"] for i in items if i["study_id"] == study_id] == [study_id]
