"""WhatsApp on the dashboard, in Chromium on a 390 × 844 phone: a coordinator enrols a
participant on WhatsApp (the statement shown, how they agreed), then reads the
participant page: the channel, the opt-in on record, and the messages that went by
SMS instead because this server has no WhatsApp sender. axe finds nothing serious and
nothing is wider than the screen.

With SCREENSHOTS=1 the pages are saved (enrol-whatsapp-phone.png and
participant-whatsapp-*-phone.png).
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.support import (
    LiveServer,
    check_axe,
    save_screenshot,
    sign_in,
    unique,
    unique_phone,
)
from tests.browser.test_dashboard_tasks import PHONE, fits_every_screen


async def test_a_coordinator_enrols_on_whatsapp_from_a_phone(
    page: Page, live_server: LiveServer
) -> None:
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.set_viewport_size(PHONE)
    await page.goto("/dashboard/participants/new")
    statement = page.locator("#opt-in-statement")
    await expect(statement).to_contain_text("acepto recibir por WhatsApp")
    await expect(statement).to_contain_text("Universidad de los Andes")

    study_id = unique("WA-")
    number = unique_phone()
    await page.get_by_label("ID de estudio").fill(study_id)
    await page.get_by_label("Fecha de la infusión basal").fill("2026-12-01")
    await page.get_by_role("group", name="Puede embarazarse").get_by_label("No").check()
    await page.get_by_label("Celular").fill(number)
    await page.get_by_role("group", name="Aceptó recibir SMS").get_by_label("Sí").check()
    await page.get_by_role("group", name="Los mensajes van por").get_by_label("WhatsApp").check()
    await page.get_by_role("button", name="Enrolar al participante").click()
    # Refused without the opt-in: the reason beside the field, the choice kept.
    await expect(page.locator("#enrol-whatsapp_opt_in-error")).to_contain_text("WhatsApp requiere")
    await check_axe(page)
    await fits_every_screen(page)
    await page.set_viewport_size(PHONE)
    await save_screenshot(page, "enrol-whatsapp-phone.png")

    await page.get_by_role("group", name="Puede embarazarse").get_by_label("No").check()
    await page.get_by_role("group", name="Aceptó recibir SMS").get_by_label("Sí").check()
    await page.get_by_label("Aceptó el texto de arriba").select_option("written")
    await page.get_by_role("button", name="Enrolar al participante").click()
    await expect(page).to_have_url(re.compile(rf"/dashboard/participants/{study_id}\?saved="))
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("WhatsApp")
    await expect(facts).to_contain_text("por escrito, en el consentimiento")
    timeline = page.locator("table").filter(has_text="Canal").first
    await expect(timeline).to_contain_text("no hay remitente de WhatsApp configurado")
    await check_axe(page)
    await fits_every_screen(page)
    await page.set_viewport_size(PHONE)
    await save_screenshot(page, "participant-whatsapp-phone.png", full_page=False)
    channel_form = page.locator("form[action$='/channel']")
    await channel_form.scroll_into_view_if_needed()
    await expect(channel_form.get_by_label("WhatsApp")).to_be_checked()
    await save_screenshot(page, "participant-whatsapp-channel-phone.png", full_page=False)
