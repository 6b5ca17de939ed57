"""A coordinator reads the overview, the participant list and the visit grid in real
Chromium: Spanish words, charts with their tables, no serious accessibility fault,
and never a participant of the other site."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.support import PASSWORD, LiveServer, check_axe, save_screenshot, unique


async def _sign_in(page: Page, email: str) -> None:
    await page.goto("/dashboard/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("form.login-form button[type=submit]")
    await expect(page.get_by_role("heading", name="Resumen del estudio")).to_be_visible()


def _people(live_server: LiveServer) -> tuple[str, str, str]:
    admin = live_server.add_staff(unique("admin") + "@example.org", "admin", [])
    coordinator = live_server.add_staff(unique("coord") + "@example.org", "coordinator", ["CUA"])
    ours, theirs = unique("CUA-B"), unique("HBL-B")
    number = int(ours[-6:])
    live_server.enrol(admin, ours, "CUA", f"+56961{number:06d}")
    live_server.enrol(admin, theirs, "HBLT", f"+56962{number:06d}")
    return coordinator, ours, theirs


async def test_coordinator_reads_the_overview(page: Page, live_server: LiveServer) -> None:
    coordinator, _ours, theirs = _people(live_server)
    await _sign_in(page, coordinator)
    charts = page.locator("svg[role=img]")
    await expect(charts).to_have_count(2)
    await expect(
        page.get_by_role("heading", name="Adherencia a las visitas, por visita")
    ).to_be_visible()
    await expect(page.get_by_role("heading", name="Seguimientos completados")).to_be_visible()
    table = page.locator("table[aria-labelledby=participants]")
    await expect(table).to_contain_text("Enrolados")
    body = await page.content()
    assert "HBLT" not in body and theirs not in body
    await check_axe(page)
    await save_screenshot(page, "overview.png")


async def test_list_and_grid_show_only_the_coordinators_site(
    page: Page, live_server: LiveServer
) -> None:
    coordinator, ours, theirs = _people(live_server)
    await _sign_in(page, coordinator)
    await page.goto("/dashboard/participants")
    await expect(page.get_by_role("link", name=ours)).to_be_visible()
    assert theirs not in await page.content()
    await expect(page.locator("table.participants")).to_contain_text(re.compile(r"de \d+"))
    await check_axe(page)
    await page.goto("/dashboard/participants?view=grid")
    await expect(page.get_by_role("link", name=ours)).to_be_visible()
    assert theirs not in await page.content()
    cell = page.locator("table.visit-grid td[title^='Ventana']").first
    await expect(cell).to_be_visible()
    await check_axe(page)
