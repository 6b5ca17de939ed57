"""The statement counter the constant-query tests rely on counts what it should."""

from __future__ import annotations

from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.sql_counter import count_sql


async def test_counts_the_statements_of_a_request_and_nothing_outside_it(client: Client) -> None:
    headers = await staff_headers(client, "admin@example.org", "admin")
    await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    async with count_sql() as sql:
        response = await client.get("/api/v1/participants", headers=headers)
    assert response.status_code == 200
    assert sql.count >= 2  # at least the token lookup and the list itself
    assert any("participant" in s.lower() for s in sql.statements)
    before = sql.count
    await client.get("/api/v1/participants", headers=headers)
    assert sql.count == before
