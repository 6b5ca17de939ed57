"""iCalendar SEQUENCE numbers, per event, from the calendar's history.

RFC 5545 (3.8.7.4): a calendar client keeps its copy of an event (same UID) unless
the new copy's SEQUENCE is higher; the organizer raises it on every significant
change (date, status). One number for the whole calendar, counted from some records
but not others, left a withdrawal's 14 cancellations at SEQUENCE 0, so phones kept
the old, confirmed events.

So the service replays what changed a participant's calendar (infusion dates,
visit outcomes, withdrawal), one *version* per change, each version a mapping
visit code -> a fingerprint of what a client shows (date, window, status). An
event's SEQUENCE is the number of versions in which its fingerprint differs from
the one before: it grows with every change *to that event*, never for a change to
another, and it is the same on every request (nothing is stored, so no GET writes).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping


def event_sequences(versions: Iterable[Mapping[str, Hashable]]) -> dict[str, int]:
    """SEQUENCE per event code over successive calendar versions (oldest first).

    An event that first appears in a later version starts at 0 there; one that
    disappears and comes back counts the return as a change.
    """
    sequences: dict[str, int] = {}
    previous: Mapping[str, Hashable] = {}
    for version in versions:
        for code, fingerprint in version.items():
            if code not in sequences:
                sequences[code] = 0
            elif code not in previous or previous[code] != fingerprint:
                sequences[code] += 1
        previous = version
    return sequences
