"""What the alerts board says about an alert: how old it is in words, where its
escalation stands, and which on-call slot each of its text messages went to.

Pure (time is an argument): the board, the CSV and their tests agree on one reading.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from babel.units import format_unit

from service.domain.languages import formatting_locale

__all__ = ["Escalation", "age_words", "escalates_at", "escalation_state", "text_slot"]


class Escalation(StrEnum):
    WAITING = "waiting"  # open, its first SMS has not left yet (or there is no on-call phone)
    NOTIFIED = "notified"  # the on-call primary was texted; nobody acknowledged yet
    ESCALATED = "escalated"  # unacknowledged in time: the backup (or primary again) texted
    ACKNOWLEDGED = "acknowledged"


def escalation_state(
    status: str, notified_at: datetime | None, escalated_at: datetime | None
) -> Escalation:
    if status == "acknowledged":
        return Escalation.ACKNOWLEDGED
    if escalated_at is not None:
        return Escalation.ESCALATED
    if notified_at is not None:
        return Escalation.NOTIFIED
    return Escalation.WAITING


def escalates_at(
    status: str, raised_at: datetime, escalated_at: datetime | None, after_minutes: int
) -> datetime | None:
    """When the escalation job will text the backup, if it still will."""
    if status != "open" or escalated_at is not None:
        return None
    return raised_at + timedelta(minutes=after_minutes)


def age_words(since: datetime, now: datetime, locale: str) -> str:
    """ "3 horas", "2 días", "45 días", "0 minutos": the age a coordinator reads at a glance.

    Cut down to its largest unit, days at most (Babel's own ``format_timedelta``
    rounds, so a 50-minute-old alert read "1 hora" and 45 days "2 meses"): an alert
    must never look older than it is, and a month is too coarse for a safety alert.
    """
    babel_locale = formatting_locale(locale)
    seconds = max(int((now - since).total_seconds()), 0)
    for unit, size in (("duration-day", 86400), ("duration-hour", 3600)):
        if seconds >= size:
            return format_unit(seconds // size, unit, length="long", locale=babel_locale)
    return format_unit(seconds // 60, "duration-minute", length="long", locale=babel_locale)


def text_slot(
    occurrence: str, to_phone: str | None, primary: str | None, backup: str | None
) -> str:
    """``primary``, ``backup``, ``primary_again`` (the escalation went to the primary
    because the site has no backup: said so, not listed as a second first text) or
    ``on_call`` (a number no longer set on the site).

    The first SMS ("oncall") always goes to the primary; the escalation to the backup,
    or to the primary again when the site has none. The numbers are compared as they
    are now, so a number changed since shows as plain "on call".
    """
    if to_phone is not None and to_phone == backup:
        return "backup"
    if to_phone is not None and to_phone == primary:
        return "primary" if occurrence == "oncall" or backup else "primary_again"
    if occurrence == "oncall" and primary is None and backup is None:
        return "primary"
    return "on_call"
