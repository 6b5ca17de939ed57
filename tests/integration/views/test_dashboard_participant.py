"""GET /dashboard/participants/{study_id} and its forms: content, scoping, roles, CSRF,
errors next to the field, post/redirect/get, CSV, and a fixed number of statements."""

from __future__ import annotations

import re
from datetime import date

from service.db.models import AuditEntry, OutboundMessage, Participant, Site, VisitOutcome
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.spreadsheets import as_excel_es_cl, workbook_rows
from tests.support.sql_counter import count_sql

PAGE = "/dashboard/participants/MSC-001"


async def _enrol(client: Client, *more: dict[str, object]) -> None:
    """MSC-001 (and ``more`` enrolments' overrides), through the API."""
    headers = await staff_headers(client, "enrol@uandes.cl", "admin")
    for overrides in ({}, *more):
        response = await client.post(
            "/api/v1/participants", json=enrollment(**overrides), headers=headers
        )
        assert response.status_code == 201, response.text


async def _post(client: Client, path: str, token: str, **fields: str) -> object:
    return await client.post(
        f"{PAGE}/{path}", data={"csrf_token": token, **fields}, follow_redirects=False
    )


async def test_page_shows_calendar_timeline_checkins_alerts_in_spanish(client: Client) -> None:
    await _enrol(client)
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    page = await client.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text
    for heading in ("Calendario de visitas", "Mensajes", "Seguimientos", "Alertas de seguridad"):
        assert heading in html
    assert "Cupo diario de mensajes completo" in html  # why a dropped reminder was not sent
    assert "Descartado por el cupo diario de mensajes; estaba planificado para el" in html
    assert "daily budget" not in html  # the stored note is said in the page's words
    assert 'type="date"' in html and "Registrar el resultado de una visita" in html
    for never in ("arm", "kit", "dose", "brazo", "dosis"):
        assert not re.search(rf"\b{never}\b", html, re.IGNORECASE)


