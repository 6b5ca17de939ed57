"""Hostile and malformed input: every one is a 4xx naming the field, never a 500.

The probes are the ones an attacker or a careless client sends: NUL bytes, over-long
values, huge integers, deep JSON, broken UTF-8. Each must leave the database as it was.
"""

from __future__ import annotations

import pytest

from tests.support.helpers import Client, database_snapshot, enrollment, staff_headers

LONG = "x" * 5000


async def _admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@example.org", "admin")


def _names(response_json: dict[str, object], field: str) -> bool:
    text = str(response_json)
    return field in text


GETS = [
    ("/api/v1/participants?site=%00", "site"),
    ("/api/v1/participants?status=a%00b", "status"),
    (f"/api/v1/participants?site={LONG}", "site"),
    (f"/api/v1/participants?status={LONG}", "status"),
    ("/api/v1/participants/MSC%00001", "study_id"),
    (f"/api/v1/participants/{LONG}", "study_id"),
    (f"/api/v1/participants/{LONG}/calendar", "study_id"),
    ("/api/v1/participants/MSC-001/messages?lang=%00", "lang"),
    ("/api/v1/alerts/2147483648", "alert_id"),
    ("/api/v1/alerts/9223372036854775808", "alert_id"),
    ("/api/v1/alerts/99999999999999999999999999", "alert_id"),
    ("/api/v1/alerts?status=%00", "status"),
    ("/api/v1/inbox?status=%00", "status"),
    # Longer than the column, shorter than the guard's limit: the ORM's net catches it.
    ("/api/v1/participants/" + "S" * 100, "study_id"),
    ("/api/v1/participants/" + "S" * 100 + "/calendar.ics", "study_id"),
    ("/api/v1/participants?site=" + "C" * 100, "site"),
    ("/api/v1/participants?status=" + "a" * 100, "status"),
    ("/api/v1/participants?status=paused", "status"),  # not a participant status
]


@pytest.mark.parametrize(("path", "field"), GETS)
async def test_hostile_query_and_path_values_are_4xx_naming_the_field(
    client: Client, path: str, field: str
) -> None:
    headers = await _admin(client)
    response = await client.get(path, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code == 400:
        assert _names(response.json(), field), response.text[:300]


POSTS = [
    ("/api/v1/participants", enrollment(study_id="MSC\x00001"), "study_id"),
    ("/api/v1/participants", enrollment(timezone="A" * 300), "timezone"),
    ("/api/v1/participants", enrollment(timezone="America/\x00Santiago"), "timezone"),
    ("/api/v1/participants", enrollment(phone="+56 9 6123\x00 4567"), "phone"),
    ("/api/v1/participants", enrollment(study_id=LONG), "study_id"),
    ("/api/v1/participants", enrollment(preferred_time="1\x00:00"), "preferred_time"),
    ("/api/v1/participants/MSC-001/infusions", {"number": 2**64, "date": "2027-01-01"}, "number"),
    ("/api/v1/participants/MSC-001/infusions", {"number": 2**31, "date": "2027-01-01"}, "number"),
    ("/api/v1/alerts/2147483648/acknowledge", {"note": "x"}, "alert_id"),
    ("/api/v1/inbox/9223372036854775808/close", {"note": "x"}, "item_id"),
    ("/api/v1/inbox/1/close", {"note": "a\x00b"}, "note"),
]


@pytest.mark.parametrize(("path", "body", "field"), POSTS)
async def test_hostile_bodies_are_4xx_naming_the_field(
    client: Client, path: str, body: dict[str, object], field: str
) -> None:
    headers = await _admin(client)
    before = await database_snapshot()
    response = await client.post(path, json=body, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code == 400:
        assert _names(response.json(), field), response.text[:300]
    assert await database_snapshot() == before


async def test_patch_with_nul_and_long_timezone(client: Client) -> None:
    headers = await _admin(client)
    assert (
        await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    ).status_code == 201
    before = await database_snapshot()
    for body, field in (
        ({"timezone": "B" * 300}, "timezone"),
        ({"language": "e\x00s"}, "language"),
        ({"reason": "a\x00"}, "reason"),
        ({"phone": LONG}, "phone"),
    ):
        response = await client.patch("/api/v1/participants/MSC-001", json=body, headers=headers)
        assert response.status_code == 400, (body, response.status_code, response.text[:300])
        assert _names(response.json(), field), response.text[:300]
    assert await database_snapshot() == before


async def test_login_with_a_huge_or_nul_email(client: Client) -> None:
    for email in ("a" * 100_000 + "@example.org", "adm\x00in@example.org"):
        response = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": "whatever-it-is"}
        )
        assert response.status_code == 400, (response.status_code, response.text[:300])
        assert "email" in response.text


async def test_mobile_request_code_with_nul(client: Client) -> None:
    response = await client.post(
        "/api/v1/mobile/auth/request-code", json={"phone": "+569\x0061234567"}
    )
    assert 400 <= response.status_code < 500, response.text[:300]


async def test_json_nested_100000_deep(client: Client) -> None:
    headers = await _admin(client)
    body = b'{"study_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await client.post(
        "/api/v1/participants",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "body" in response.text


async def test_invalid_utf8_in_json(client: Client) -> None:
    headers = await _admin(client)
    body = b'{"study_id": "MSC-\xff\xfe001"}'
    response = await client.post(
        "/api/v1/participants",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "body" in response.text


async def test_nul_in_a_json_key_and_an_oversized_body(client: Client) -> None:
    headers = await _admin(client)
    before = await database_snapshot()
    keyed = await client.post(
        "/api/v1/participants",
        content=b'{"study\\u0000id": "MSC-001"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert keyed.status_code == 400 and "NUL" in keyed.text
    huge = await client.post(
        "/api/v1/participants",
        content=b'{"study_id": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert await database_snapshot() == before


async def test_form_bodies_are_left_to_the_webhook(client: Client) -> None:
    """The guard never reads form bodies: Twilio's webhooks store what was sent."""
    response = await client.post(
        "/webhooks/twilio/sms",
        content=b"Body=hola%00&From=%2B56961234567",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403  # unsigned: refused by the webhook itself


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", None])
async def test_a_json_route_guards_its_body_whatever_the_content_type(
    client: Client, content_type: str | None
) -> None:
    headers = await _admin(client)
    if content_type:
        headers["content-type"] = content_type
    for body, key in (
        (b'{"study_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "body"),
        (b'{"study_id": "MSC-\xff\xfe001"}', "body"),
        (b'{"study_id": "a\\u0000b", "site": "CUA"}', "study_id"),
    ):
        response = await client.post("/api/v1/participants", content=body, headers=headers)
        assert response.status_code == 400, (content_type, response.text[:200])
        assert response.json()["extra"][0]["key"] == key
