"""Every daily task in the dashboard, in Chromium: enrol a participant, add and disable
a staff account, set a site's on-call numbers, resolve an EDC conflict, review the
audit trail as a monitor (filters, pages, CSV with a BOM and XLSX opened with a
library), in Spanish and in English, at desktop size and on a 390 × 844 phone. On
every new page axe finds nothing serious, and nothing is wider than the screen at
360, 390 and 768 px.

With SCREENSHOTS=1 each page is saved at desktop and phone size (docs/dashboard.md).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.support import (
    ADMIN,
    LiveServer,
    check_axe,
    save_screenshot,
    sign_in,
    unique,
    unique_phone,
)
from tests.support.spreadsheets import as_excel_es_cl, workbook_rows

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = ({"width": 360, "height": 740}, PHONE, {"width": 768, "height": 1024})


_WIDEST_CAPTION = """Math.max(0, ...Array.from(document.querySelectorAll("caption"))
    .filter((c) => !c.classList.contains("visually-hidden"))
    .map((c) => Math.ceil(c.getBoundingClientRect().right)))"""


async def fits_every_screen(page: Page) -> None:
    """No horizontal scroll at 360, 390 and 768 px (then back to desktop size)."""
    for size in WIDTHS:
        await page.set_viewport_size(size)
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= size["width"], f"{page.url} is {wide}px wide at {size['width']}px"
        # A wide table scrolls inside its box; its caption is read without scrolling.
        caption = await page.evaluate(_WIDEST_CAPTION)
        assert caption <= size["width"], f"{page.url}: a {caption}px caption at {size['width']}px"
    await page.set_viewport_size(DESKTOP)


async def pictures(page: Page, name: str) -> None:
    await save_screenshot(page, f"{name}.png")
    await page.set_viewport_size(PHONE)
    await save_screenshot(page, f"{name}-phone.png")
    await page.set_viewport_size(DESKTOP)


async def test_a_coordinator_enrols_a_participant_from_the_dashboard(
    page: Page, live_server: LiveServer
) -> None:
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.goto("/dashboard/participants")
    await page.get_by_role("link", name="Enrolar a un participante").click()
    await expect(page.get_by_role("heading", name="Enrolar a un participante")).to_be_visible()
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "enrol")

    study_id = unique("CUA-")
    number = unique_phone()  # +569XXXXXXXX, typed as people write it
    await page.get_by_label("ID de estudio").fill(study_id)
    await page.get_by_label("Fecha de la infusión basal").fill("2026-12-01")
    await page.get_by_role("group", name="Puede embarazarse").get_by_label("No").check()
    await page.get_by_label("Celular").fill("2 2345 6789")  # a landline first: no SMS reach it
    await page.get_by_role("group", name="Aceptó recibir SMS").get_by_label("Sí").check()
    await page.get_by_role("button", name="Enrolar al participante").click()
    # Refused: back on the form's own URL, the reason beside the field, values kept.
    await expect(page).to_have_url(re.compile(r"/dashboard/participants/new$"))
    phone_field = page.get_by_label("Celular")
    await expect(phone_field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#enrol-phone-error")).to_contain_text("celular chileno")
    await expect(page.get_by_label("ID de estudio")).to_have_value(study_id)
    await check_axe(page)
    await phone_field.fill(f"+56 9 {number[4:8]}-{number[8:]}")
    await page.get_by_role("group", name="Puede embarazarse").get_by_label("No").check()
    await page.get_by_role("group", name="Aceptó recibir SMS").get_by_label("Sí").check()
    await page.get_by_role("button", name="Enrolar al participante").click()
    await expect(page).to_have_url(re.compile(rf"/dashboard/participants/{study_id}\?saved="))
    await expect(page.get_by_role("status")).to_contain_text("Se enroló al participante")
    saved = live_server.api("GET", f"/api/v1/participants/{study_id}", ADMIN).json()
    assert saved["phone"] == number and saved["site"] == "CUA"


async def test_the_enrolment_form_in_english_on_a_phone(
    page: Page, live_server: LiveServer
) -> None:
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["HBLT"])
    await sign_in(page, coordinator)
    await page.set_viewport_size(PHONE)
    await page.goto("/dashboard/participants/new?lang=en")
    await expect(page.get_by_role("heading", name="Enrol a participant")).to_be_visible()
    await expect(page.get_by_label("Site")).to_have_value("HBLT")  # only their site offered
    await check_axe(page)
    await fits_every_screen(page)


async def test_an_admin_adds_and_disables_a_staff_account(
    page: Page, live_server: LiveServer
) -> None:
    await sign_in(page, ADMIN)
    await page.goto("/dashboard/staff")
    await expect(page.get_by_role("heading", name="Cuentas del personal")).to_be_visible()
    email = unique("nueva") + "@uandes.cl"
    add = page.locator("form[action='/dashboard/staff']")
    await add.get_by_label("Correo electrónico").fill(email)
    await add.get_by_label("Rol").select_option("coordinator")
    await add.get_by_label("CUA").check()
    await add.get_by_label("Contraseña inicial").fill("una-clave-larga-2026")
    await add.get_by_role("button", name="Agregar la cuenta").click()
    await expect(page.get_by_role("status")).to_contain_text("Se agregó la cuenta")
    card = page.locator("li.card", has=page.get_by_role("heading", name=email))
    await expect(card).to_contain_text("Coordinador")
    await card.get_by_text(f"Modificar {email}").click()
    await card.get_by_role("button", name="Desactivar esta cuenta").click()
    await expect(page.get_by_role("status")).to_contain_text("Se desactivó la cuenta")
    await expect(
        page.locator("li.card", has=page.get_by_role("heading", name=email))
    ).to_contain_text("Desactivada")
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "staff")
    await page.goto("/dashboard/staff?lang=en")
    await expect(page.get_by_role("heading", name="Staff accounts")).to_be_visible()
    await check_axe(page)
    await page.goto("/dashboard/staff?lang=es")


async def test_an_admin_sets_the_on_call_numbers(page: Page, live_server: LiveServer) -> None:
    await sign_in(page, ADMIN)
    await page.goto("/dashboard/sites")
    card = page.locator("#site-HBLT")
    await card.get_by_label("Turno principal").fill("9 6123 9903")
    await card.get_by_label("Turno de respaldo (opcional)").fill("+56 9 6123-9904")
    await card.get_by_role("button", name=re.compile("Guardar los números de turno")).click()
    await expect(page.get_by_role("status")).to_contain_text("Se guardaron los números de turno")
    await expect(page.locator("#site-HBLT")).to_contain_text("+56961239904")
    sites = {s["code"]: s for s in live_server.api("GET", "/api/v1/sites", ADMIN).json()}
    assert sites["HBLT"]["on_call_backup"] == "+56961239904"
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "sites")
    await page.goto("/dashboard/sites?lang=en")
    await expect(page.get_by_role("heading", name="Sites and on-call numbers")).to_be_visible()
    await check_axe(page)
    await page.goto("/dashboard/sites?lang=es")


def _conflict(live_server: LiveServer) -> str:
    """A participant's value changed in REDCap by hand, seen by the next push."""
    study_id, phone = unique("CUA-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", phone)
    token = live_server.participant_token(phone)

    def report(severity: str) -> None:
        response = httpx.post(
            f"{live_server.base_url}/api/v1/mobile/me/checkins/symptoms",
            headers={"Authorization": f"Bearer {token}"},
            json={"symptoms": [{"code": "nausea_vomiting", "severity": severity}]},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text

    report("mild")
    live_server.cli("edc", "push")
    redcap = live_server.redcap
    slot = next(k for k, v in redcap.slots("").items() if k[0] == study_id and "pt_site" in v)
    redcap.edit(*slot, "pt_site", "HBLT")  # a data manager's mistake, by hand
    report("moderate")
    assert "1 conflicts" in live_server.cli("edc", "push")
    return study_id


async def test_a_coordinator_resolves_an_edc_conflict(page: Page, live_server: LiveServer) -> None:
    study_id = _conflict(live_server)
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.goto("/dashboard/edc")
    card = page.locator("li.card", has_text=study_id)
    await expect(card).to_contain_text("HBLT")
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "edc")
    await card.get_by_label("Enviar el nuestro").check()
    await card.get_by_label(re.compile("Por qué")).fill("El centro es CUA según la ficha.")
    await card.get_by_role("button", name="Guardar la elección").click()
    await expect(page.get_by_role("status")).to_contain_text("El próximo envío escribirá")
    await expect(page.locator("table.stack").first).to_contain_text("en el próximo envío")
    assert "1 chosen values sent" in live_server.cli("edc", "push")
    slot = next(k for k in live_server.redcap.slots("") if k[0] == study_id)
    assert live_server.redcap.slots("")[slot]["pt_site"] == "CUA"
    await page.reload()
    await expect(page.locator("table.stack").first).to_contain_text("desde")
    await page.goto("/dashboard/edc?lang=en")
    await expect(page.get_by_role("heading", name="REDCap push")).to_be_visible()
    await check_axe(page)
    await page.goto("/dashboard/edc?lang=es")


