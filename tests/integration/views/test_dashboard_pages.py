"""The overview, the participant list and the visit grid through the real app: what a
coordinator reads, the same SQL statements with 10 and with 500 participants, and
nothing of another site on any page or CSV."""

from __future__ import annotations

import re

import pytest

from service.db.models import Participant
from tests.support.dashboard_seed import seed
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client
from tests.support.spreadsheets import as_excel_es_cl
from tests.support.sql_counter import count_sql

PAGES = (
    "/dashboard",
    "/dashboard?format=csv",
    "/dashboard/participants",
    "/dashboard/participants?format=csv",
    "/dashboard/participants?view=grid",
    "/dashboard/participants?view=grid&format=csv",
    "/dashboard/participants?flag=overdue&sort=checkins&limit=20",
)


async def _two_sites(client: Client, cua: int = 12, hblt: int = 5) -> None:
    now = client.app.state.runtime.clock.now()
    await seed(cua, site="CUA", prefix="CUA-", now=now)
    await seed(hblt, site="HBLT", prefix="HBL-", now=now, phone_offset=50000)


def _csv(data: bytes) -> list[list[str]]:
    return as_excel_es_cl(data)


async def test_overview_reads_in_spanish_with_charts_tables_and_links(client: Client) -> None:
    await _two_sites(client)
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])
    page = await client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    for words in ("Resumen del estudio", "Adherencia a las visitas", "Seguimientos", "SMS"):
        assert words in html, words
    assert html.count('role="img"') == 2 and "<title" in html and "<desc" in html
    assert "/dashboard/participants?site=CUA&amp;flag=overdue" in html or (
        "/dashboard/participants?flag=overdue" in html
    )
    assert "HBL-" not in html and "HBLT" not in html
    assert re.search(r"\d+ de \d+ · \d+ %", html)  # counts with their rate
    one_site = (await client.get("/dashboard?site=CUA")).text
    assert "/dashboard/participants?site=CUA&amp;flag=overdue" in one_site
    assert "/dashboard/participants?site=CUA&amp;view=grid#visit-M1" in one_site


async def test_overview_csv_has_the_figures_of_the_viewers_sites_only(client: Client) -> None:
    await _two_sites(client)
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])
    response = await client.get("/dashboard?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = _csv(response.content)
    assert lines[0] == ["Ámbito", "Cifra", "Ahora", "Este mes", "Mes anterior"]
    assert {line[0] for line in lines[1:]} == {"Todos sus centros", "CUA"}
    assert ["CUA", "Enrolados", "12", "0", "0"] in lines
    assert not any("_" in line[1] for line in lines)  # words, never snake_case codes
    other = await client.get("/dashboard?site=HBLT&format=csv")  # asked for by name
    assert {line[0] for line in _csv(other.content)[1:]} == {"Todos sus centros"}
    assert ["Todos sus centros", "Enrolados", "0", "0", "0"] in _csv(other.content)
    english = _csv((await client.get("/dashboard?format=csv&lang=en")).content)
    assert english[0] == ["Scope", "Figure", "Now", "This month", "Last month"]


async def test_list_and_grid_never_show_another_sites_participant(client: Client) -> None:
    await _two_sites(client)
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])
    for path in PAGES[2:]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "HBL-" not in response.text, path
    asked = await client.get("/dashboard/participants?site=HBLT")
    assert "HBL-" not in asked.text and "CUA-" not in asked.text
    listed = _csv((await client.get("/dashboard/participants?format=csv")).content)
    assert len(listed) == 13 and all(line[1] == "CUA" for line in listed[1:])


async def test_list_shows_counts_with_rates_flags_and_pages(client: Client) -> None:
    await _two_sites(client, cua=30)
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])
    first = await client.get("/dashboard/participants?limit=10")
    assert first.status_code == 200
    assert re.search(r"\d+ de \d+ · \d+ %", first.text)
    assert "30 participantes" in first.text
    found = re.search(r'href="(/dashboard/participants\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert found
    second = await client.get(found.group(1).replace("&amp;", "&"))
    ids = set(re.findall(r"CUA-\d{5}", first.text))
    assert ids and ids.isdisjoint(re.findall(r"CUA-\d{5}", second.text))
    opted = await client.get("/dashboard/participants?flag=opted_out")
    assert "Se dio de baja" in opted.text or "Baja de SMS" in opted.text


async def test_grid_says_the_state_in_words_and_the_window(client: Client) -> None:
    await _two_sites(client, cua=3)
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])
    page = await client.get("/dashboard/participants?view=grid")
    assert page.status_code == 200
    assert 'id="visit-M1"' in page.text
    assert re.search(r'<td class="state-[a-z]+" title="Ventana [^"]+">', page.text)
    assert "Asistió en ventana" in page.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/dashboard/participants?cursor=%25%25", "cursor"),
        ("/dashboard/participants?flag=arm", "flag"),
        ("/dashboard/participants?sort=arm", "sort"),
        ("/dashboard/participants?limit=0", "limit"),
    ],
)
async def test_bad_list_input_is_a_400_naming_the_field(
    client: Client, path: str, field: str
) -> None:
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])
    response = await client.get(path)
    assert response.status_code == 400, (path, response.status_code)


async def test_every_page_costs_the_same_statements_with_10_and_500(client: Client) -> None:
    now = client.app.state.runtime.clock.now()
    await seed(10, site="CUA", prefix="A", now=now)
    await dashboard_login(client, "ana@example.org", "coordinator", ["CUA"])

    async def counts() -> list[int]:
        found = []
        for path in PAGES:
            async with count_sql() as sql:
                response = await client.get(path)
            assert response.status_code == 200, path
            found.append(sql.count)
        return found

    await counts()  # the session's first requests touch its idle clock: not counted
    small = await counts()
    await seed(490, site="CUA", prefix="B", now=now, phone_offset=10000)
    assert await Participant.filter(site_id="CUA").count() == 500
    # The first page read after the enrolments finds the site's gap (the participants
    # without a summary row): six statements more, however many participants are new:
    # one to find the anchors not copied yet, three copying their schedules
    # (service/actions/views/_schedules.py), one inserting the site's missing rows, one
    # removing the gap (service/actions/views/_summary.py). With no gap, a page does none.
    # The overview keeps again the SMS days the seed's messages fell in: two more.
    first = await counts()
    assert first == [small[0] + 6 + 2, *small[1:]]
    assert await counts() == small
