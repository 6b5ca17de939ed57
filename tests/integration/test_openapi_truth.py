"""The OpenAPI document says what routes answer; errors are JSON on every route."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import Client, staff_headers


async def _document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_every_operation_documents_its_errors(client: Client) -> None:
    document = await _document(client)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = set(operation["responses"])
            where = f"{method.upper()} {path}"
            if operation.get("security"):
                assert {"401", "403"} <= codes, where
            if "{" in path:
                assert "404" in codes, where
            if "requestBody" in operation:
                assert {"400", "413"} <= codes, where
    token = document["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert {"401", "429"} <= set(token)
    enroll = document["paths"]["/api/v1/participants"]["post"]["responses"]
    assert "409" in enroll


async def test_calendar_ics_is_text_calendar_and_bodies_refuse_unknown_fields(
    client: Client,
) -> None:
    document = await _document(client)
    ics = document["paths"]["/api/v1/participants/{study_id}/calendar.ics"]["get"]
    assert list(ics["responses"]["200"]["content"]) == ["text/calendar"]
    schemas = document["components"]["schemas"]
    for name in ("EnrollIn", "TokenRequest", "CodeVerifyIn", "AcknowledgeIn", "OnCallIn"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["ParticipantOut"]


async def test_an_error_on_the_ics_route_is_json(client: Client) -> None:
    response = await client.get("/api/v1/participants/MSC-404/calendar.ics")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    headers = await staff_headers(client, "admin@example.org", "admin")
    missing = await client.get("/api/v1/participants/MSC-404/calendar.ics", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


async def test_a_value_too_long_for_its_column_is_a_400_naming_it(client: Client) -> None:
    headers = await staff_headers(client, "admin@example.org", "admin")
    response = await client.put(
        "/api/v1/sites/ABCDEFGHIJKLMNOPQRS/on-call",
        json={"primary": "+56961234567"},
        headers=headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "code"
    assert "ABCDEFGHIJ" not in response.text
