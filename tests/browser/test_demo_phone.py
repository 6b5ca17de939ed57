"""`followup serve --demo` as a newcomer meets it: on /demo/phone read the sign-in code
a demo participant received and sign in to /app with it, in a second tab, then reply
to a reminder as that participant and see the service answer in the thread."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, expect

from tests.browser.support import (
    LOCALE,
    TIMEZONE,
    check_axe,
    drop_browser_database,
    free_port,
    save_screenshot,
    server_env,
    stop_server,
    wait_until_live,
)
from tests.conftest import _recreate_postgres


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server: ``serve --demo`` with console SMS, its own database."""
    tmp = tmp_path_factory.mktemp("demo")
    url = os.environ.get("TEST_DATABASE_URL")
    database_url = f"{url}_demo" if url else f"sqlite://{tmp / 'demo.sqlite3'}"
    if url:
        asyncio.run(_recreate_postgres(database_url))
    port = free_port()
    env = server_env(database_url, port, "http://127.0.0.1:9")
    env = {k: v for k, v in env.items() if not k.startswith("TWILIO_")}
    env["SMS_BACKEND"] = "console"
    log = tmp / "serve.log"
    command = [sys.executable, "-m", "service"]
    migrate = [*command, "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=120)  # noqa: S603
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603  # our own command line, no shell
            [*command, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_live(f"http://127.0.0.1:{port}", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
        drop_browser_database(database_url)  # PostgreSQL only


@pytest_asyncio.fixture(loop_scope="session")
async def phone_context(browser: Browser, demo_server: str) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        base_url=demo_server,
        locale=LOCALE,
        timezone_id=TIMEZONE,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        await ctx.close()


async def test_sign_in_through_the_demo_phone_and_reply_to_a_reminder(
    phone_context: BrowserContext,
) -> None:
    phones = await phone_context.new_page()
    await phones.goto("/demo/phone")
    thread = phones.locator("section#DEMO-001")
    await expect(thread).to_contain_text("MSC-ROLE:")  # the demo's reminders
    await check_axe(phones)
    number = (await thread.locator(".number").inner_text()).strip()

    app = await phone_context.new_page()
    await app.goto("/app")
    await app.get_by_label("Número de celular").fill(number)
    await app.get_by_role("button", name="Enviarme un código").tap()
    await expect(app.get_by_role("heading", level=1)).to_have_text("Ingresa tu código")

    codes: list[str] = []
    for _ in range(40):  # the code is texted just after the page has answered
        await phones.reload()
        texts = await thread.locator(".text").all_inner_texts()
        codes = [found.group(1) for t in texts if (found := re.search(r"\b(\d{6})\b", t))]
        if codes:
            break
        await phones.wait_for_timeout(250)
    assert codes, texts
    await app.get_by_label("Código del SMS").fill(codes[-1])
    await app.get_by_role("button", name="Iniciar sesión").tap()
    await expect(app.get_by_role("heading", name="Mi próxima visita")).to_be_visible()

    await phones.bring_to_front()
    await thread.get_by_label("Responder como DEMO-001").fill("Me duele el pecho")
    await thread.get_by_role("button", name="Enviar respuesta").tap()
    await expect(thread).to_contain_text("Me duele el pecho")
    for _ in range(40):  # the advice goes out through the outbox, a moment later
        received = await thread.locator("li.in .text").all_inner_texts()
        if received and "131" in received[-1]:
            break
        await phones.wait_for_timeout(500)
        await phones.reload()
    await expect(thread.locator("li.in").last).to_contain_text("131")
    await check_axe(phones)
    await thread.get_by_role("button", name="Enviar respuesta").scroll_into_view_if_needed()
    await save_screenshot(phones, "demo-phone.png", full_page=False)
