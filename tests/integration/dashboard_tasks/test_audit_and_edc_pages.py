"""The audit trail and the EDC page: who/when/what/why in words, filters, scope, pages,
downloads, and the same statements with 10 and with 500 participants."""

from __future__ import annotations

import re

from service.db.models import Participant
from tests.support.dashboard_seed import seed
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.spreadsheets import as_excel_es_cl, workbook_rows
from tests.support.sql_counter import count_sql

AUDIT = "/dashboard/audit"


async def _enrol_two(client: Client) -> None:
    headers = await staff_headers(client, "enrol@uandes.cl", "admin")
    for body in (enrollment(), enrollment(study_id="HBL-001", site="HBLT", phone="+56961230002")):
        response = await client.post("/api/v1/participants", json=body, headers=headers)
        assert response.status_code == 201, response.text
    body = {"language": "en", "reason": "asked at the visit"}
    change = await client.patch("/api/v1/participants/MSC-001", headers=headers, json=body)
    assert change.status_code == 200, change.text


async def test_a_monitor_reads_who_when_what_and_why_in_words(client: Client) -> None:
    await _enrol_two(client)
    await dashboard_login(client, "mon@uandes.cl", "monitor", [])
    page = await client.get(f"{AUDIT}?participant=msc-001")
    assert page.status_code == 200
    html = page.text
    assert "Participante enrolado" in html and "Datos del participante modificados" in html
    assert "idioma: es → en" in html and "asked at the visit" in html
    assert "enrol@uandes.cl" in html and "staff:" not in html
    assert re.search(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2} \(-0[34]\)", html)
    assert "HBL-001" not in html  # filtered to one participant


async def test_a_site_scoped_monitor_never_sees_another_sites_entries(client: Client) -> None:
    await _enrol_two(client)
    await dashboard_login(client, "mon@uandes.cl", "monitor", ["HBLT"])
    html = (await client.get(AUDIT)).text
    assert "HBL-001" in html and "MSC-001" not in html
    assert "enrol@uandes.cl" in html  # the enrolment of their site's participant
    # about no participant: every-site only
    assert "Clave de acceso a la API emitida</td>" not in html


async def test_coordinators_do_not_review_the_audit_trail(client: Client) -> None:
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    assert (await client.get(AUDIT)).status_code == 403


async def test_filters_pages_and_downloads(client: Client) -> None:
    await _enrol_two(client)
    await dashboard_login(client, "boss@uandes.cl", "admin", [])
    first = await client.get(f"{AUDIT}?action=participant.enroll&limit=1")
    assert first.text.count('<td data-label="Cuándo"') == 1
    found = re.search(r'href="(/dashboard/audit\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert found
    second = await client.get(found.group(1).replace("&amp;", "&"))
    assert "Participante enrolado" in second.text
    assert '<td data-label="Cuándo"' not in (await client.get(f"{AUDIT}?from=2999-01-01")).text
    assert (await client.get(f"{AUDIT}?action=arm")).status_code == 400
    assert (await client.get(f"{AUDIT}?from=13-01-2027")).status_code == 400
    assert (await client.get(f"{AUDIT}?cursor=xx")).status_code == 400
    data = (await client.get(f"{AUDIT}?format=csv&user=enrol@uandes.cl")).content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = as_excel_es_cl(data)
    assert rows[0] == ["Cuándo", "Quién", "Qué", "Participante", "Registro", "Cambios", "Por qué"]
    assert {r[1] for r in rows[1:]} == {"enrol@uandes.cl"}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(-0[34]\)", r[0]) for r in rows[1:])
    book = workbook_rows((await client.get(f"{AUDIT}?format=xlsx")).content)
    assert book[0][0] == "Cuándo (hora local)" and len(book) > 3
    english = as_excel_es_cl((await client.get(f"{AUDIT}?format=csv&lang=en")).content)
    assert english[0][:3] == ["When", "Who", "What"]


async def test_the_edc_page_without_redcap_says_so(client: Client) -> None:
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    page = await client.get("/dashboard/edc")
    assert page.status_code == 200 and "REDCAP_API_URL" in page.text
    assert "No hay conflictos abiertos." in page.text
    rows = as_excel_es_cl((await client.get("/dashboard/edc?format=csv")).content)
    assert rows[0][:3] == ["Registro", "Centro", "Evento"]


async def test_new_pages_cost_the_same_statements_with_10_and_500(client: Client) -> None:
    now = client.app.state.runtime.clock.now()
    await seed(10, site="CUA", prefix="A", now=now)
    await dashboard_login(client, "boss@uandes.cl", "admin", [])
    pages = (
        AUDIT, f"{AUDIT}?participant=A00001", f"{AUDIT}?action=participant.enroll",
        "/dashboard/staff", "/dashboard/sites", "/dashboard/edc", "/dashboard/participants/new",
    )  # fmt: skip

    async def counts() -> list[int]:
        found = []
        for path in pages:
            async with count_sql() as sql:
                response = await client.get(path)
            assert response.status_code == 200, path
            found.append(sql.count)
        return found

    await counts()
    small = await counts()
    await seed(490, site="CUA", prefix="B", now=now, phone_offset=10000)
    assert await Participant.filter(site_id="CUA").count() == 500
    assert await counts() == small
