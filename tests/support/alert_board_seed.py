"""Many participants with alerts, texts and queue items in a few bulk inserts, for the
alerts board's page tests and its constant-query test (10 against 500)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from service.db.models import Alert, InboundMessage, InboxItem, OutboundMessage, Participant

FINDING = {
    "code": "symptom_severe",
    "emergency": False,
    "key_params": {"symptom": "symptom.nausea_vomiting", "severity": "severity.severe"},
    "params": {},
}


async def seed_board(
    count: int, now: datetime, *, site: str = "CUA", prefix: str = "MSC", phone_base: int = 0
) -> list[Participant]:
    """``count`` participants at ``site``; each has an alert (every third acknowledged,
    the rest open, an hour apart) texted to the on-call primary, and a queue item
    holding the participant's reply."""
    people = [
        Participant(
            study_id=f"{prefix}-{n:04d}",
            site_id=site,
            phone=f"+5696{phone_base + n:07d}",
            timezone="America/Santiago",
            can_become_pregnant=False,
            baseline_infusion_date=date(2027, 1, 6),
            sms_consent=True,
        )
        for n in range(count)
    ]
    await Participant.bulk_create(people)
    people = list(await Participant.filter(study_id__startswith=f"{prefix}-").order_by("id"))
    alerts = [
        Alert(
            participant_id=p.id,
            site_id=site,
            dedupe_key=f"seed:{p.study_id}",
            findings=[FINDING],
            emergency=n % 5 == 0,
            status="acknowledged" if n % 3 == 2 else "open",
            raised_at=now - timedelta(hours=count - n),
            notified_at=now - timedelta(hours=count - n) + timedelta(minutes=1),
            acknowledged_at=now - timedelta(minutes=n) if n % 3 == 2 else None,
            acknowledged_by="staff:seed@example.org" if n % 3 == 2 else None,
            note="llamé, está bien" if n % 3 == 2 else None,
        )
        for n, p in enumerate(people)
    ]
    await Alert.bulk_create(alerts)
    alerts = list(await Alert.filter(dedupe_key__startswith=f"seed:{prefix}-").order_by("id"))
    await OutboundMessage.bulk_create(
        [
            OutboundMessage(
                to_phone="+56961234501",
                kind="alert",
                purpose=f"alert:{alert.id}",
                occurrence="oncall",
                dedupe_key=f"seed:alert:{alert.id}",
                message_key="alert.oncall",
                params={},
                send_at=alert.raised_at,
                status="delivered",
                sent_at=alert.raised_at,
                created_at=alert.raised_at,
                updated_at=alert.raised_at,
            )
            for alert in alerts
        ]
    )
    await InboundMessage.bulk_create(
        [
            InboundMessage(
                message_sid=f"SMseed{p.id:08d}",
                participant_id=p.id,
                from_phone=p.phone,
                body="no entiendo la pregunta",
                handling="queued",
                received_at=now - timedelta(minutes=30),
            )
            for p in people
        ]
    )
    ids = [p.id for p in people]
    inbound = list(await InboundMessage.filter(participant_id__in=ids).order_by("id"))
    await InboxItem.bulk_create(
        [
            InboxItem(
                participant_id=message.participant_id,  # type: ignore[attr-defined]  # FK id attr
                site_id=site,
                inbound_id=message.id,
                reason="not_understood",
                created_at=message.received_at,
            )
            for message in inbound
        ]
    )
    return people