async def _downloaded(info: Any) -> bytes:  # the expect_download() context manager
    path = await (await info.value).path()
    return await asyncio.to_thread(Path(path).read_bytes)


async def test_a_monitor_reviews_the_audit_trail(page: Page, live_server: LiveServer) -> None:
    study_id, phone = unique("HBLT-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "HBLT", phone)
    for language in ("en", "es"):
        body = {"language": language, "reason": f"pidió {language}"}
        changed = live_server.api("PATCH", f"/api/v1/participants/{study_id}", ADMIN, json=body)
        assert changed.status_code == 200, changed.text
    monitor = live_server.add_staff(unique("mon") + "@uandes.cl", "monitor", ["HBLT"])
    await sign_in(page, monitor)
    await page.get_by_role("link", name="Auditoría").click()
    await page.get_by_label("Participante (código del estudio)").fill(study_id)
    await page.get_by_label("Qué").select_option("participant.update")
    await page.get_by_role("button", name="Mostrar").click()
    table = page.locator("table.audit")
    await expect(table).to_contain_text("Datos del participante modificados")
    await expect(table).to_contain_text("idioma: en → es")  # newest first
    await expect(table).to_contain_text("pidió es")
    assert "staff:" not in await page.content()
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "audit")

    url = page.url + "&limit=1"
    await page.goto(url)
    await expect(table.locator("tbody tr")).to_have_count(1)
    await page.get_by_role("link", name="Página siguiente").click()
    await expect(page.locator("table.audit")).to_contain_text("idioma: es → en")

    async with page.expect_download() as csv_download:
        await page.get_by_role("link", name="CSV", exact=True).click()
    data = await _downloaded(csv_download)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = as_excel_es_cl(data)
    assert rows[0][:3] == ["Cuándo", "Quién", "Qué"]
    assert {r[2] for r in rows[1:]} == {"Datos del participante modificados"}
    async with page.expect_download() as xlsx_download:
        await page.get_by_role("link", name="Excel (XLSX)").click()
    book = workbook_rows(await _downloaded(xlsx_download))
    assert book[0][0] == "Cuándo (hora local)" and len(book) == len(rows)

    await page.goto(f"/dashboard/audit?participant={study_id}&lang=en")
    await expect(page.locator("table.audit")).to_contain_text("Participant enrolled")
    await check_axe(page)
    await page.set_viewport_size(PHONE)
    await expect(page.locator("table.audit")).to_be_visible()
    await page.set_viewport_size(DESKTOP)
    await page.goto("/dashboard/audit?lang=es")
