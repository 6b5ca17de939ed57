"""Why a planned message did not go out is recorded where the outbox decided it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.actions.outbox import dispatch_due
from service.db.models import OutboundMessage, Participant
from service.ports import ManualClock
from tests.support.helpers import Client, enrollment, staff_headers

URL = "/api/v1/participants/MSC-001"


async def _enrolled(client: Client) -> dict[str, str]:
    headers = await staff_headers(client, "admin@uandes.cl", "admin")
    response = await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    assert response.status_code == 201, response.text
    return headers


async def _reasons(kind: str) -> set[tuple[str, str | None]]:
    rows = await OutboundMessage.filter(kind=kind).values_list("status", "skip_reason")
    return {(str(status), reason) for status, reason in rows}


async def test_pause_records_paused_and_resuming_clears_it(client: Client) -> None:
    headers = await _enrolled(client)
    # The protocol's daily budget drops a reminder on crowded days, and says so.
    assert await _reasons("reminder") == {("planned", None), ("cancelled", "budget")}
    await client.patch(URL, json={"paused": True}, headers=headers)
    # Rows already dropped keep the first reason; the rest now say "paused".
    assert await _reasons("reminder") == {("cancelled", "paused"), ("cancelled", "budget")}
    assert await _reasons("checkin") == {("in_app", "paused")}  # the app still asks
    await client.patch(URL, json={"paused": False}, headers=headers)
    assert await _reasons("reminder") == {("planned", None), ("cancelled", "budget")}
    assert ("planned", None) in await _reasons("checkin")
    assert ("in_app", "paused") not in await _reasons("checkin")


async def test_withdrawal_and_a_recorded_visit_say_why(client: Client) -> None:
    headers = await _enrolled(client)
    response = await client.put(
        f"{URL}/visits/INF1",
        json={"status": "attended", "date": "2027-01-13"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    gone = await OutboundMessage.filter(status="cancelled", params__not={}).values_list(
        "skip_reason", "params"
    )
    assert {reason for reason, params in gone if params["visit_code"] == "INF1"} == {"not_needed"}
    await client.post(f"{URL}/withdraw", json={"reason": "moved away"}, headers=headers)
    reasons = await OutboundMessage.filter(status="cancelled").values_list("skip_reason", flat=True)
    assert set(reasons) == {"budget", "not_needed", "withdrawn"}
    assert not await OutboundMessage.filter(status__in=("planned", "in_app")).exists()


async def test_send_time_refusal_records_the_barrier(client: Client) -> None:
    await _enrolled(client)
    # Opted out between planning and sending (no re-plan ran): the dispatcher refuses.
    await Participant.filter(study_id="MSC-001").update(opted_out=True)
    await dispatch_due(client.app.state.runtime)
    due = await OutboundMessage.filter(status="cancelled", skip_reason="opted_out").count()
    assert due >= 1
    assert not await OutboundMessage.filter(status__in=("sent", "delivered")).exists()


async def test_expiry_says_whether_quiet_hours_or_lateness(
    client: Client, clock: ManualClock
) -> None:
    await _enrolled(client)
    participant = await Participant.get(study_id="MSC-001")
    now = clock.now()
    await OutboundMessage.filter(participant_id=participant.id).delete()

    def row(key: str, send_at: datetime, expires_at: datetime) -> OutboundMessage:
        return OutboundMessage(
            participant=participant,
            kind="reminder",
            purpose="reminder:test",
            occurrence=key,
            dedupe_key=f"{participant.id}:test:{key}",
            message_key="reminder.clinic.week_before",
            params={"visit": "W1", "date": "2027-01-20"},
            send_at=send_at,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )

    await row("late", now - timedelta(days=2), now - timedelta(days=1)).save()
    # 23:30 in Santiago (UTC-3): inside quiet hours; it would expire before they end.
    night = datetime(2027, 1, 14, 2, 30, tzinfo=UTC)
    await row("night", night, night + timedelta(hours=1)).save()
    clock.set(night)
    await dispatch_due(client.app.state.runtime)
    reasons = dict(await OutboundMessage.all().values_list("occurrence", "skip_reason"))
    statuses = dict(await OutboundMessage.all().values_list("occurrence", "status"))
    assert statuses == {"late": "expired", "night": "expired"}
    assert reasons == {"late": "expired", "night": "quiet_hours"}
