"""A coordinator opens a participant, records a visit outcome, and the page passes axe."""

from __future__ import annotations

import re
import time

from playwright.async_api import Page, expect

from tests.browser.support import (
    ADMIN,
    SCREENSHOTS,
    LiveServer,
    check_axe,
    sign_in,
    unique,
    unique_phone,
)


async def test_open_a_participant_and_record_a_visit_outcome(
    page: Page, live_server: LiveServer
) -> None:
    study_id, phone = unique("BRW-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", phone)
    coordinator = live_server.add_staff(unique("p11-") + "@example.org", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.goto(f"/dashboard/participants/{study_id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(study_id)
    await check_axe(page)

    form = page.locator("form[action$='/visit']")
    await form.get_by_label("Visita", exact=True).select_option("SCR")
    await form.get_by_label("Asistió", exact=True).check()
    await form.get_by_label("Fecha", exact=True).fill(time.strftime("%Y-%m-%d"))
    await form.get_by_role("button", name="Registrar resultado").click()
    await page.wait_for_url(re.compile(r"\?saved=visit$"))
    await expect(page.get_by_role("status")).to_contain_text("Se registró el resultado")
    screening = page.get_by_role("row").filter(has_text="(SCR)")
    await expect(screening).to_contain_text("Asistió")
    await check_axe(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.goto(f"/dashboard/participants/{study_id}")  # the top of the page, as it opens
    await page.screenshot(path=str(SCREENSHOTS / "participant-page.png"))


async def test_an_implausible_date_is_explained_beside_the_field(
    page: Page, live_server: LiveServer
) -> None:
    study_id, phone = unique("BRW-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", phone)
    coordinator = live_server.add_staff(unique("p11-") + "@example.org", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.goto(f"/dashboard/participants/{study_id}")
    form = page.locator("form[action$='/visit']")
    await form.get_by_label("Fecha", exact=True).fill("2099-01-01")
    await form.get_by_role("button", name="Registrar resultado").click()
    date_input = page.locator("#visit-date")
    await expect(date_input).to_have_attribute("aria-invalid", "true")
    await expect(date_input).to_have_value("2099-01-01")
    await expect(page.locator("#visit-date-error")).to_contain_text("no puede ser futura")
    await check_axe(page)
