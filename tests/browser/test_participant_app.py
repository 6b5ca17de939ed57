"""The participant web app in Chromium's phone emulation (390×844, touch): sign in with
the code the Twilio double received, see the next visit, report chest pain and see the
emergency advice and one alert, change preferences, sign out; be signed out when
withdrawn. axe on every page; 320 px without sideways scrolling; 44 px tap targets."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.support import (
    ADMIN,
    LOCALE,
    TIMEZONE,
    LiveServer,
    check_axe,
    is_local,
    save_screenshot,
    sign_in,
    unique,
    unique_phone,
)

PHONE_SIZE = {"width": 390, "height": 844}


@pytest_asyncio.fixture(loop_scope="session")
async def phone(browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    """A phone: mobile viewport, touch, Spanish (Chile); nothing outside the server."""
    ctx: BrowserContext = await browser.new_context(
        base_url=live_server.base_url,
        locale=LOCALE,
        timezone_id=TIMEZONE,
        viewport=PHONE_SIZE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(20_000)
    outside: list[str] = []

    async def refuse(route: Route) -> None:
        outside.append(route.request.url)
        await route.abort("internetdisconnected")

    await ctx.route(lambda url: not is_local(url, live_server.base_url), refuse)
    try:
        yield await ctx.new_page()
    finally:
        await ctx.close()
    assert not outside, f"the app asked for something outside the service: {outside}"


def _enrol(live_server: LiveServer) -> tuple[str, str]:
    study_id, number = unique("APP-"), unique_phone()
    live_server.enrol(ADMIN, study_id, "CUA", number)
    return study_id, number


def _code_for(live_server: LiveServer, number: str, since: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in live_server.twilio.messages[since:]:
            found = re.search(r"\b(\d{6})\b", message.body)
            if message.to == number and found:
                return found.group(1)
        time.sleep(0.05)
    raise AssertionError("no one-time code reached the Twilio double")


async def _check_page(page: Page, shot: str | None = None) -> None:
    """axe, no sideways scrolling at 320 px, and every tap target at least 44 px high."""
    await check_axe(page)
    small = await page.evaluate(
        """() => [...document.querySelectorAll('main a, main button, main input, footer button')]
            .filter(e => e.type !== 'hidden' && e.type !== 'radio' && e.type !== 'checkbox')
            .filter(e => e.getClientRects().length > 0)
            .filter(e => e.getBoundingClientRect().height < 44)
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert not small, f"tap targets under 44 px: {small}"
    if shot:
        await save_screenshot(page, shot)
    await page.set_viewport_size({"width": 320, "height": 640})
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    await page.set_viewport_size(PHONE_SIZE)
    assert overflow <= 0, f"{page.url} scrolls sideways at 320 px by {overflow} px"


async def _sign_in(page: Page, live_server: LiveServer, number: str) -> None:
    await page.goto("/app")
    national = f"{number[3]} {number[4:8]} {number[8:]}"  # +569XXXXXXXX -> 9 XXXX XXXX
    await page.get_by_label("Número de celular").fill(national)
    since = len(live_server.twilio.messages)
    await page.get_by_role("button", name="Enviarme un código").tap()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ingresa tu código")
    await page.get_by_label("Código del SMS").fill(_code_for(live_server, number, since))
    await page.get_by_role("button", name="Iniciar sesión").tap()
    await expect(page.get_by_role("heading", name="Mi próxima visita")).to_be_visible()


