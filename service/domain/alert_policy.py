"""One alert per event, whichever channel or message repeats it.

A participant with chest pain may text "me duele el pecho", then "me duele mucho el
pecho!!" ten minutes later, then tick it in the app, then pick it in the weekly
check-in; the SMS dialogue asks its severity after the alert went out. The site team
must be texted once for that, not five times, and still hear of anything *new*. Given
the findings of a check-in version and the alerts the participant already has, this
module says what to do:

* **refine** the alert of the *same* check-in: its findings are replaced by the new
  ones (a severity, a temperature, another symptom), audited, with no new text to the
  on-call phone; the team is already calling about this check-in;
* except that an **emergency** the alert of the same check-in did not have yet is a
  new alert (the on-call phone must hear "call 131" level news at once);
* a **repeat**: every finding is already covered by another alert of the participant
  raised less than :data:`REPEAT_WINDOW` ago, acknowledged or not: nothing is raised
  and the participant is not advised again (the first advice stands). Older than
  that, the same red flag is news again: acknowledged, the team had dealt with it;
  still unacknowledged after so long, the on-call phone should hear it once more;
* otherwise **raise** a new alert.

Pure: the caller passes the alerts it found (in the transaction that holds the
participant's alert lock) and the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from service.domain.safety import SafetyFinding

__all__ = ["REPEAT_WINDOW", "AlertMove", "KnownAlert", "alert_move"]

# Long enough for a day's repeats ("sigo con dolor de pecho" at night); short enough
# that the same red flag tomorrow is news again.
REPEAT_WINDOW: Final = timedelta(hours=12)


class AlertMove(StrEnum):
    NONE = "none"  # no finding
    RAISE = "raise"
    REFINE = "refine"
    REPEAT = "repeat"


@dataclass(frozen=True, slots=True)
class KnownAlert:
    """What the decision needs of an alert the participant already has."""

    alert_id: int
    codes: frozenset[str]
    emergency: bool
    same_checkin: bool
    raised_at: datetime


def alert_move(
    findings: Sequence[SafetyFinding], known: Iterable[KnownAlert], now: datetime
) -> tuple[AlertMove, KnownAlert | None]:
    """What to do with ``findings`` (module docstring), and the alert it concerns."""
    if not findings:
        return AlertMove.NONE, None
    known = list(known)
    same = sorted((a for a in known if a.same_checkin), key=lambda a: a.raised_at)
    if same:
        new_emergency = any(f.emergency for f in findings) and not any(a.emergency for a in same)
        return (AlertMove.RAISE, None) if new_emergency else (AlertMove.REFINE, same[-1])
    recent = [a for a in known if now - a.raised_at < REPEAT_WINDOW]
    covered = {code for a in recent for code in a.codes}
    if {f.code for f in findings} <= covered:
        latest = max(recent, key=lambda a: a.raised_at)
        return AlertMove.REPEAT, latest
    return AlertMove.RAISE, None
