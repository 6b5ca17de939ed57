"""Who may be written to, and when: the checks a claimed row passes at send time,
and the rendering of what passes (bodies written with the claim's renewal).

Because a pause, opt-out or withdrawal can commit between planning and sending, and
an overdue reminder after downtime must still not arrive inside quiet hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from service.actions.outbox._channels import render_for_channel
from service.actions.outbox._counts import DispatchCounts
from service.actions.outbox._reconcile import LEASE
from service.actions.outbox._recording import record_failure
from service.actions.outbox._rows import claimed_by
from service.db.models import OutboundMessage, Participant, Site
from service.domain import not_sent
from service.domain.reminders import next_allowed
from service.domain.states import PARTICIPANT_KINDS, MessageStatus
from service.runtime import Runtime

__all__ = [
    "OPT_OUT_CONFIRMATION",
    "Ready",
    "defer",
    "prepare",
    "quiet_deferral",
    "refusal",
]

OPT_OUT_CONFIRMATION = "optout.confirm"  # the one message an opted-out person still gets


def refusal(
    row: OutboundMessage, participant: Participant | None, own_phone: bool
) -> tuple[str, str] | None:
    """Why ``row`` may not be sent now: (a not_sent code, the detail for the row), or None."""
    if row.kind in PARTICIPANT_KINDS:
        barrier = not_sent.recipient_barrier(participant) if participant else not_sent.NO_RECIPIENT
        if barrier is not None:
            return barrier, f"participant may not receive planned SMS now ({barrier})"
        return None
    if own_phone and participant is not None:
        if participant.sms_blocked_code is not None:
            code = participant.sms_blocked_code
            return not_sent.BLOCKED, f"participant's number is blocked ({code})"
        if participant.opted_out and row.message_key != OPT_OUT_CONFIRMATION:
            return not_sent.OPTED_OUT, "participant opted out"
    return None


def quiet_deferral(rt: Runtime, participant: Participant, now: datetime) -> datetime | None:
    """The end of the participant's quiet hours if ``now`` falls inside them, else None.

    Planning keeps send times out of quiet hours; this catches what arrives there
    anyway (an overdue reminder after downtime, a retry's backoff).
    """
    tz = ZoneInfo(participant.timezone)
    later = next_allowed(now, tz, rt.protocol.quiet_hours)
    return later if later > now else None


async def defer(
    row: OutboundMessage, token: str, later: datetime, now: datetime, counts: DispatchCounts
) -> None:
    """Back to planned at ``later`` (the claim was not an attempt), or expired if by
    then the message no longer matters."""
    if row.expires_at is not None and later >= row.expires_at:
        if await claimed_by(row.id, token).update(
            status=MessageStatus.EXPIRED, skip_reason=not_sent.QUIET_HOURS, updated_at=now
        ):
            counts.expired += 1
        return
    if await claimed_by(row.id, token).update(
        status=MessageStatus.PLANNED, send_at=later, attempts=F("attempts") - 1, updated_at=now
    ):
        counts.deferred += 1


@dataclass(slots=True)
class Ready:
    """A claimed row that passed every check, rendered, with its body on the row."""

    row: OutboundMessage
    participant: Participant | None
    own_phone: bool
    to: str


async def prepare(
    rt: Runtime,
    rows: Sequence[OutboundMessage],
    people: dict[int, Participant],
    sites: dict[str, Site],
    counts: DispatchCounts,
) -> list[Ready]:
    """Check, defer or render every row; write the bodies (renewing the claim) in one
    transaction; return what is to be sent."""
    now = rt.clock.now()
    ready: list[Ready] = []
    for row in rows:
        participant = people.get(row.participant_id or 0)
        token = row.claim_token or ""
        own_phone = participant is not None and row.to_phone in (None, participant.phone)
        to = row.to_phone or (participant.phone if participant else None)
        reason = (
            (not_sent.NO_RECIPIENT, "no recipient")
            if to is None
            else refusal(row, participant, own_phone)
        )
        if reason is not None or to is None:
            code, detail = reason or (not_sent.NO_RECIPIENT, "no recipient")
            if await claimed_by(row.id, token).update(
                status=MessageStatus.CANCELLED,
                error_detail=detail,
                skip_reason=code,
                updated_at=now,
            ):
                counts.skipped += 1
            continue
        if row.kind in PARTICIPANT_KINDS and participant is not None:
            later = quiet_deferral(rt, participant, now)
            if later is not None:
                await defer(row, token, later, now, counts)
                continue
        site_code = str(participant.site_id if participant else row.params.get("site_code", ""))
        try:
            render_for_channel(rt, row, participant, own_phone, sites.get(site_code), now)
        except Exception as exc:  # a broken template or parameter fails this row, not the batch
            detail = f"render: {type(exc).__name__}: {exc}"[:255]
            if await record_failure(rt, row, token, None, detail, participant, own_phone):
                counts.failed += 1
            continue
        ready.append(Ready(row, participant, own_phone, to))
    if not ready:
        return []
    kept: list[Ready] = []
    async with in_transaction():
        for item in ready:
            row = item.row
            if await claimed_by(row.id, row.claim_token or "").update(
                body=row.body,
                encoding=row.encoding,
                segments=row.segments,
                channel=row.channel,
                content_sid=row.content_sid,
                content_variables=row.content_variables,
                fallback_reason=row.fallback_reason,
                lease_until=now + LEASE,
                updated_at=now,
            ):
                kept.append(item)  # else the claim was taken over by reconciliation
    return kept