async def test_sign_in_see_the_visit_report_chest_pain_and_sign_out(
    phone: Page, page: Page, live_server: LiveServer
) -> None:
    study_id, number = _enrol(live_server)
    await phone.goto("/app")
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Mi estudio")
    await _check_page(phone, "app-sign-in.png")

    await phone.get_by_label("Número de celular").fill(f"{number[3]} {number[4:8]} {number[8:]}")
    since = len(live_server.twilio.messages)
    await phone.get_by_role("button", name="Enviarme un código").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Ingresa tu código")
    await _check_page(phone, "app-code.png")
    await phone.get_by_label("Código del SMS").fill("000000")
    await phone.get_by_role("button", name="Iniciar sesión").tap()
    code = _code_for(live_server, number, since)
    if code != "000000":
        await expect(phone.get_by_role("alert")).to_contain_text("Ese código no es correcto")
        await _check_page(phone)
    await phone.get_by_label("Código del SMS").fill(code)
    await phone.get_by_role("button", name="Iniciar sesión").tap()

    await expect(phone.get_by_role("heading", name="Mi próxima visita")).to_be_visible()
    call = phone.get_by_role("link", name="Llamar a mi equipo del estudio")
    await expect(call).to_have_attribute("href", "tel:+56226181000")
    await expect(phone.get_by_role("link", name="Agregar a mi calendario")).to_be_visible()
    await _check_page(phone, "app-home.png")

    await phone.get_by_role("link", name="Contar un síntoma").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("¿Cómo me siento?")
    await _check_page(phone, "app-report.png")
    chest = phone.locator("fieldset.symptom").filter(has_text="Dolor al pecho")
    await chest.get_by_label("Dolor al pecho").check()
    await chest.get_by_label("Severo").check()
    await phone.get_by_role("button", name="Enviar", exact=True).tap()

    urgent = phone.get_by_role("alert")
    await expect(urgent).to_contain_text("Llama ahora al 131")
    await expect(phone.get_by_role("link", name="Llamar al 131 (SAMU)")).to_have_attribute(
        "href", "tel:131"
    )
    await _check_page(phone, "app-emergency.png")
    alerts = [
        a
        for a in live_server.api("GET", "/api/v1/alerts?status=all", ADMIN).json()
        if a["study_id"] == study_id
    ]
    assert len(alerts) == 1
    await sign_in(page, ADMIN)  # a coordinator's board, on a desktop
    await page.goto("/dashboard/alerts")
    await expect(page.locator("#open-alerts")).to_contain_text(study_id)
    checkins = live_server.api("GET", f"/api/v1/participants/{study_id}/checkins", ADMIN).json()
    assert [c["channel"] for c in checkins] == ["web"]

    await phone.get_by_role("link", name="Volver a mi estudio").tap()
    await phone.get_by_role("link", name="Lo que he enviado").tap()
    await expect(phone.get_by_role("main")).to_contain_text("Dolor al pecho · Severo")
    await _check_page(phone, "app-history.png")
    await phone.get_by_role("link", name="Corregir esta respuesta").tap()
    chest = phone.locator("fieldset.symptom").filter(has_text="Dolor al pecho")
    await chest.get_by_label("Moderado").check()
    await phone.get_by_label("¿Por qué la cambias?").fill("Fue menos fuerte de lo que marqué")
    await _check_page(phone, "app-correction.png")
    await phone.get_by_role("button", name="Enviar", exact=True).tap()
    await expect(phone.get_by_role("alert")).to_contain_text("Llama ahora al 131")
    versions = live_server.api("GET", f"/api/v1/participants/{study_id}/checkins", ADMIN).json()
    assert sorted(v["version"] for v in versions) == [1, 2]

    await phone.get_by_role("link", name="Volver a mi estudio").tap()
    await phone.get_by_role("link", name="Mis preferencias").tap()
    await phone.get_by_label("Hora preferida para los recordatorios").fill("19:30")
    await phone.get_by_label("Pausar mis recordatorios por ahora").check()
    await phone.get_by_role("button", name="Guardar").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Guardado")
    await _check_page(phone, "app-preferences.png")
    record = live_server.api("GET", f"/api/v1/participants/{study_id}", ADMIN).json()
    assert record["preferred_time"] == "19:30" and record["paused"] is True

    await phone.get_by_role("link", name="Volver a mi estudio").tap()
    await phone.get_by_role("button", name="Cerrar sesión").tap()
    await expect(phone.get_by_label("Número de celular")).to_be_visible()

    await phone.goto("/app?lang=en")
    await expect(phone.get_by_role("heading", level=1)).to_have_text("My study")
    await _check_page(phone)
    await phone.goto("/app?lang=es")


async def test_withdrawal_signs_the_participant_out(phone: Page, live_server: LiveServer) -> None:
    study_id, number = _enrol(live_server)
    await _sign_in(phone, live_server, number)
    withdrawn = live_server.api("POST", f"/api/v1/participants/{study_id}/withdraw", ADMIN, json={})
    assert withdrawn.status_code == 200, withdrawn.text
    await phone.reload()
    await expect(phone.get_by_label("Número de celular")).to_be_visible()


async def test_an_answer_given_offline_waits_on_the_phone_and_is_stored_once(
    phone: Page, live_server: LiveServer
) -> None:
    study_id, number = _enrol(live_server)
    await _sign_in(phone, live_server, number)
    await phone.get_by_role("link", name="Contar un síntoma").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("¿Cómo me siento?")
    assert await phone.evaluate("navigator.serviceWorker.ready.then(() => true)")

    await phone.context.set_offline(True)
    nausea = phone.locator("fieldset.symptom").filter(has_text="Náuseas o vómitos")
    await nausea.get_by_label("Náuseas o vómitos").check()
    await nausea.get_by_label("Leve").check()
    await phone.get_by_role("button", name="Enviar", exact=True).tap()
    await expect(phone.get_by_role("status")).to_contain_text("Pendiente de envío")
    await check_axe(phone)
    await save_screenshot(phone, "app-offline-pending.png", full_page=False)
    checkins = f"/api/v1/participants/{study_id}/checkins"
    assert live_server.api("GET", checkins, ADMIN).json() == []

    # The last home page and the form open without a connection (the service worker).
    await phone.context.set_offline(False)
    await expect(phone.get_by_role("status")).to_contain_text("Enviado")
    stored = live_server.api("GET", checkins, ADMIN).json()
    assert [c["channel"] for c in stored] == ["web"]
    assert "client_time" in stored[0]["raw_texts"][0]  # the phone's time, beside the server's
    left = await phone.evaluate(
        """() => new Promise(done => { const r = indexedDB.open('msc-role-app', 1);
             r.onsuccess = () => { const q = r.result.transaction('pending')
               .objectStore('pending').count(); q.onsuccess = () => done(q.result); }; })"""
    )
    assert left == 0  # the phone keeps nothing once the server has it

    await phone.goto("/app")
    await phone.context.set_offline(True)
    await phone.goto("/app")
    await expect(phone.get_by_role("heading", name="Mi próxima visita")).to_be_visible()
    await phone.context.set_offline(False)
    assert len(live_server.api("GET", checkins, ADMIN).json()) == 1
