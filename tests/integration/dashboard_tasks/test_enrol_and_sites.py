"""Enrolment and on-call numbers from the dashboard: the API's actions, Chilean phone
forms, PRG with the reason beside the field, audited, scoped."""

from __future__ import annotations

import pytest

from service.db.models import AuditEntry, Participant, Site
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client

NEW = "/dashboard/participants/new"


def _form(**overrides: str) -> dict[str, str]:
    return {
        "study_id": "msc-014",
        "site": "CUA",
        "phone": "9 6123 4567",
        "language": "es",
        "timezone": "",
        "can_become_pregnant": "no",
        "baseline_infusion_date": "2027-01-13",
        "sms_consent": "yes",
        "preferred_time": "",
        **overrides,
    }


async def _post(client: Client, path: str, token: str, data: dict[str, object]) -> object:
    return await client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


@pytest.mark.parametrize(
    "phone", ["9 6123 4567", "+56 9 6123 4567", "+56-9-6123-4567", "961234567"]
)
async def test_a_coordinator_enrols_with_a_chilean_number_as_people_write_it(
    client: Client, phone: str
) -> None:
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    form = await client.get(NEW)
    assert form.status_code == 200 and 'name="baseline_infusion_date"' in form.text
    done = await _post(client, NEW, login.csrf_token, _form(phone=phone))
    assert done.status_code == 303
    assert done.headers["location"] == "/dashboard/participants/MSC-014?saved=enrolled"
    participant = await Participant.get(study_id="MSC-014")
    assert participant.phone == "+56961234567" and participant.site_id == "CUA"
    entry = await AuditEntry.get(action="participant.enroll")
    assert entry.actor == "staff:ana@uandes.cl" and entry.changes["phone"] == "(set)"
    page = await client.get(done.headers["location"])
    assert "Se enroló al participante" in page.text


async def test_a_refused_enrolment_comes_back_with_the_reason_and_the_values(
    client: Client,
) -> None:
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    back = await _post(client, NEW, login.csrf_token, _form(phone="2 2345 6789"))  # a landline
    assert back.status_code == 303 and back.headers["location"] == NEW
    page = await client.get(NEW)
    assert "Escriba un celular chileno" in page.text
    assert 'value="2 2345 6789"' in page.text and 'value="msc-014"' in page.text
    assert 'aria-describedby="enrol-phone-error enrol-phone-hint"' in page.text
    assert not await Participant.exists()
    other_site = await _post(client, NEW, login.csrf_token, _form(site="HBLT"))
    assert other_site.status_code == 403  # the form offers only the viewer's sites
    assert not await Participant.exists()


async def test_a_monitor_gets_no_enrolment_form(client: Client) -> None:
    await dashboard_login(client, "mon@uandes.cl", "monitor", [])
    assert (await client.get(NEW)).status_code == 403
    listing = await client.get("/dashboard/participants")
    assert NEW not in listing.text


async def test_an_admin_sets_on_call_numbers_like_the_api(client: Client) -> None:
    login = await dashboard_login(client, "boss@uandes.cl", "admin", [])
    page = await client.get("/dashboard/sites")
    assert page.status_code == 200 and "Centros y números de turno" in page.text
    bad = await _post(client, "/dashboard/sites/CUA/on-call", login.csrf_token,
                      {"primary": "2 2345 6789", "backup": ""})  # fmt: skip
    assert bad.headers["location"] == "/dashboard/sites"
    assert "Escriba el celular del turno principal" in (await client.get("/dashboard/sites")).text
    good = await _post(client, "/dashboard/sites/CUA/on-call", login.csrf_token,
                       {"primary": "9 6123 9901", "backup": "+56 9 6123-9902"})  # fmt: skip
    assert good.headers["location"] == "/dashboard/sites?saved=on_call"
    site = await Site.get(code="CUA")
    assert (site.on_call_primary, site.on_call_backup) == ("+56961239901", "+56961239902")
    assert await AuditEntry.filter(action="site.on_call", actor="staff:boss@uandes.cl").exists()


async def test_only_admins_set_on_call_numbers(client: Client) -> None:
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    assert (await client.get("/dashboard/sites")).status_code == 403
