"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL with
TEST_DATABASE_URL), a manual clock, and the app wired to both.

The schema is built once per session by the committed migrations; each test starts
from empty tables. The Litestar app is built once per distinct Settings and handed a
fresh runtime (this test's clock and gateway) each test; the SMS gateways tests swap
in live in tests/fakes/gateways.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from tortoise import connections

from service.adapters.i18n import load_renderer
from service.app import build_runtime, create_app
from service.db.lifecycle import apply_migrations, close_database, open_database
from service.domain.protocol import Protocol
from service.domain.protocol_loader import load_protocol
from service.ports import ManualClock, SmsGateway, Translator
from service.runtime import Runtime
from service.settings import Settings, load_settings

SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_PASSWORD_HASH_COST = "10"


class _DaemonThread(threading.Thread):
    """aiosqlite's worker thread, made a daemon for the test process only.

    Each test runs on its own event loop; when Tortoise meets a connection made on
    an earlier loop it opens a new one and drops the old without closing it. The
    dropped connection's non-daemon thread then keeps pytest alive for minutes after
    the last test. Production runs one loop and closes its connections at shutdown.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["daemon"] = True
        super().__init__(*args, **kwargs)


aiosqlite.core.Thread = _DaemonThread  # type: ignore[misc]  # test-only, see above
TABLES = (
    "dashboard_schedule",
    "dashboard_schedule_visit",
    "dashboard_schedule_prompt",
    "edc_change",
    "edc_sequence_mark",
    "edc_sequence_watch",
    "edc_push_slot",
    "edc_conflict",
    "edc_push_run",
    "inbox_item",
    "early_status_callback",
    "alert",
    "checkin",
    "conversation",
    "inbound_message",
    "one_time_code",
    "login_attempt",
    "service_state",
    "send_bucket",
    "audit_log",
    "auth_token",
    "staff_session",
    "api_key",
    "outbound_message",
    "visit_outcome",
    "infusion",
    "participant",
    "staff_user",
    "site",
    "dashboard_summary",  # after participant, checkin and visit_outcome: their
    "dashboard_written",  # triggers write here as they are emptied
    "dashboard_summary_gap",
)


def _database_url(tmp_root: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{tmp_root / 'test.sqlite3'}"


async def _recreate_postgres(url: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # no stubs

    dsn = url.replace("postgres://", "postgresql://", 1)
    base, _, name = dsn.rpartition("/")
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory.mktemp("db"))

    async def build() -> None:
        if url.startswith("postgres"):
            await _recreate_postgres(url)
        await open_database(url)
        try:
            await apply_migrations()
        finally:
            await close_database()

    asyncio.run(build())
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SMS_RATE_PER_SECOND": "0",
            "PUBLIC_BASE_URL": "http://testserver.local",
            # The lowest accepted scrypt cost: every simulated staff login hashes twice.
            "PASSWORD_HASH_COST": TEST_PASSWORD_HASH_COST,
        }
    )


async def _truncate(url: str) -> None:
    conn = connections.get("default")
    if url.startswith("postgres"):
        # DELETE (children first, as TABLES lists them) and a restart of every id
        # sequence: the same empty tables and ids from 1 as TRUNCATE … RESTART IDENTITY,
        # without TRUNCATE's new relation files for each of the tables.
        names = ", ".join(f"'{table}'" for table in TABLES)
        await conn.execute_script(
            "".join(f"DELETE FROM {table};" for table in TABLES)  # noqa: S608  # fixed names
            + "SELECT setval(seq.oid, 1, false) FROM pg_class seq"
            + " JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')"
            + " JOIN pg_class tab ON tab.oid = dep.refobjid"
            + f" WHERE seq.relkind = 'S' AND tab.relname = ANY(ARRAY[{names}]);"
        )
    else:
        # One script, one round trip to aiosqlite's thread, instead of one per table;
        # and ids from 1 again (AUTOINCREMENT's counters), as on PostgreSQL.
        await conn.execute_script(
            "".join(f"DELETE FROM {table};" for table in TABLES)  # noqa: S608  # fixed names
            + "DELETE FROM sqlite_sequence;"
        )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[None]:
    """An open, empty database for tests that call actions directly."""
    await open_database(database_url)
    await _truncate(database_url)
    yield
    await close_database()


@pytest.fixture
def clock() -> ManualClock:
    # A Wednesday in the southern-hemisphere summer (UTC-3 in Santiago).
    return ManualClock(datetime(2027, 1, 13, 15, 0, tzinfo=UTC))


@pytest.fixture
def gateway() -> SmsGateway:
    from service.adapters.console_sms import ConsoleSmsGateway

    return ConsoleSmsGateway()


# One Litestar app per distinct Settings for the whole session: building one (routes,
# signature models, the OpenAPI document) was most of an integration test's set-up.
_APPS: dict[Settings, Litestar] = {}


def _adopt(shared: Runtime, fresh: Runtime) -> None:
    """Give the shared app this test's runtime, field by field.

    The app's lifespan and its controllers hold the Runtime object the app was built
    with; every field of it (clock, gateway, settings, protocol, translator, REDCap,
    wake hook) is replaced by a freshly built one, so nothing a previous test set or
    swapped on it survives. Tests stay free to replace fields, as before.
    """
    for item in dataclasses.fields(Runtime):
        object.__setattr__(shared, item.name, getattr(fresh, item.name))


@functools.cache
def _protocol(study_file: Path) -> Protocol:
    """Parsed once per file: a Protocol is frozen, so tests can share one."""
    return load_protocol(study_file)


@functools.cache
def _translator() -> Translator:
    """The catalogs, read and checked once (strictly, as the app does)."""
    return load_renderer()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, gateway: SmsGateway) -> Litestar:
    fresh = build_runtime(
        settings,
        clock=clock,
        gateway=gateway,
        protocol=_protocol(settings.study_file),
        translator=_translator(),
    )
    shared = _APPS.get(settings)
    if shared is None:
        shared = create_app(
            settings,
            clock=clock,
            gateway=gateway,
            protocol=fresh.protocol,
            translator=fresh.translator,
            run_scheduler=False,
        )
        _APPS[settings] = shared
    _adopt(shared.state.runtime, fresh)
    return shared


@pytest.fixture
async def client(app: Litestar, database_url: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        await _truncate(database_url)
        from service.actions.participants import sync_sites

        await sync_sites(app.state.runtime)
        yield test_client
        # Emptied on the way out too: the next test's app start-up re-plans every
        # participant it finds, and a test that seeded 500 would cost the next one
        # seconds of planning for rows it is about to delete.
        await _truncate(database_url)
