"""An UPDATE or DELETE answers the rows it changed itself, on both databases, though
triggers keep figures from those rows (kept days, participants by state, counts by
status): callers count from it (a re-plan's audit of rows cancelled and moved) and
compare-and-set on it. SQLite's own total counted the triggers' writes too."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tortoise.transactions import in_transaction

from service.db.models import OutboundMessage, Participant, Site

AT = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)


async def _message(participant: Participant, n: int) -> OutboundMessage:
    return await OutboundMessage.create(
        participant=participant,
        kind="reminder",
        purpose="t",
        occurrence=str(n),
        dedupe_key=f"{participant.id}:t:{n}",
        message_key="reminder.clinic.week_before",
        send_at=AT,
        status="sent",
        sent_at=AT,
        created_at=AT,
        updated_at=AT,
    )


async def test_a_statement_counts_its_own_rows_not_its_triggers(db: None) -> None:
    site = await Site.create(
        code="RC", name="Rows", timezone="America/Santiago", help_line="+56220000000"
    )
    person = await Participant.create(
        study_id="RC-001",
        site=site,
        phone="+56990000001",
        timezone="America/Santiago",
        can_become_pregnant=False,
        baseline_infusion_date=date(2027, 1, 1),
        sms_consent=True,
    )
    first, second = await _message(person, 1), await _message(person, 2)
    assert await OutboundMessage.filter(id=first.id).update(status="delivered") == 1
    async with in_transaction():
        assert await OutboundMessage.filter(id=second.id).update(status="failed") == 1
        async with in_transaction():  # a savepoint
            assert await OutboundMessage.filter(id=first.id).update(status="sent") == 1
    assert await Participant.filter(id=person.id).update(opted_out=True) == 1
    assert await OutboundMessage.filter(participant_id=person.id).update(status="sent") == 2
    gone = OutboundMessage.filter(id=first.id, status="failed")  # no longer as read
    assert await gone.update(status="cancelled") == 0
    assert await OutboundMessage.filter(participant_id=person.id).delete() == 2
