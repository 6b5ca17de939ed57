"""Why a planned message did not go out, in a small fixed vocabulary.

The outbox records the reason where the decision is made (the planner, the
dispatcher's send-time checks, expiry), in ``outbound_message.skip_reason``, so a
coordinator can answer "why did she not get the reminder?" without reading logs
(a common complaint about messaging systems that cannot). The codes are stable;
words for them belong to the dashboard's catalogs.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = [
    "BLOCKED",
    "BUDGET",
    "EXPIRED",
    "NOT_NEEDED",
    "NO_CONSENT",
    "NO_RECIPIENT",
    "OPTED_OUT",
    "PAUSED",
    "QUIET_HOURS",
    "REASONS",
    "WITHDRAWN",
    "SmsRecipient",
    "may_receive_sms",
    "recipient_barrier",
    "sms_barrier",
]

WITHDRAWN: Final = "withdrawn"  # follow-up ended
NO_CONSENT: Final = "no_consent"  # no consent to SMS recorded
OPTED_OUT: Final = "opted_out"  # the participant texted STOP (or BAJA)
PAUSED: Final = "paused"  # the participant or staff paused reminders
BLOCKED: Final = "blocked"  # the provider reported the number as unreachable for good
BUDGET: Final = "budget"  # the protocol's daily budget of texts had no room left
QUIET_HOURS: Final = "quiet_hours"  # held back by quiet hours until it no longer mattered
EXPIRED: Final = "expired"  # its moment passed before it could be sent (downtime, backlog)
NOT_NEEDED: Final = "not_needed"  # the plan no longer has it (visit recorded, date moved)
NO_RECIPIENT: Final = "no_recipient"  # nobody to send it to

REASONS: Final = (
    WITHDRAWN,
    NO_CONSENT,
    OPTED_OUT,
    PAUSED,
    BLOCKED,
    BUDGET,
    QUIET_HOURS,
    EXPIRED,
    NOT_NEEDED,
    NO_RECIPIENT,
)


def sms_barrier(
    *, active: bool, sms_consent: bool, opted_out: bool, paused: bool, blocked: bool
) -> str | None:
    """What stops planned SMS to a participant now (the first that applies), or None.

    The order is the order a coordinator would act in: a withdrawal outranks
    everything, a missing consent outranks a STOP, and so on.
    """
    if not active:
        return WITHDRAWN
    if not sms_consent:
        return NO_CONSENT
    if opted_out:
        return OPTED_OUT
    if paused:
        return PAUSED
    if blocked:
        return BLOCKED
    return None


class SmsRecipient(Protocol):
    """What the barrier reads of a participant (the model row has these fields)."""

    @property
    def active(self) -> bool: ...

    sms_consent: bool
    opted_out: bool
    paused: bool
    sms_blocked_code: int | None


def recipient_barrier(participant: SmsRecipient) -> str | None:
    """Why planned SMS cannot go to ``participant`` now (a code above), or None: the
    rule the planner and the dispatcher's send-time check share."""
    return sms_barrier(
        active=participant.active,
        sms_consent=participant.sms_consent,
        opted_out=participant.opted_out,
        paused=participant.paused,
        blocked=participant.sms_blocked_code is not None,
    )


def may_receive_sms(participant: SmsRecipient) -> bool:
    return recipient_barrier(participant) is None
