"""An app wired to a REDCap double built from the service's own set-up files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.actions.edc import redcap_setup_files
from service.adapters.redcap_http import RedcapHttpApi
from service.app import create_app
from service.composition import build_runtime
from service.ports import ManualClock, SmsGateway
from service.settings import Settings
from tests.conftest import _truncate
from tests.support.fakes.redcap_server import TEST_TOKEN, RedcapFakeServer


def setup_files(settings: Settings) -> dict[str, str]:
    return redcap_setup_files(build_runtime(settings))


@pytest.fixture
def redcap(settings: Settings) -> RedcapFakeServer:
    with RedcapFakeServer(setup_files(settings)) as server:
        yield server  # type: ignore[misc]


def app_with(settings: Settings, clock: ManualClock, gateway: SmsGateway, url: str,
             token: str = TEST_TOKEN) -> Litestar:  # fmt: skip
    return create_app(settings, clock=clock, gateway=gateway, run_scheduler=False,
                      redcap=RedcapHttpApi(url, token, timeout_s=5))  # fmt: skip


@pytest.fixture
async def edc_client(
    settings: Settings, clock: ManualClock, gateway: SmsGateway, redcap: RedcapFakeServer,
    database_url: str,
) -> AsyncIterator[AsyncTestClient[Litestar]]:  # fmt: skip
    app = app_with(settings, clock, gateway, redcap.url)
    async with AsyncTestClient(app=app) as client:
        await _truncate(database_url)
        from service.actions.participants import sync_sites

        await sync_sites(app.state.runtime)
        yield client


NoDelays: Callable[[], tuple[float, ...]] = lambda: (0.0, 0.0, 0.0)  # noqa: E731
