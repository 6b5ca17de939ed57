"""REDCap set-up files over HTTP (EDC key) and from `followup edc redcap-setup DIR`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from service.actions.access import add_api_key
from service.cli import main
from tests.support.helpers import Client, staff_headers

ROUTES = (
    "data-dictionary.csv",
    "events.csv",
    "instrument-event-mappings.csv",
    "repeating-instruments.csv",
)


async def edc_headers(
    client: Client, name: str = "redcap", sites: list[str] | None = None
) -> dict[str, str]:
    key = await add_api_key(client.app.state.runtime, name, "edc", sites or [])
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("name", ROUTES)
async def test_setup_files_need_an_edc_key(client: Client, name: str) -> None:
    response = await client.get(f"/edc/v1/redcap/{name}")
    assert response.status_code == 401
    bad = await client.get(f"/edc/v1/redcap/{name}", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


async def test_staff_tokens_do_not_open_edc_routes(client: Client) -> None:
    headers = await staff_headers(client, "ana@example.org", "admin")
    response = await client.get("/edc/v1/redcap/events.csv", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("name", ROUTES)
async def test_setup_files_served_as_csv(client: Client, name: str) -> None:
    response = await client.get(f"/edc/v1/redcap/{name}", headers=await edc_headers(client))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert name in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows


async def test_cli_writes_the_same_files(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = client.app.state.runtime.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)
    assert main(["edc", "redcap-setup", str(tmp_path / "setup")]) == 0
    headers = await edc_headers(client)
    for name in ROUTES:
        served = (await client.get(f"/edc/v1/redcap/{name}", headers=headers)).text
        assert (tmp_path / "setup" / name).read_bytes().decode("utf-8") == served


async def test_edc_routes_are_in_the_openapi_schema(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in (
        "/edc/v1/odm/metadata.xml",
        "/edc/v1/odm/clinical-data.xml",
        "/edc/v1/redcap/data-dictionary.csv",
        "/api/v1/edc/status",
    ):
        assert path in paths
