"""`followup serve --demo` seeds a living dashboard, through the normal actions."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.actions.calendars import calendar_with_status
from service.db.models import (
    Alert,
    AuditEntry,
    Checkin,
    InboxItem,
    OutboundMessage,
    Participant,
    VisitOutcome,
)
from service.demo import (
    DEMO_COORDINATOR,
    DEMO_PASSWORD,
    HISTORY_DAYS,
    LANDLINE,
    load_demo_data,
)
from service.ports import ManualClock
from tests.support.dashboard_support import dashboard_login

Client = AsyncTestClient[Litestar]


async def test_the_demo_seeds_history_the_dashboard_can_show(
    client: Client, clock: ManualClock
) -> None:
    rt = client.app.state.runtime
    before = clock.now()
    await load_demo_data(rt)
    assert clock.now() == before  # the demo ran on a clock of its own

    people = {p.study_id: p for p in await Participant.all()}
    assert sorted(people) == ["DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004"]
    assert len({p.baseline_infusion_date for p in people.values()}) == 4
    assert people["DEMO-004"].second_infusion_date is not None

    assert await VisitOutcome.filter(status="attended").count() >= 5
    missed = await VisitOutcome.filter(status="missed").select_related("participant")
    assert [m.participant.study_id for m in missed] == ["DEMO-003"]

    failed = await OutboundMessage.filter(status="failed", error_code=LANDLINE)
    assert failed and all(m.participant_id == people["DEMO-004"].id for m in failed)  # type: ignore[attr-defined]
    assert people["DEMO-004"].sms_blocked_code == LANDLINE
    assert await OutboundMessage.filter(status="delivered").count() >= 3

    alert = await Alert.get(status="open").select_related("participant")
    assert alert.participant.study_id == "DEMO-002" and alert.notified_at is not None
    assert await InboxItem.filter(status="open").count() >= 1
    assert await AuditEntry.filter(action="visit.record").count() >= 6

    audits = await AuditEntry.all().count()
    await load_demo_data(rt)  # a restart adds nothing
    assert await AuditEntry.all().count() == audits

    await dashboard_login(client, DEMO_COORDINATOR, create=False, password=DEMO_PASSWORD)
    page = await client.get("/dashboard")
    assert page.status_code == 200 and DEMO_COORDINATOR in page.text


async def test_the_demo_figures_tell_the_truth(client: Client, clock: ManualClock) -> None:
    """Stamped with the demo's clock, its infusions recorded once, prompts answered by
    some: every figure of the overview shows something real."""
    rt = client.app.state.runtime
    await load_demo_data(rt)
    people = await Participant.all()
    assert all(p.created_at == clock.now() - timedelta(days=HISTORY_DAYS) for p in people)
    infused = await VisitOutcome.filter(visit_code="INF1").values_list(
        "participant__study_id", "status", "source"
    )
    assert sorted(infused) == [
        (f"DEMO-00{n}", "attended", "infusion_1") for n in (2, 3, 4)
    ]  # DEMO-001's baseline is ahead
    assert await VisitOutcome.filter(visit_code="INF2", status="attended").count() == 1
    assert await Checkin.filter(channel="sms", complete=True).count() >= 2

    await dashboard_login(client, "demo-admin@example.org", create=False, password=DEMO_PASSWORD)
    page = (await client.get("/dashboard")).text
    for participant in people:
        rows = {row.visit.code: row.status for row in await calendar_with_status(rt, participant)}
        assert rows["INF1"] != "missed" and rows["INF2"] != "missed", participant.study_id
    assert "0 de 0" not in _row(page, "Todo el seguimiento")
    lateness = _row(page, "Retraso de los recordatorios, mediana")
    assert "minuto" in lateness and "hora" not in lateness, lateness


def _row(page: str, label: str) -> str:
    """The table row of the page whose first cell says ``label``."""
    start = page.index(f">{label}<")
    return page[start : page.index("</tr>", start)]
