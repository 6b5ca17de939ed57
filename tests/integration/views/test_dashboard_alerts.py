"""The alerts board and the coordinators' queue: open alerts oldest first with their
age, texts (masked) and escalation; acknowledge and close through the API's actions
(audited), CSRF and roles enforced, site scoping on pages and CSVs, and the same
number of SQL statements with 10 and with 500 participants."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from service.db.models import Alert, AuditEntry, InboxItem
from service.ports import ManualClock
from tests.support.alert_board_seed import seed_board
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client
from tests.support.spreadsheets import as_excel_es_cl
from tests.support.sql_counter import count_sql

ALERTS = "/dashboard/alerts"
INBOX = "/dashboard/inbox"


async def _seed_two_sites(clock: ManualClock, count: int = 4) -> None:
    await seed_board(count, clock.now(), site="CUA", prefix="CUA")
    await seed_board(count, clock.now(), site="HBLT", prefix="HBL", phone_base=5000)


def _rows(body: bytes) -> list[list[str]]:
    return as_excel_es_cl(body)


async def test_open_alerts_oldest_first_with_age_texts_and_escalation(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    await Alert.filter(dedupe_key="seed:CUA-0000").update(escalated_at=clock.now())
    await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    page = await client.get(ALERTS)
    assert page.status_code == 200
    html = page.text
    assert "Escalada" in html  # CUA-0000, escalated
    assert "Turno avisado, sin confirmar" in html and "escala el" in html  # the others
    open_ids = re.findall(
        r'<tr id="alert-\d+"[^>]*>\s*<td[^>]*><strong>[^<]+</strong>.*?'
        r'href="/dashboard/participants/(CUA-\d+)"',
        html,
        re.S,
    )
    assert open_ids == ["CUA-0000", "CUA-0001", "CUA-0003"]  # oldest first; 0002 acknowledged
    assert "4 horas" in html  # CUA-0000 was raised 4 hours ago
    assert "+56 9 **** **01" in html and "+56961234501" not in html  # masked, never raw
    assert "Turno principal" in html
    assert 'hx-trigger="every 30s"' in html and 'hx-get="/dashboard/alerts/open"' in html
    # recently acknowledged, with who and the note
    assert "seed@example.org" in html and "llamé, está bien" in html
    # another site's participants never appear
    assert "HBL-" not in html


async def test_the_polled_partial_is_the_open_alerts_alone(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    partial = await client.get(f"{ALERTS}/open", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith(("{#", "<section"))
    assert "<html" not in partial.text and 'id="open-alerts"' in partial.text
    assert "CUA-0000" in partial.text and "HBL-" not in partial.text


async def test_acknowledge_with_a_note_goes_through_the_action_and_is_audited(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    alert = await Alert.get(dedupe_key="seed:CUA-0000")
    response = await client.post(
        f"{ALERTS}/{alert.id}/acknowledge",
        data={"note": "Llamé a la participante; va a urgencias.", "csrf_token": login.csrf_token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{ALERTS}?acknowledged={alert.id}"
    await alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == "staff:ana@uandes.cl"
    assert alert.note == "Llamé a la participante; va a urgencias."
    assert await AuditEntry.filter(action="alert.acknowledge", entity_id=str(alert.id)).exists()
    page = await client.get(response.headers["location"])
    assert "Alerta confirmada" in page.text


async def test_an_empty_note_is_refused_next_to_the_field_and_nothing_changes(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    alert = await Alert.get(dedupe_key="seed:CUA-0000")
    response = await client.post(
        f"{ALERTS}/{alert.id}/acknowledge", data={"note": "   ", "csrf_token": login.csrf_token}
    )
    assert response.status_code == 400
    assert f'aria-describedby="note-{alert.id}-error"' in response.text
    assert "la nota es obligatoria" in response.text
    assert (await Alert.get(id=alert.id)).status == "open"


async def test_acknowledge_refused_without_csrf_for_a_monitor_and_for_another_site(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    cua = await Alert.get(dedupe_key="seed:CUA-0000")
    hblt = await Alert.get(dedupe_key="seed:HBL-0000")
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    no_token = await client.post(f"{ALERTS}/{cua.id}/acknowledge", data={"note": "x"})
    assert no_token.status_code == 403
    forged = await client.post(
        f"{ALERTS}/{cua.id}/acknowledge", data={"note": "x", "csrf_token": "f" * 64}
    )
    assert forged.status_code == 403
    other = await client.post(
        f"{ALERTS}/{hblt.id}/acknowledge", data={"note": "x", "csrf_token": login.csrf_token}
    )
    assert other.status_code == 404
    assert "HBL-" not in other.text
    client.cookies.clear()
    monitor = await dashboard_login(client, "mon@uandes.cl", role="monitor", sites=["CUA"])
    page = await client.get(ALERTS)
    assert '<form class="ack-form"' not in page.text and "CUA-0000" in page.text
    refused = await client.post(
        f"{ALERTS}/{cua.id}/acknowledge", data={"note": "x", "csrf_token": monitor.csrf_token}
    )
    assert refused.status_code == 403
    assert await Alert.filter(status="acknowledged", note="x").count() == 0
    assert not await AuditEntry.filter(action="alert.acknowledge").exists()


async def test_acknowledging_twice_says_someone_did_it_already(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    alert = await Alert.get(dedupe_key="seed:CUA-0000")
    form = {"note": "hecho", "csrf_token": login.csrf_token}
    assert (await client.post(f"{ALERTS}/{alert.id}/acknowledge", data=form)).status_code == 200
    again = await client.post(f"{ALERTS}/{alert.id}/acknowledge", data=form)
    assert again.status_code == 409
    assert "hace un momento" in again.text


async def test_alerts_csv_has_the_pages_rows_and_scoping(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock)
    await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    response = await client.get(f"{ALERTS}?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = _rows(response.content)
    assert rows[0][:4] == ["Alerta", "Estado", "Participante", "Centro"]
    assert [r[2] for r in rows[1:]] == ["CUA-0000", "CUA-0001", "CUA-0003", "CUA-0002"]
    assert all(r[3] == "CUA" for r in rows[1:])
    assert rows[1][6].endswith("(-03)")  # the site's zone, with its offset
    assert rows[1][8] == "Turno principal +56 9 **** **01 (entregado)"  # masked
    assert "+56961234501" not in response.text


async def test_inbox_lists_the_queue_oldest_first_and_closes_with_a_note(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock, count=2)
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    page = await client.get(INBOX)
    assert page.status_code == 200
    assert "no entiendo la pregunta" in page.text and "HBL-" not in page.text
    assert "Mensaje no entendido" in page.text
    item = await InboxItem.filter(site_id="CUA").order_by("id").first()
    assert item is not None
    closed = await client.post(
        f"{INBOX}/{item.id}/close",
        data={"note": "Le expliqué por teléfono.", "csrf_token": login.csrf_token},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    await item.refresh_from_db()
    assert item.status == "closed" and item.closed_by == "staff:ana@uandes.cl"
    entry = await AuditEntry.get(action="inbox.close", entity_id=str(item.id))
    assert entry.reason == "Le expliqué por teléfono."
    rows = _rows((await client.get(f"{INBOX}?format=csv")).content)
    assert [r[2] for r in rows[1:]] == ["CUA-0001"]


async def test_inbox_refuses_a_monitor_and_another_sites_item(
    client: Client, clock: ManualClock
) -> None:
    await _seed_two_sites(clock, count=1)
    hblt = await InboxItem.get(site_id="HBLT")
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    other = await client.post(
        f"{INBOX}/{hblt.id}/close", data={"note": "", "csrf_token": login.csrf_token}
    )
    assert other.status_code == 404
    client.cookies.clear()
    monitor = await dashboard_login(client, "mon@uandes.cl", role="monitor", sites=["HBLT"])
    page = await client.get(INBOX)
    assert "HBL-0000" in page.text and "close-form" not in page.text
    refused = await client.post(
        f"{INBOX}/{hblt.id}/close", data={"note": "", "csrf_token": monitor.csrf_token}
    )
    assert refused.status_code == 403
    assert (await InboxItem.get(id=hblt.id)).status == "open"
    rows = _rows((await client.get(f"{INBOX}?format=csv")).content)
    assert [r[3] for r in rows[1:]] == ["HBLT"]


async def test_unknown_form_fields_are_refused(client: Client, clock: ManualClock) -> None:
    await _seed_two_sites(clock, count=1)
    login = await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    alert = await Alert.get(dedupe_key="seed:CUA-0000")
    response = await client.post(
        f"{ALERTS}/{alert.id}/acknowledge",
        data={"note": "x", "status": "open", "csrf_token": login.csrf_token},
    )
    assert response.status_code == 400
    assert (await Alert.get(id=alert.id)).status == "open"


@pytest.mark.parametrize(
    "path", [ALERTS, f"{ALERTS}/open", f"{ALERTS}?format=csv", INBOX, f"{INBOX}?format=csv"]
)
async def test_same_number_of_queries_with_10_and_500_participants(
    client: Client, clock: ManualClock, path: str
) -> None:
    await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    await seed_board(10, clock.now(), prefix="SMALL")
    async with count_sql() as small:
        assert (await client.get(path)).status_code == 200
    await seed_board(490, clock.now() - timedelta(days=30), prefix="LARGE", phone_base=100)
    async with count_sql() as large:
        assert (await client.get(path)).status_code == 200
    assert small.count == large.count, (small.statements, large.statements)


async def test_the_board_speaks_english_when_asked(client: Client, clock: ManualClock) -> None:
    await _seed_two_sites(clock, count=1)
    await dashboard_login(client, "ana@uandes.cl", sites=["CUA"])
    page = await client.get(f"{ALERTS}?lang=en")
    assert "Safety alerts" in page.text and "1 open alert" in page.text
    assert "On-call primary" in page.text and "1 hour" in page.text
    rows = _rows((await client.get(f"{ALERTS}?format=csv")).content)
    assert rows[0][:2] == ["Alert", "State"]
