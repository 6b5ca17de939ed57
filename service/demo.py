"""Fictitious participants at different points of follow-up, for `followup serve --demo`.

Demo data is refused unless SMS goes to the console: the demo numbers are made up,
and made-up numbers belong to real people.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from service.actions.actors import Actor, Role
from service.actions.auth import add_staff_user
from service.actions.participants import EnrollmentRequest, enroll, record_infusion
from service.db.models import Participant, StaffUser
from service.runtime import Runtime

log = logging.getLogger("service.demo")

DEMO_ADMIN = "demo-admin@example.org"
DEMO_PASSWORD = "demo-password"  # noqa: S105  # printed for the demo; console SMS only

# (study id, site, phone, days since baseline, second infusion recorded days after baseline)
_PEOPLE = (
    ("DEMO-001", "CUA", "+56961110001", -20, None, True),
    ("DEMO-002", "CUA", "+56961110002", 12, None, False),
    ("DEMO-003", "HBLT", "+56961110003", 150, None, True),
    ("DEMO-004", "HBLT", "+56961110004", 230, 196, False),
)


async def load_demo_data(rt: Runtime) -> None:
    if rt.settings.sms_backend != "console":
        raise RuntimeError("--demo needs SMS_BACKEND=console: demo phone numbers are made up")
    if not await StaffUser.filter(email=DEMO_ADMIN).exists():
        await add_staff_user(rt, DEMO_ADMIN, "admin", [], DEMO_PASSWORD)
    actor = Actor(kind="staff", label="system:demo", role=Role.ADMIN)
    created = 0
    for study_id, site, phone, days_ago, second_after, pregnant in _PEOPLE:
        if await Participant.filter(study_id=study_id).exists():
            continue
        today = rt.clock.now().astimezone(ZoneInfo("America/Santiago")).date()
        baseline = today - timedelta(days=days_ago)
        await enroll(
            rt,
            actor,
            EnrollmentRequest(
                study_id=study_id,
                site=site,
                phone=phone,
                can_become_pregnant=pregnant,
                baseline_infusion_date=baseline,
                sms_consent=True,
                preferred_time="10:30" if study_id == "DEMO-002" else None,
            ),
        )
        if second_after is not None:
            await record_infusion(
                rt, actor, study_id, 2, baseline + timedelta(days=second_after), "demo data"
            )
        created += 1
    log.info("demo: %d participants enrolled", created)
    # Printed, not logged: the log masks e-mail addresses, and this one is for reading.
    print(f"demo: log in as {DEMO_ADMIN} / {DEMO_PASSWORD}", flush=True)
