"""A small study enrolled for the protocol re-planning tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from service.actions.participants import EnrollmentRequest, enroll, sync_sites
from service.composition import build_runtime
from service.domain.actors import Actor
from service.domain.states import StaffRole
from service.ports import ManualClock, SmsGateway
from service.runtime import Runtime
from service.settings import Settings

ADMIN = Actor(kind="staff", label="staff:test@uandes.cl", role=StaffRole.ADMIN)


async def enrolled_study(
    settings: Settings,
    clock: ManualClock,
    gateway: SmsGateway,
    *,
    people: int,
    phone_prefix: str,
    consents: Callable[[int], bool] = lambda n: True,
) -> Runtime:
    """``people`` participants at CUA, baselines three days apart from 2027-01-05, every
    other one able to become pregnant; ``consents(n)`` says who consented to SMS."""
    runtime = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(runtime)
    for n in range(people):
        request = EnrollmentRequest(
            study_id=f"MSC-{n:03d}",
            site="CUA",
            phone=f"{phone_prefix}{n:04d}",
            can_become_pregnant=n % 2 == 0,
            baseline_infusion_date=date(2027, 1, 5) + timedelta(days=3 * n),
            sms_consent=consents(n),
        )
        await enroll(runtime, ADMIN, request)
    return runtime
