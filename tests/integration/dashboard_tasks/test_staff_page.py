"""GET /dashboard/staff and its forms: admins only, PRG with errors kept, audited, and
no admin can lock the study out of its own dashboard."""

from __future__ import annotations

from service.db.access_models import StaffSession, StaffUser
from service.db.models import AuditEntry
from tests.support.dashboard_support import csrf_from, dashboard_login
from tests.support.helpers import Client
from tests.support.spreadsheets import as_excel_es_cl, workbook_rows

PAGE = "/dashboard/staff"


async def _post(client: Client, path: str, token: str, **fields: object) -> object:
    return await client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


async def test_only_admins_open_the_page(client: Client) -> None:
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    assert (await client.get(PAGE)).status_code == 403
    await dashboard_login(client, "mon@uandes.cl", "monitor", [])
    assert (await client.get(PAGE)).status_code == 403


async def test_an_admin_adds_an_account_and_a_refusal_comes_back_with_its_values(
    client: Client,
) -> None:
    login = await dashboard_login(client, "boss@uandes.cl", "admin", [])
    page = await client.get(PAGE)
    assert page.status_code == 200 and "Cuentas del personal" in page.text
    refused = await _post(client, PAGE, login.csrf_token, email="nueva@uandes.cl",
                          role="coordinator", sites="CUA", password="short")  # fmt: skip
    assert refused.status_code == 303 and refused.headers["location"] == PAGE
    back = await client.get(PAGE)
    assert "al menos 10 caracteres" in back.text
    assert 'value="nueva@uandes.cl"' in back.text and "short" not in back.text
    assert 'aria-invalid="true"' in back.text
    again = await client.get(PAGE)  # shown once, then gone
    assert "al menos 10 caracteres" not in again.text
    done = await _post(client, PAGE, login.csrf_token, email="Nueva@uandes.cl",
                       role="coordinator", sites=["CUA", "HBLT"],
                       password="una-clave-larga")  # fmt: skip
    assert done.headers["location"] == f"{PAGE}?saved=added"
    user = await StaffUser.get(email="nueva@uandes.cl")
    assert user.sites == ["CUA", "HBLT"] and user.role == "coordinator"
    entry = await AuditEntry.get(action="staff.add", entity_id="nueva@uandes.cl")
    assert entry.actor == "staff:boss@uandes.cl"


async def test_role_password_and_disable_are_audited_and_end_sessions(client: Client) -> None:
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    login = await dashboard_login(client, "boss@uandes.cl", "admin", [])
    base = f"{PAGE}/ana@uandes.cl"
    moved = await _post(client, f"{base}/role", login.csrf_token, role="monitor", sites=["HBLT"])
    assert moved.headers["location"] == f"{PAGE}?saved=changed"
    assert (await StaffUser.get(email="ana@uandes.cl")).role == "monitor"
    await _post(client, f"{base}/password", login.csrf_token, password="otra-clave-larga")
    assert not await StaffSession.filter(staff__email="ana@uandes.cl", revoked_at=None).exists()
    off = await _post(client, f"{base}/active", login.csrf_token, active="no")
    assert off.headers["location"] == f"{PAGE}?saved=disabled"
    assert not (await StaffUser.get(email="ana@uandes.cl")).active
    actions = await AuditEntry.filter(entity_id="ana@uandes.cl").values_list("action", flat=True)
    assert {"staff.update", "staff.password", "staff.disable"} <= set(actions)
    password_entry = await AuditEntry.get(action="staff.password")
    assert "otra" not in str(password_entry.changes)


async def test_no_admin_locks_the_study_out(client: Client) -> None:
    login = await dashboard_login(client, "boss@uandes.cl", "admin", [])
    mine = f"{PAGE}/boss@uandes.cl"
    demoted = await _post(client, f"{mine}/role", login.csrf_token, role="monitor")
    assert demoted.headers["location"] == PAGE
    assert "último administrador" in (await client.get(PAGE)).text
    off = await _post(client, f"{mine}/active", login.csrf_token, active="no")
    assert off.headers["location"] == PAGE
    assert (await StaffUser.get(email="boss@uandes.cl")).active
    assert (await StaffUser.get(email="boss@uandes.cl")).role == "admin"
    # the page still opens: the session survived
    assert (await client.get(PAGE)).status_code == 200


async def test_a_monitor_posting_anyway_gets_403_and_nothing_changes(client: Client) -> None:
    await dashboard_login(client, "mon@uandes.cl", "monitor", [])
    page = await client.get("/dashboard")
    token = csrf_from(page.text)
    refused = await _post(client, PAGE, token, email="x@uandes.cl", role="admin",
                          password="una-clave-larga")  # fmt: skip
    assert refused.status_code == 403
    assert not await StaffUser.filter(email="x@uandes.cl").exists()


async def test_accounts_download_as_csv_and_xlsx_in_spanish(client: Client) -> None:
    await dashboard_login(client, "boss@uandes.cl", "admin", [])
    csv_rows = as_excel_es_cl((await client.get(f"{PAGE}?format=csv")).content)
    assert csv_rows[0] == ["Correo electrónico", "Rol", "Centros", "Estado", "Cuenta desde"]
    assert csv_rows[1][0] == "boss@uandes.cl" and csv_rows[1][3] == "Activa"
    rows = workbook_rows((await client.get(f"{PAGE}?format=xlsx")).content)
    assert rows[0][0] == "Correo electrónico" and rows[1][0] == "boss@uandes.cl"
