"""Paged list routes: limit, an opaque keyset cursor, the next page in ``Link``."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from service.db.models import Alert, InboxItem, Participant, Site
from tests.support.helpers import Client, staff_headers

T0 = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


async def _participants(site: str, numbers: range) -> list[Participant]:
    where = await Site.get(code=site)
    return [
        await Participant.create(
            study_id=f"{site}-{n:03d}",
            site=where,
            phone=f"+569{'7' if site == 'CUA' else '8'}{n:07d}",
            timezone="America/Santiago",
            can_become_pregnant=False,
            baseline_infusion_date=date(2027, 1, 5),
            sms_consent=True,
        )
        for n in numbers
    ]


def _next(response: object) -> str | None:
    link = response.headers.get("link")  # type: ignore[attr-defined]
    if link is None:
        return None
    assert link.endswith('>; rel="next"'), link
    url = urlsplit(link[1 : link.index(">")])
    return f"{url.path}?{url.query}"


async def _walk(
    client: Client, path: str, headers: dict[str, str], key: str = "study_id"
) -> list[list[str]]:
    pages: list[list[str]] = []
    next_path: str | None = path
    while next_path:
        response = await client.get(next_path, headers=headers)
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), list)  # the body stays the contract's list
        pages.append([str(row[key]) for row in response.json()])
        next_path = _next(response)
    return pages


async def test_participants_page_by_study_id_and_link_keeps_filters(client: Client) -> None:
    await _participants("CUA", range(7))
    await _participants("HBLT", range(3))
    headers = await staff_headers(client, "ana@example.org", "coordinator", ["CUA"])
    pages = await _walk(client, "/api/v1/participants?limit=3&status=active", headers)
    assert pages == [
        ["CUA-000", "CUA-001", "CUA-002"],
        ["CUA-003", "CUA-004", "CUA-005"],
        ["CUA-006"],
    ]
    first = await client.get("/api/v1/participants?limit=3&status=active", headers=headers)
    query = parse_qs(urlsplit(first.headers["link"][1:].split(">")[0]).query)
    assert query["limit"] == ["3"] and query["status"] == ["active"]
    # Default limit: everything of this size in one page, no Link.
    whole = await client.get("/api/v1/participants", headers=headers)
    assert len(whole.json()) == 7 and "link" not in whole.headers


async def test_cursor_is_stable_while_participants_are_added(client: Client) -> None:
    await _participants("CUA", range(0, 10, 2))  # 000, 002, 004, 006, 008
    headers = await staff_headers(client, "ana@example.org", "admin")
    first = await client.get("/api/v1/participants?limit=2", headers=headers)
    assert [p["study_id"] for p in first.json()] == ["CUA-000", "CUA-002"]
    await _participants("CUA", range(1, 10, 2))  # inserted before and after the cursor
    second = await client.get(_next(first) or "", headers=headers)
    assert [p["study_id"] for p in second.json()] == ["CUA-003", "CUA-004"]


async def test_coordinator_pages_never_show_the_other_site(client: Client) -> None:
    await _participants("CUA", range(4))
    await _participants("HBLT", range(4))
    headers = await staff_headers(client, "hb@example.org", "coordinator", ["HBLT"])
    pages = await _walk(client, "/api/v1/participants?limit=1", headers)
    assert [p for page in pages for p in page] == [f"HBLT-{n:03d}" for n in range(4)]
    forged = base64.urlsafe_b64encode(b'["participants",""]').decode().rstrip("=")
    response = await client.get(f"/api/v1/participants?cursor={forged}", headers=headers)
    assert all(p["site"] == "HBLT" for p in response.json())


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("cursor=!!!", "cursor"),
        ("cursor=bm90LWpzb24", "cursor"),  # base64 of "not-json"
        ("cursor=WyJhbGVydHMiLCIyMDI3LTAxLTEwVDEyOjAwOjAwKzAwOjAwIiwxXQ", "cursor"),  # alerts'
        ("cursor=" + "A" * 201, "cursor"),
        ("cursor=", "cursor"),
    ],
)
async def test_bad_limit_or_cursor_is_400_naming_it(client: Client, query: str, field: str) -> None:
    headers = await staff_headers(client, "ana@example.org", "admin")
    response = await client.get(f"/api/v1/participants?{query}", headers=headers)
    assert response.status_code == 400, response.text
    assert field in {item.get("key") for item in response.json().get("extra", [])}, response.text


async def _alerts(people: list[Participant], times: list[datetime]) -> list[int]:
    ids = []
    for n, (person, at) in enumerate(zip(people, times, strict=True)):
        alert = await Alert.create(
            participant=person,
            site_id=person.site_id,  # type: ignore[attr-defined]  # FK id attr
            dedupe_key=f"t:{n}",
            raised_at=at,
            findings=[],
        )
        ids.append(alert.id)
    return ids


async def test_alerts_page_newest_first_with_ties(client: Client) -> None:
    people = await _participants("CUA", range(5)) + await _participants("HBLT", range(1))
    same = T0 + timedelta(hours=1)
    ids = await _alerts(people, [T0, same, same, same, T0 - timedelta(hours=1), same])
    headers = await staff_headers(client, "ana@example.org", "coordinator", ["CUA"])
    pages = await _walk(client, "/api/v1/alerts?limit=2&status=all", headers, "id")
    # newest first, ties by id descending; HBLT's alert (ids[5]) never shows
    assert pages == [[str(ids[3]), str(ids[2])], [str(ids[1]), str(ids[0])], [str(ids[4])]]
    bad = await client.get("/api/v1/alerts?cursor=QUJD", headers=headers)
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "cursor"


async def test_inbox_pages_scoped_in_sql(client: Client) -> None:
    people = await _participants("CUA", range(3)) + await _participants("HBLT", range(2))
    for n, person in enumerate(people):
        await InboxItem.create(
            participant=person,
            site_id=person.site_id,  # type: ignore[attr-defined]  # FK id attr
            reason="not_understood",
            created_at=T0 + timedelta(minutes=n),
        )
    await InboxItem.create(reason="unknown_sender", created_at=T0 + timedelta(hours=2))
    coordinator = await staff_headers(client, "ana@example.org", "coordinator", ["CUA"])
    pages = await _walk(client, "/api/v1/inbox?limit=2", coordinator)
    assert pages == [["CUA-002", "CUA-001"], ["CUA-000"]]
    admin = await staff_headers(client, "root@example.org", "admin")
    everything = await _walk(client, "/api/v1/inbox?limit=4", admin, "reason")
    assert [len(page) for page in everything] == [4, 2]
    assert everything[0][0] == "unknown_sender"  # no site: admins see it
