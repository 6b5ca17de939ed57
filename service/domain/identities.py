"""The keys that make a message, an alert and a check-in the same one when it comes
twice: one builder each, so a retried webhook, a re-plan and a dashboard look-up
all spell a key the same way.
"""

from __future__ import annotations

__all__ = ["alert_purpose", "checkin_key", "message_dedupe_key"]


def message_dedupe_key(participant_id: int | None, purpose: str, occurrence: str) -> str:
    """``OutboundMessage.dedupe_key``: one row per (recipient, purpose, occurrence).
    A row to a staff phone (an on-call SMS) has no participant and counts as ``staff``."""
    recipient = "staff" if participant_id is None else str(participant_id)
    return f"{recipient}:{purpose}:{occurrence}"


def alert_purpose(alert_id: int) -> str:
    """The ``purpose`` of every on-call SMS about one alert (first text and escalation)."""
    return f"alert:{alert_id}"


def checkin_key(purpose: str, occurrence: str) -> str:
    """The check-in key of a planned ``checkin`` prompt, shared by SMS and the app."""
    return f"{purpose}:{occurrence}"
