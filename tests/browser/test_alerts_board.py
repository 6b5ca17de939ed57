"""The alerts board and the queue in Chromium: a coordinator signs in, sees only their
site's alerts, acknowledges one with a note, sees a new alert arrive without a reload,
downloads the CSV, closes a queue item; axe finds nothing serious on either page.

With SCREENSHOTS=1 the board and the queue are also saved as the pictures in docs/dashboard.md
(tests/browser/screenshots/, committed).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

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
from tests.support.spreadsheets import as_excel_es_cl

CHEST_PAIN = [{"code": "chest_pain", "severity": "severe"}]
NAUSEA = [{"code": "nausea_vomiting", "severity": "severe"}]


def _alerted(live_server: LiveServer, site: str, symptoms: list[dict[str, str]]) -> str:
    study_id, phone = unique(f"{site}-"), unique_phone()
    live_server.enrol(ADMIN, study_id, site, phone)
    assert live_server.report_symptoms(phone, symptoms)["alert_raised"] is True
    return study_id


async def test_coordinator_acknowledges_an_alert_of_their_site(
    page: Page, live_server: LiveServer
) -> None:
    ours = _alerted(live_server, "CUA", CHEST_PAIN)
    second = _alerted(live_server, "CUA", NAUSEA)
    theirs = _alerted(live_server, "HBLT", CHEST_PAIN)
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)

    await page.goto("/dashboard/alerts")
    board = page.locator("#open-alerts")
    row = board.locator("tr", has=page.get_by_role("link", name=ours, exact=True))
    await expect(row).to_be_visible()
    await expect(board.get_by_role("link", name=second, exact=True)).to_be_visible()
    await expect(row).to_contain_text("Turno principal")  # who was texted, masked
    await expect(row).to_contain_text("**** **01")
    assert theirs not in await page.content()  # another site's participant never appears
    await check_axe(page)

    await row.get_by_label("Qué se hizo").fill("Llamé a la participante; va a urgencias.")
    await row.get_by_role("button", name=re.compile("Confirmar")).click()
    await expect(page.get_by_role("status")).to_contain_text("Alerta confirmada")
    await expect(board.get_by_role("link", name=ours, exact=True)).to_have_count(0)
    recent = page.locator("table[aria-labelledby=recent-title]")
    await expect(recent).to_contain_text(ours)
    await expect(recent).to_contain_text("Llamé a la participante; va a urgencias.")
    acknowledged = [
        a
        for a in live_server.api("GET", "/api/v1/alerts?status=all", ADMIN).json()
        if a["study_id"] == ours
    ]
    assert acknowledged[0]["status"] == "acknowledged"
    assert acknowledged[0]["acknowledged_by"] == f"staff:{coordinator}"
    await check_axe(page)
    await save_screenshot(page, "alerts-board.png")


async def test_a_new_alert_appears_without_a_reload(page: Page, live_server: LiveServer) -> None:
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.clock.install()
    await page.goto("/dashboard/alerts")
    await expect(page.locator("#open-alerts")).to_be_visible()
    newcomer = _alerted(live_server, "CUA", CHEST_PAIN)
    assert newcomer not in await page.content()
    await page.clock.run_for("00:31")  # htmx polls every 30 s
    await expect(page.get_by_role("link", name=newcomer, exact=True)).to_be_visible()


async def test_the_csv_download_holds_the_coordinators_site_only(
    page: Page, live_server: LiveServer
) -> None:
    ours = _alerted(live_server, "CUA", CHEST_PAIN)
    theirs = _alerted(live_server, "HBLT", CHEST_PAIN)
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)
    await page.goto("/dashboard/alerts")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Descargar CSV").click()
    download = await download_info.value
    assert download.suggested_filename == "alerts.csv"
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    rows = as_excel_es_cl(data)  # opened as Excel in Chile opens it: BOM, ";"
    assert data.startswith(b"\xef\xbb\xbf")
    assert rows[0][:4] == ["Alerta", "Estado", "Participante", "Centro"]
    assert ours in data.decode("utf-8-sig") and theirs not in data.decode("utf-8-sig")


async def test_coordinator_closes_a_queue_item(page: Page, live_server: LiveServer) -> None:
    study_id, phone = unique("CUA-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", phone)
    live_server.text_from(phone, "hola, tengo una duda sobre la visita")
    other, other_phone = unique("HBLT-"), unique_phone()
    live_server.enrol(ADMIN, other, "HBLT", other_phone)
    live_server.text_from(other_phone, "consulta del otro centro")
    coordinator = live_server.add_staff(unique("coord") + "@uandes.cl", "coordinator", ["CUA"])
    await sign_in(page, coordinator)

    await page.goto("/dashboard/inbox")
    row = page.locator("tr", has=page.get_by_role("link", name=study_id, exact=True))
    await expect(row).to_contain_text("hola, tengo una duda sobre la visita")
    assert other not in await page.content()
    await check_axe(page)
    await save_screenshot(page, "inbox.png")
    await row.get_by_label("Nota (opcional)").fill("Le expliqué la fecha por teléfono.")
    await row.get_by_role("button", name=re.compile("Cerrar")).click()
    await expect(page.get_by_role("status")).to_contain_text("cerrado")
    await expect(page.get_by_role("link", name=study_id, exact=True)).to_have_count(0)
