"""``followup serve --workers N``: N web processes sharing one port, and one process
with the scheduler and dispatcher.

uvicorn's own supervisor starts the web processes (each builds the app through
:func:`web_app`: no scheduler, no start-up re-planning) and restarts one that dies; a
separate process runs what ``followup worker`` runs (jobs, dispatcher, re-planning),
started before the web processes and stopped after them. Any number of ``followup
worker`` processes may run beside it: the database decides who does what.

PostgreSQL only: the embedded SQLite file has a single writer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from typing import TYPE_CHECKING, Any

from service.settings import Settings, load_settings

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ["serve_workers", "web_app"]


def _logging(settings: Settings) -> None:
    from service.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)


def web_app() -> Litestar:
    """One web process of ``serve --workers``: settings from the environment, as the
    command that started it read them."""
    from service.app import create_app

    settings = load_settings()
    _logging(settings)
    return create_app(settings, run_scheduler=False, replan=False)


def _background(demo: bool) -> None:
    """The scheduler and dispatcher of ``serve --workers`` (and the demo data)."""
    from service.worker import run_worker

    settings = load_settings()
    _logging(settings)
    asyncio.run(run_worker(settings, demo=demo))


def serve_workers(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    demo: bool,
    options: dict[str, Any],
) -> int:
    """Run until uvicorn's supervisor stops (SIGINT, SIGTERM); 2 on SQLite."""
    import uvicorn

    if settings.is_sqlite:
        print(
            "--workers needs PostgreSQL (DATABASE_URL=postgres://…): the embedded SQLite"
            " database has a single writer; run serve without --workers",
            file=sys.stderr,
        )
        return 2
    background = multiprocessing.get_context("spawn").Process(
        target=_background, args=(demo,), name="followup-jobs"
    )
    background.start()
    try:
        uvicorn.run(
            "service.serving:web_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            **options,
        )
    finally:
        background.terminate()  # SIGTERM: the dispatcher finishes its pass, then stops
        background.join(30)
    return 0
