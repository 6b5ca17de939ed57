"""Signing in to the dashboard in real Chromium: the form, the session cookie, htmx
loaded from the service, Spanish by default, English on request, axe clean, sign-out."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, expect

from tests.browser.support import PASSWORD, LiveServer, check_axe, unique


async def _sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/dashboard/login"))
    await page.get_by_label("Correo electrónico").fill(email)
    await page.get_by_label("Contraseña").fill(password)
    await page.get_by_role("button", name="Iniciar sesión").click()


async def test_a_coordinator_signs_in_and_out(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    email = live_server.add_staff(unique("coord") + "@example.org", "coordinator", ["CUA"])
    await page.goto("/dashboard/login")
    await check_axe(page)
    await _sign_in(page, email, "not-the-password")
    await expect(page.get_by_role("alert")).to_contain_text("no son correctos")
    await check_axe(page)

    await _sign_in(page, email)
    await expect(page.get_by_role("heading", name="Resumen del estudio")).to_be_visible()
    await expect(page.get_by_text("Clínica Universidad de los Andes")).to_be_visible()
    current = page.get_by_role("link", name="Resumen")
    assert await current.get_attribute("aria-current") == "page"
    # The heading shows before the page's scripts have run on a loaded machine.
    await page.wait_for_load_state("load")
    assert await page.evaluate("() => typeof htmx") == "object"  # from /static, not a CDN
    cookie = next(c for c in await context.cookies() if c["name"] == "fu_dash")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert await page.evaluate("() => document.cookie.includes('fu_dash')") is False
    await check_axe(page)

    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Study overview")).to_be_visible()
    assert await page.get_attribute("html", "lang") == "en"
    await page.goto("/dashboard")
    await expect(page.get_by_role("heading", name="Study overview")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/dashboard/login"))
    await page.goto("/dashboard")
    await expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))
