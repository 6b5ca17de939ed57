"""The composition root: the one place that builds a process's :class:`Runtime` and
runs its start-up and shut-down.

``followup serve`` (through the app's lifespan), ``followup worker`` and the CLI
commands all come here, so the start-up sequence is written once: open the database,
check (or, embedded, apply) migrations, sync the sites from the protocol file,
re-plan if the protocol changed (in the background, in short batches, where a
scheduler runs), optionally load the demo data, start the scheduler and dispatcher;
and on the way out undo it in reverse. It imports no web framework, so the worker
does not load Litestar.

Start-up touches the database only, never Twilio or REDCap: a process restarted
during a provider incident must come up. Claims a crashed process left are settled by
the dispatcher's first pass (and every pass after it) in the background, under the
same lease rules, looking each one up at the provider and leaving it claimed while
the provider cannot say.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from service.actions.outbox import replan_if_protocol_changed
from service.actions.participants import sync_sites
from service.adapters.gateways import build_gateway
from service.adapters.holidays_cl import non_working_predicate
from service.adapters.i18n import load_renderer
from service.adapters.redcap_http import build_redcap
from service.adapters.whatsapp_templates import load_whatsapp_templates
from service.db.lifecycle import close_database, ensure_migrated, open_database
from service.domain.protocol import Protocol
from service.domain.protocol_loader import load_protocol
from service.domain.red_flags import RedFlagReader
from service.jobs.scheduler import DispatchScheduler
from service.ports import Clock, RedcapApi, SmsGateway, SystemClock, Translator
from service.runtime import Runtime
from service.settings import Settings

__all__ = ["build_runtime", "running"]

log = logging.getLogger("service.composition")


def build_runtime(
    settings: Settings,
    *,
    gateway: SmsGateway | None = None,
    clock: Clock | None = None,
    translator: Translator | None = None,
    protocol: Protocol | None = None,
    redcap: RedcapApi | None = None,
) -> Runtime:
    """The runtime from settings; whatever is given (tests, benchmarks) is used as is."""
    protocol = protocol or load_protocol(settings.study_file)
    return Runtime(
        settings=settings,
        protocol=protocol,
        clock=clock or SystemClock(),
        gateway=gateway or build_gateway(settings),
        translator=translator or load_renderer(),
        non_working=non_working_predicate(),
        redcap=redcap or build_redcap(settings),
        red_flags=RedFlagReader(protocol.symptoms, protocol.safety),
        whatsapp_templates=load_whatsapp_templates(settings, protocol),
    )


@asynccontextmanager
async def running(
    rt: Runtime,
    *,
    scheduler: DispatchScheduler | None,
    demo: bool = False,
    replan: bool | None = None,
) -> AsyncIterator[Runtime]:
    """Start-up, then the body, then shut-down, for ``serve`` and ``worker`` alike.

    ``scheduler`` None runs no jobs and no dispatcher (tests that drive dispatch
    themselves). A PostgreSQL database that is not migrated stops start-up; the
    embedded SQLite default migrates itself. ``replan`` (default: when there is no
    scheduler, whose job otherwise does it in the background) re-plans a new protocol
    revision before the body; ``serve --workers``' web processes pass False.
    """
    settings = rt.settings
    await open_database(settings.database_url)
    try:
        await ensure_migrated(may_migrate=settings.is_embedded)
        await sync_sites(rt)
        if scheduler is None if replan is None else replan:
            await replan_if_protocol_changed(rt)
        if demo:
            from service.demo import load_demo_data  # demo data only for `serve --demo`

            await load_demo_data(rt)
        if scheduler is not None:
            await scheduler.start()
        yield rt
    finally:
        if scheduler is not None:
            await scheduler.stop()
        await rt.gateway.aclose()
        if rt.redcap is not None:
            await rt.redcap.aclose()
        await close_database()
