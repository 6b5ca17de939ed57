"""Many participants at once for the dashboard's tests and benchmark: rows inserted
directly with bulk_create (500 enrolments through the API would take minutes), each
participant at a different point of follow-up, with outcomes, answers, messages,
alerts and inbox items spread over the last months."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from service.db.models import (
    Alert,
    Checkin,
    InboxItem,
    OutboundMessage,
    Participant,
    VisitOutcome,
)

ZONE = "America/Santiago"


async def seed(
    count: int,
    *,
    site: str,
    prefix: str,
    now: datetime,
    messages_per_participant: int = 4,
    message_every_hours: int = 6,
    phone_offset: int = 0,
) -> list[int]:
    """``count`` participants at ``site``; returns their ids."""
    enrolled_at = now - timedelta(days=300)
    await Participant.bulk_create(
        [
            Participant(
                study_id=f"{prefix}{n:05d}",
                site_id=site,
                phone=f"+569{phone_offset + n:08d}",
                timezone=ZONE,
                can_become_pregnant=n % 2 == 0,
                baseline_infusion_date=(now - timedelta(days=10 + (n * 7) % 290)).date(),
                sms_consent=True,
                status="withdrawn" if n % 17 == 16 else "active",
                withdrawn_at=now - timedelta(days=3) if n % 17 == 16 else None,
                opted_out=n % 11 == 10,
                paused=n % 13 == 12,
                sms_blocked_code=30005 if n % 19 == 18 else None,
                created_at=enrolled_at,
                updated_at=enrolled_at,
            )
            for n in range(count)
        ],
        batch_size=500,
    )
    rows = (
        await Participant.filter(study_id__startswith=prefix)
        .order_by("study_id")
        .values_list("id", "baseline_infusion_date")
    )
    ids = [int(pid) for pid, _ in rows]
    outcomes, checkins, messages, alerts, inbox = [], [], [], [], []
    for n, (pid, baseline) in enumerate(rows):
        assert isinstance(baseline, date)
        outcomes.append(_outcome(pid, "SCR", "attended", baseline - timedelta(days=7), now))
        if n % 3:
            outcomes.append(_outcome(pid, "INF1", "attended", baseline, now))
        for week in range(1, 1 + (now.date() - baseline).days // 7):
            if (n + week) % 4 == 0:
                continue  # a missed weekly check-in
            day = baseline + timedelta(weeks=week)
            checkins.append(_checkin(pid, f"checkin:symptoms_weekly:{day.isoformat()}", day, n))
        for k in range(messages_per_participant):
            planned = now - timedelta(hours=message_every_hours * k + n % 5)
            status = ("delivered", "delivered", "sent", "failed")[k % 4]
            messages.append(_message(pid, k, planned, status, now))
        if n % 7 == 0:
            alerts.append(_alert(pid, site, n, now))
        if n % 9 == 0:
            inbox.append(
                InboxItem(participant_id=pid, site_id=site, reason="not_understood", created_at=now)
            )
    await VisitOutcome.bulk_create(outcomes, batch_size=1000)
    await Checkin.bulk_create(checkins, batch_size=1000)
    await OutboundMessage.bulk_create(messages, batch_size=1000)
    await Alert.bulk_create(alerts, batch_size=1000)
    await InboxItem.bulk_create(inbox, batch_size=1000)
    return ids


def _outcome(pid: int, code: str, status: str, day: date, now: datetime) -> VisitOutcome:
    return VisitOutcome(
        participant_id=pid,
        visit_code=code,
        status=status,
        date=day,
        recorded_by="staff:seed",
        recorded_at=now - timedelta(days=1),
    )


def _checkin(pid: int, key: str, day: date, n: int) -> Checkin:
    return Checkin(
        participant_id=pid,
        checkin_key=key,
        questionnaire="symptoms",
        channel="sms" if n % 2 else "app",
        answers={},
        raw_texts=[],
        late=n % 5 == 0,
        submitted_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15),
    )


def _message(pid: int, k: int, planned: datetime, status: str, now: datetime) -> OutboundMessage:
    sent = planned + timedelta(seconds=30 + 7 * k)
    return OutboundMessage(
        participant_id=pid,
        kind="reminder",
        purpose="reminder:seed",
        occurrence=str(k),
        dedupe_key=f"{pid}:seed:{k}",
        message_key="reminder.clinic.week_before",
        send_at=planned,
        status=status,
        sent_at=sent,
        delivered_at=sent + timedelta(seconds=5) if status == "delivered" else None,
        error_code=30003 if status == "failed" else None,
        created_at=planned,
        updated_at=sent,
    )


def _alert(pid: int, site: str, n: int, now: datetime) -> Alert:
    return Alert(
        participant_id=pid,
        site_id=site,
        dedupe_key=f"seed:{pid}",
        status="open" if n % 2 == 0 else "acknowledged",
        raised_at=now - timedelta(hours=1 + n % 48),
    )