async def test_record_visit_outcome_post_redirect_get_and_audit(client: Client) -> None:
    await _enrol(client)
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    response = await _post(
        client, "visit", login.csrf_token, visit_code="INF1", status="attended", date="2027-01-13"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{PAGE}?saved=visit"
    shown = await client.get(response.headers["location"])
    assert "Se registró el resultado de la visita." in shown.text
    outcome = await VisitOutcome.get(visit_code="INF1")
    assert (outcome.status, outcome.date) == ("attended", date(2027, 1, 13))
    assert outcome.recorded_by == "staff:ana@uandes.cl"
    assert await AuditEntry.filter(action="visit.record", actor="staff:ana@uandes.cl").exists()


async def test_implausible_visit_date_is_refused_beside_the_field(client: Client) -> None:
    await _enrol(client)
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    response = await _post(
        client, "visit", login.csrf_token, visit_code="INF1", status="missed", date="2031-05-01"
    )
    assert response.status_code == 422
    html = response.text
    assert 'aria-describedby="visit-date-error"' in html
    assert 'id="visit-date-error"' in html and "no puede ser futura" in html
    assert 'value="2031-05-01"' in html  # what was typed is kept
    assert re.search(r'value="missed"\s+checked', html)
    assert not await VisitOutcome.exists()
    unreadable = await _post(
        client, "visit", login.csrf_token, visit_code="INF1", status="missed", date="mañana"
    )
    assert (
        unreadable.status_code == 400 and "Ingrese una fecha con día, mes y año." in unreadable.text
    )
    unknown = await _post(
        client,
        "visit",
        login.csrf_token,
        visit_code="INF1",
        status="missed",
        date="2027-01-13",
        arm="A",
    )
    assert unknown.status_code == 400 and not await VisitOutcome.exists()


async def test_infusion_pause_contact_and_withdrawal(client: Client) -> None:
    await _enrol(client)
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    token = login.csrf_token
    early = await _post(client, "infusion", token, number="2", date="2027-01-10")
    assert early.status_code == 422 and 'id="infusion-date-error"' in early.text
    assert (await _post(client, "pause", token, paused="yes")).status_code == 303
    assert (await Participant.get(study_id="MSC-001")).paused
    paused_page = await client.get(PAGE)
    assert (
        "Reanudar recordatorios" in paused_page.text
        and "Recordatorios en pausa" in paused_page.text
    )
    bad_time = await _post(
        client, "contact", token, phone="+56 9 6123 4567", language="es", preferred_time="25:00"
    )
    assert bad_time.status_code == 422 and 'id="contact-preferred_time-error"' in bad_time.text
    ok = await _post(
        client, "contact", token, phone="+56 9 6123 9999", language="en", preferred_time="10:30"
    )
    assert ok.status_code == 303 and ok.headers["location"].endswith("saved=contact")
    changed = await Participant.get(study_id="MSC-001")
    assert (changed.phone, changed.language, changed.preferred_time) == (
        "+56961239999",
        "en",
        "10:30",
    )
    no_reason = await _post(client, "withdraw", token, reason="  ")
    assert no_reason.status_code == 400 and 'id="withdraw-reason-error"' in no_reason.text
    done = await _post(client, "withdraw", token, reason="Se cambió de ciudad")
    assert done.status_code == 303
    assert (await Participant.get(study_id="MSC-001")).status == "withdrawn"
    entry = await AuditEntry.get(action="participant.withdraw")
    assert entry.reason == "Se cambió de ciudad"
    after = await client.get(PAGE)
    assert "Registrar el resultado de una visita" not in after.text  # no forms once withdrawn


async def test_phone_of_another_participant_is_409(client: Client) -> None:
    await _enrol(client, {"study_id": "MSC-002", "phone": "+56 9 6123 0002"})
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    response = await _post(
        client, "contact", login.csrf_token, phone="+56961230002", language="es", preferred_time=""
    )
    assert response.status_code == 409
    assert "Este número pertenece a otro participante." in response.text
    assert 'aria-describedby="contact-phone-error"' in response.text


async def test_monitor_sees_no_forms_and_gets_403_on_post(client: Client) -> None:
    await _enrol(client)
    login = await dashboard_login(client, "mon@uandes.cl", "monitor", ["CUA"])
    page = await client.get(PAGE)
    assert page.status_code == 200 and "<form" in page.text  # the sign-out form only
    assert page.text.count("<form") == 1
    response = await _post(
        client, "visit", login.csrf_token, visit_code="INF1", status="attended", date="2027-01-13"
    )
    assert response.status_code == 403 and not await VisitOutcome.exists()


async def test_missing_csrf_is_403_and_changes_nothing(client: Client) -> None:
    await _enrol(client)
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    response = await client.post(f"{PAGE}/pause", data={"paused": "yes"}, follow_redirects=False)
    assert response.status_code == 403
    assert not (await Participant.get(study_id="MSC-001")).paused


async def test_another_sites_participant_is_404_on_page_csv_and_form(client: Client) -> None:
    await _enrol(client)
    login = await dashboard_login(client, "hb@uandes.cl", "coordinator", ["HBLT"])
    assert (await client.get(PAGE)).status_code == 404
    assert (await client.get(f"{PAGE}?format=csv")).status_code == 404
    response = await _post(
        client, "visit", login.csrf_token, visit_code="INF1", status="attended", date="2027-01-13"
    )
    assert response.status_code == 404 and not await VisitOutcome.exists()
    assert "MSC-001" not in response.text or "Participante MSC-001" not in response.text


async def test_timeline_and_checkins_as_csv(client: Client) -> None:
    await _enrol(client)
    await (
        OutboundMessage.filter(status="planned").limit(1).update(status="failed", error_code=30005)
    )
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    response = await client.get(f"{PAGE}?format=csv&table=timeline")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv; charset=utf-8")
    assert "attachment" in response.headers["content-disposition"]
    rows = as_excel_es_cl(response.content)
    assert rows[0][:4] == ["Cuándo", "Dirección", "Tipo", "Estado"]
    assert any("Número desconocido" in " ".join(row) for row in rows[1:])
    checkins = await client.get(f"{PAGE}?format=csv&table=checkins")
    assert as_excel_es_cl(checkins.content)[0][0] == "Enviado"
    book = workbook_rows((await client.get(f"{PAGE}?format=xlsx")).content)
    assert book[0][0] == "Cuándo (hora local)" and len(book) == len(rows)
    assert (await client.get(f"{PAGE}?format=pdf")).status_code == 400


async def _others(count: int) -> None:
    site = await Site.get(code="CUA")
    start = await Participant.all().count()
    await Participant.bulk_create(
        [
            Participant(
                study_id=f"X-{start + n:05d}",
                site=site,
                phone=f"+5698{start + n:07d}",
                timezone="America/Santiago",
                can_become_pregnant=False,
                baseline_infusion_date=date(2027, 1, 5),
                sms_consent=True,
            )
            for n in range(count)
        ]
    )


async def test_page_costs_the_same_statements_with_10_and_500_participants(
    client: Client,
) -> None:
    await _enrol(client)
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    await _others(9)
    await client.get(PAGE)  # warm: the session row is read the same way each time
    async with count_sql() as ten:
        assert (await client.get(PAGE)).status_code == 200
    await _others(490)
    await client.get(PAGE)  # as above (a connection the bulk insert left is replaced)
    async with count_sql() as five_hundred:
        assert (await client.get(PAGE)).status_code == 200
    assert await Participant.all().count() == 500
    assert ten.count == five_hundred.count, (ten.statements, five_hundred.statements)
