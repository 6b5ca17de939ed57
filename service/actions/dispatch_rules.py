"""Who may be written to, and when: the checks a claimed row passes at send time.

Because a pause, opt-out or withdrawal can commit between planning and sending, and
an overdue reminder after downtime must still not arrive inside quiet hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from service.actions.delivery import claimed_by
from service.actions.replanning import may_receive_sms
from service.db.models import OutboundMessage, Participant
from service.domain.reminders import next_allowed
from service.runtime import Runtime

__all__ = ["OPT_OUT_CONFIRMATION", "PARTICIPANT_KINDS", "defer", "quiet_deferral", "refusal"]

PARTICIPANT_KINDS = frozenset({"reminder", "checkin"})
OPT_OUT_CONFIRMATION = "optout.confirm"  # the one message an opted-out person still gets


class _Counts(Protocol):  # the two DispatchCounts fields ``defer`` moves (avoids an import cycle)
    expired: int
    deferred: int


def refusal(row: OutboundMessage, participant: Participant | None, own_phone: bool) -> str | None:
    if row.kind in PARTICIPANT_KINDS:
        if participant is None or not may_receive_sms(participant):
            return "participant may not receive planned SMS now"
        return None
    if own_phone and participant is not None:
        if participant.sms_blocked_code is not None:
            return f"participant's number is blocked ({participant.sms_blocked_code})"
        if participant.opted_out and row.message_key != OPT_OUT_CONFIRMATION:
            return "participant opted out"
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
    row: OutboundMessage, token: str, later: datetime, now: datetime, counts: _Counts
) -> None:
    """Back to planned at ``later`` (the claim was not an attempt), or expired if by
    then the message no longer matters."""
    if row.expires_at is not None and later >= row.expires_at:
        if await claimed_by(row.id, token).update(status="expired", updated_at=now):
            counts.expired += 1
        return
    if await claimed_by(row.id, token).update(
        status="planned", send_at=later, attempts=F("attempts") - 1, updated_at=now
    ):
        counts.deferred += 1
