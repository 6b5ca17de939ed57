"""The service's own pages render with nothing from the internet: /schema's Swagger UI
lists its operations from the vendored swagger-ui-dist, and htmx is served."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from tests.browser.support import LiveServer


async def test_schema_renders_its_operations_offline(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    await page.goto("/schema")
    # Swagger UI draws one block per operation once its bundle has run.
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible()
    assert await operations.count() > 20
    await expect(page.get_by_text("/api/v1/participants", exact=True).first).to_be_visible()
    assert any("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in url for url in seen)
    assert context.outside_requests == []  # type: ignore[attr-defined]
    assert all(url.startswith(live_server.base_url) for url in seen), seen


async def test_htmx_is_served_and_runs(page: Page, live_server: LiveServer) -> None:
    from service.web.static_files import static_url

    await page.goto("/health/live")
    response = await page.request.get(static_url("vendor/htmx.org/htmx.min.js"))
    assert response.ok
    assert "max-age=31536000" in response.headers["cache-control"]
    await page.add_script_tag(url=static_url("vendor/htmx.org/htmx.min.js"))
    assert await page.evaluate("() => htmx.version") == "2.0.11"


async def test_the_dashboard_runs_under_its_content_security_policy(
    page: Page, live_server: LiveServer
) -> None:
    """Signed in, the pages load and htmx polls without one policy violation: nothing
    inline was needed (htmx's own indicator style is switched off in base.html)."""
    from tests.browser.support import ADMIN, sign_in

    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security" in m.text else None,
    )
    await sign_in(page, ADMIN)
    for path in ("/dashboard", "/dashboard/alerts", "/dashboard/participants", "/dashboard/nope"):
        await page.goto(path)
        policy = await page.evaluate("() => document.contentType")
        assert policy == "text/html"
    await page.goto("/dashboard/alerts")
    assert await page.evaluate("() => typeof htmx") == "object"  # /static script ran
    await page.wait_for_timeout(500)
    assert violations == []
