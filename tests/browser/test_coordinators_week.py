"""A coordinator's week in Chromium, on the live server: an infusion recorded once
attends its visit everywhere, a check-in reads in words, a stranger's text is given
to the participant who changed phones, a blocked number is lifted; and no page, the
old ones included, is wider than a phone or has a serious axe finding.

With SCREENSHOTS=1 the queue and the blocked participant are saved at desktop and
phone size (docs/dashboard.md).
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect

from tests.browser.support import ADMIN, LiveServer, check_axe, sign_in, unique, unique_phone
from tests.browser.test_dashboard_tasks import fits_every_screen, pictures


def _today() -> date:
    return datetime.now(ZoneInfo("America/Santiago")).date()  # the live server's clock


def _enrolled(live_server: LiveServer, days_ago: int = 0) -> tuple[str, str]:
    study_id, phone = unique("WEEK-"), unique_phone()
    baseline = (_today() - timedelta(days=days_ago)).isoformat()
    live_server.enrol(ADMIN, study_id, "CUA", phone, baseline_infusion_date=baseline)
    return study_id, phone


async def test_an_infusion_recorded_once_attends_its_visit_everywhere(
    page: Page, live_server: LiveServer
) -> None:
    study_id, phone = _enrolled(live_server, days_ago=20)
    baseline = (_today() - timedelta(days=20)).isoformat()
    await sign_in(page, ADMIN)
    await page.goto(f"/dashboard/participants/{study_id}")
    form = page.locator("form[action$='/infusion']")
    await form.locator("select[name=number]").select_option("1")
    await form.locator("input[name=date]").fill(baseline)
    await form.get_by_role("button").click()
    await expect(page.get_by_role("status")).to_contain_text("su visita queda como asistida")
    row = page.locator("tr", has_text="(INF1)").first
    await expect(row).to_contain_text("Asistió en ventana")
    calendar = live_server.api("GET", f"/api/v1/participants/{study_id}/calendar", ADMIN).json()
    assert {v["code"]: v["status"] for v in calendar["visits"]}["INF1"] == "attended_in_window"
    ics = live_server.api("GET", f"/api/v1/participants/{study_id}/calendar.ics", ADMIN).text
    inf1 = ics.split("Infusión 1")[1].split("END:VEVENT")[0]
    assert "attended_in_window" in inf1 and "missed" not in inf1
    token = live_server.participant_token(phone)
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as app:
        response = await app.get(
            "/api/v1/mobile/me/calendar", headers={"Authorization": f"Bearer {token}"}
        )
    mine = response.json()
    assert "missed" not in str([v for v in mine["visits"] if v["code"] == "INF1"]), mine


async def test_a_strangers_text_is_read_and_given_to_the_participant(
    page: Page, live_server: LiveServer
) -> None:
    study_id, _phone = _enrolled(live_server)
    stranger = unique_phone()
    live_server.text_from(stranger, "Hola, cambié de número. Soy de la Clínica, paciente nueva")
    await sign_in(page, ADMIN)
    await page.goto("/dashboard/inbox")
    item = page.locator("tr", has_text="cambié de número")
    await expect(item).to_contain_text("Mensaje de un número desconocido")
    await expect(item).not_to_contain_text(stranger)
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "inbox-stranger")
    await item.get_by_role("button", name=re.compile("Mostrar el número")).click()
    await expect(page.locator("tr", has_text="cambié de número")).to_contain_text(stranger)
    item = page.locator("tr", has_text="cambié de número")
    await item.get_by_label(re.compile("Asignar este número")).fill(study_id)
    await item.get_by_role("button", name="Asignar el número").click()
    await expect(page.get_by_role("status")).to_contain_text("El número es ahora el teléfono")
    record = live_server.api("GET", f"/api/v1/participants/{study_id}", ADMIN).json()
    assert record["phone"] == stranger
    await page.goto(f"/dashboard/participants/{study_id}")
    await expect(page.locator("body")).to_contain_text("cambié de número")


async def test_a_check_in_reads_in_words_and_a_blocked_number_is_lifted(
    page: Page, live_server: LiveServer
) -> None:
    study_id, phone = _enrolled(live_server)
    live_server.report_symptoms(
        phone, [{"code": "fever", "severity": "moderate", "temperature_c": 39.1}]
    )
    live_server.twilio.fail_number(phone, 30006)
    live_server.text_from(phone, "AYUDA")  # the reply to it is refused: a landline
    for _ in range(120):
        record = live_server.api("GET", f"/api/v1/participants/{study_id}", ADMIN).json()
        if record["sms_blocked_code"] == 30006:
            break
        await asyncio.sleep(0.25)
    assert record["sms_blocked_code"] == 30006
    live_server.twilio.fail_number(phone, None)

    await sign_in(page, ADMIN)
    await page.goto(f"/dashboard/participants/{study_id}")
    await expect(page.locator("#checkins-h + p + .table-scroll")).to_contain_text(
        "Fiebre · intensidad moderada · 39,1 °C"
    )
    block = page.locator("#sms-block")
    await expect(block).to_contain_text("Código 30006")
    await expect(block).to_contain_text("Bloqueado desde el")
    await check_axe(page)
    await fits_every_screen(page)
    await pictures(page, "participant-blocked")
    await block.get_by_label("Por qué el número ya puede recibir SMS").fill(
        "Llamamos: es su celular y recibe SMS"
    )
    await block.get_by_role("button").click()
    await expect(page.get_by_role("status")).to_contain_text("Se levantó el bloqueo")
    record = live_server.api("GET", f"/api/v1/participants/{study_id}", ADMIN).json()
    assert record["sms_blocked_code"] is None
    await page.goto(f"/dashboard/participants/{study_id}?lang=en")
    await expect(page.locator("body")).to_contain_text("Fever · moderate intensity · 39.1 °C")
    await page.goto(f"/dashboard/participants/{study_id}?lang=es")


async def test_no_page_is_wider_than_a_phone_and_axe_finds_nothing_serious(
    page: Page, live_server: LiveServer
) -> None:
    study_id, _phone = _enrolled(live_server, days_ago=40)
    await sign_in(page, ADMIN)
    for path in (
        "/dashboard",
        "/dashboard/participants",
        "/dashboard/participants?view=grid",
        f"/dashboard/participants/{study_id}",
        "/dashboard/alerts",
        "/dashboard/inbox",
        "/dashboard/no-such-page",
    ):
        await page.goto(path)
        await check_axe(page)
        await fits_every_screen(page)
    await expect(page.get_by_role("navigation")).to_contain_text("Participantes")  # the 404
