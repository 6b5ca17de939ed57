"""Thin, idempotent job wrappers: each calls one action and logs the counts it returns."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from service.runtime import Runtime

log = logging.getLogger("service.jobs")

Job = Callable[[Runtime], Awaitable[None]]


def periodic_jobs() -> dict[str, Job]:
    return {}
