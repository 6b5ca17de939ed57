"""Browser test fixtures: one live server and one Chromium for all the browser tests
(package scope: both stop after the last of them, so the rest of the suite does not
share the machine with an idle server and browser), a fresh browser context (es-CL,
America/Santiago) for each test, a screenshot when it fails.

Playwright's async API runs on pytest-asyncio's session loop: its sync API would leave
its own loop marked as running in the main thread, and every ordinary async test
after the first browser test would then refuse to start. Each browser test module
therefore needs nothing but ``async def test_…(page, live_server)``; the hook below
puts every async test under tests/browser on the session loop.

Every page a test opens is held offline: a request for anything but the server under
test is aborted and recorded, and the test fails at teardown if there was one.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright, expect
from pytest_asyncio import is_async_test

from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LOCALE,
    TIMEZONE,
    LiveServer,
    browser_database,
    drop_browser_database,
    free_port,
    is_local,
    redcap_setup,
    server_env,
    start_server,
    stop_server,
    wait_until_live,
)
from tests.support.fakes.redcap_server import TEST_TOKEN as REDCAP_TOKEN
from tests.support.fakes.redcap_server import RedcapFakeServer
from tests.support.fakes.twilio_server import TwilioFakeServer

HERE = Path(__file__).resolve().parent
_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_async_test(item) and HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(_SESSION_LOOP, append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    # The page fixture reads this at teardown to decide on a screenshot.
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("browser")
    database_url = browser_database(tmp)
    port = free_port()
    with TwilioFakeServer() as twilio, RedcapFakeServer(redcap_setup()) as redcap:
        env = server_env(database_url, port, twilio.base_url)
        # The study's REDCap is the double; pushes happen when a test asks (the CLI).
        env.update(REDCAP_API_URL=redcap.url, REDCAP_API_TOKEN=REDCAP_TOKEN,
                   EDC_PUSH_INTERVAL_MINUTES="1440")  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        server = LiveServer(base_url=base_url, env=env, log=tmp / "serve.log", twilio=twilio)
        server.redcap = redcap
        server.cli("migrate")
        proc = start_server(env, port, server.log)
        try:
            wait_until_live(server.base_url, proc, server.log)
            server.prepare()
            yield server
        finally:
            stop_server(proc)
            drop_browser_database(database_url)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install -y "
            "chromium) or set CHROMIUM_PATH; the browser tests never download a browser"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


# A loaded CI machine can take several seconds to parse Swagger UI's bundle; the
# assertions wait for what they expect rather than fail on a busy core.
expect.set_options(timeout=20_000)


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    """A fresh context (no cookies from another test) whose requests stay local."""
    ctx = await browser.new_context(
        base_url=live_server.base_url,
        locale=LOCALE,
        timezone_id=TIMEZONE,
        viewport={"width": 1280, "height": 900},
    )
    ctx.set_default_timeout(20_000)
    outside: list[str] = []

    async def refuse(route: Route) -> None:
        outside.append(route.request.url)
        await route.abort("internetdisconnected")

    await ctx.route(lambda url: not is_local(url, live_server.base_url), refuse)
    ctx.outside_requests = outside  # type: ignore[attr-defined]  # read by tests
    try:
        yield ctx
    finally:
        await ctx.close()
    assert not outside, f"the page asked for something outside the service: {outside}"


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    opened = await context.new_page()
    yield opened
    reports = request.node.stash.get(_REPORTS, {})
    if any(report.failed for report in reports.values()):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        await opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
