"""A coordinator opens a participant, records a visit outcome, and the page passes axe.

Signs in through the form itself (``_sign_in``; the harness's own helper for it lands
with the alerts board) and seeds through the CLI and the API, as an operator would.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.browser.support import PASSWORD, LiveServer, check_axe, save_screenshot, unique


async def _sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/dashboard/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/dashboard/?$"))


def _seed(live_server: LiveServer) -> tuple[str, str]:
    """A participant enrolled today at CUA, and a CUA coordinator's email."""
    admin = live_server.add_staff(unique("p11-admin-") + "@example.org", "admin", [])
    study_id = unique("BRW-P")
    # 9 6… is a Chilean mobile range; the digits after it are unique to this test
    digits = int(unique(""))
    live_server.enrol(admin, study_id, "CUA", f"+569{62000000 + digits % 1000000:08d}")
    coordinator = live_server.add_staff(unique("p11-") + "@example.org", "coordinator", ["CUA"])
    return study_id, coordinator


async def test_open_a_participant_and_record_a_visit_outcome(
    page: Page, live_server: LiveServer
) -> None:
    study_id, coordinator = _seed(live_server)

    await _sign_in(page, coordinator, PASSWORD)
    await page.goto(f"/dashboard/participants/{study_id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(study_id)
    await check_axe(page)

    form = page.locator("form[action$='/visit']")
    await form.get_by_label("Visita", exact=True).select_option("SCR")
    await form.get_by_label("Asistió", exact=True).check()
    # Today where the site is: the service refuses a date in the site's future, and
    # for three hours a night UTC is already tomorrow in Santiago.
    today_at_site = datetime.now(ZoneInfo("America/Santiago")).date().isoformat()
    await form.get_by_label("Fecha", exact=True).fill(today_at_site)
    await form.get_by_role("button", name="Registrar resultado").click()
    await page.wait_for_url(re.compile(r"\?saved=visit$"))
    await expect(page.get_by_role("status")).to_contain_text("Se registró el resultado")
    screening = page.get_by_role("row").filter(has_text="(SCR)")
    await expect(screening).to_contain_text("Asistió")
    await check_axe(page)
    if os.environ.get("SCREENSHOTS") == "1":
        await page.goto(f"/dashboard/participants/{study_id}")  # the top, as it opens
        await save_screenshot(page, "participant-page.png", full_page=False)


async def test_an_implausible_date_is_explained_beside_the_field(
    page: Page, live_server: LiveServer
) -> None:
    study_id, coordinator = _seed(live_server)

    await _sign_in(page, coordinator, PASSWORD)
    await page.goto(f"/dashboard/participants/{study_id}")
    form = page.locator("form[action$='/visit']")
    await form.get_by_label("Fecha", exact=True).fill("2099-01-01")
    await form.get_by_role("button", name="Registrar resultado").click()
    date_input = page.locator("#visit-date")
    await expect(date_input).to_have_attribute("aria-invalid", "true")
    await expect(date_input).to_have_value("2099-01-01")
    await expect(page.locator("#visit-date-error")).to_contain_text("no puede ser futura")
    await check_axe(page)
