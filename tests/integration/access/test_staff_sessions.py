"""Staff sessions end when they should; staff sign-in cannot be guessed at full speed."""

from __future__ import annotations

import asyncio
import io

import pytest

from service import cli
from service.actions.access import (
    ACCOUNT_MAX_FAILURES,
    add_staff_user,
    purge_old_attempts,
    set_staff_active,
)
from service.actions.access._throttle import ADDRESS_MAX_FAILURES, WINDOW
from service.db.access_models import AuthToken, LoginAttempt
from service.db.models import AuditEntry
from service.ports import ManualClock
from tests.support.helpers import Client, staff_headers

PASSWORD = "correct-horse-battery"
EMAIL = "ana@example.org"


async def _login(client: Client, password: str, email: str = EMAIL) -> int:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return response.status_code


async def test_a_disabled_users_token_stops_at_once_and_stays_dead(client: Client) -> None:
    headers = await staff_headers(client, EMAIL, "admin")
    assert (await client.get("/api/v1/sites", headers=headers)).status_code == 200
    rt = client.app.state.runtime
    await set_staff_active(rt, EMAIL, active=False, actor="system:test")
    assert (await client.get("/api/v1/sites", headers=headers)).status_code == 401
    assert await _login(client, PASSWORD) == 401
    assert await AuthToken.all().count() == 0
    entry = await AuditEntry.get(action="staff.disable")
    assert entry.entity_id == EMAIL and entry.changes["tokens_revoked"] == 1

    await set_staff_active(rt, EMAIL, active=True, actor="system:test")
    assert (await client.get("/api/v1/sites", headers=headers)).status_code == 401
    assert await _login(client, PASSWORD) == 200


async def test_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: Client, clock: ManualClock
) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "admin", [], PASSWORD)
    for _ in range(ACCOUNT_MAX_FAILURES):
        assert await _login(client, "wrong-password") == 401
    response = await client.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= WINDOW.total_seconds()
    assert response.json()["extra"][0]["key"] == "email"
    assert await AuditEntry.filter(action="auth.login_failed").count() == ACCOUNT_MAX_FAILURES
    throttled = await AuditEntry.get(action="auth.login_throttled")
    assert throttled.changes["limit"] == "account"
    assert "ana" not in str(throttled.changes)

    clock.advance(seconds=WINDOW.total_seconds() + 1)
    assert await _login(client, PASSWORD) == 200


async def test_a_success_resets_the_account_count(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "admin", [], PASSWORD)
    for _ in range(ACCOUNT_MAX_FAILURES - 1):
        assert await _login(client, "wrong-password") == 401
    assert await _login(client, PASSWORD) == 200
    for _ in range(ACCOUNT_MAX_FAILURES - 1):
        assert await _login(client, "wrong-password") == 401
    assert await _login(client, PASSWORD) == 200


async def test_one_address_is_throttled_across_accounts(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "admin", [], PASSWORD)
    for n in range(ADDRESS_MAX_FAILURES):
        assert await _login(client, "wrong-password", f"nobody{n}@example.org") == 401
    assert await _login(client, PASSWORD) == 429


async def test_parallel_guesses_cannot_pass_the_limit_together(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "admin", [], PASSWORD)
    codes = await asyncio.gather(*(_login(client, f"guess-{n:04d}-x") for n in range(12)))
    assert codes.count(401) <= ACCOUNT_MAX_FAILURES
    assert set(codes) <= {401, 429}
    assert await _login(client, PASSWORD) == 429


async def test_old_attempts_are_purged(client: Client, clock: ManualClock) -> None:
    assert await _login(client, "wrong-password") == 401
    clock.advance(days=2)
    assert await purge_old_attempts(client.app.state.runtime) == 1
    assert await LoginAttempt.all().count() == 0


def test_cli_disables_and_enables_a_user(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    email = "cli-user@example.org"
    assert cli.main(["user", "add", email, "--role", "monitor"]) == 0
    assert cli.main(["user", "disable", email]) == 0
    assert cli.main(["user", "enable", email]) == 0
    assert cli.main(["user", "disable", "nobody@example.org"]) == 1
    out = capsys.readouterr()
    assert f"disabled {email}" in out.out and f"enabled {email}" in out.out
    assert "no staff account" in out.err
