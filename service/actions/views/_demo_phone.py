"""The demo's phones: each demo participant's SMS thread as their phone shows it.

Only for ``followup serve --demo``, where SMS goes to the console gateway and every
number is made up. A one-time sign-in code is never stored (its row keeps a
placeholder), so its text comes from the console gateway's memory, matched by the
provider id it answered with; after a restart such a code shows as unavailable, as it
is useless by then anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.db.models import InboundMessage, OutboundMessage, Participant
from service.domain.states import MessageKind

__all__ = ["DemoThread", "PhoneLine", "demo_phone_of", "demo_threads"]


async def demo_phone_of(study_id: str) -> str | None:
    """The (made-up) number a demo reply comes from."""
    participant = await Participant.get_or_none(study_id=study_id)
    return participant.phone if participant else None


@dataclass(frozen=True, slots=True)
class PhoneLine:
    incoming: bool  # True: the phone received it; False: the participant wrote it
    at: datetime
    body: str | None  # None: a one-time code the console no longer remembers
    kind: str


@dataclass(frozen=True, slots=True)
class DemoThread:
    study_id: str
    phone: str
    timezone: str
    lines: tuple[PhoneLine, ...]


async def demo_threads(remembered: Mapping[str, str], *, last: int = 40) -> list[DemoThread]:
    """Every participant's last ``last`` texts, oldest first. ``remembered``: the
    console gateway's bodies by provider id (the only place a sent code's text is)."""
    threads: list[DemoThread] = []
    for participant in await Participant.all().order_by("study_id"):
        lines: list[PhoneLine] = []
        outbound = (
            await OutboundMessage.filter(participant_id=participant.id, sent_at__not_isnull=True)
            .order_by("-sent_at", "-id")
            .limit(last)
        )
        for row in outbound:
            body: str | None = row.body
            if row.kind == MessageKind.OTP:
                body = remembered.get(row.provider_id or "")
            lines.append(PhoneLine(True, row.sent_at or row.send_at, body, row.kind.value))
        inbound = (
            await InboundMessage.filter(participant_id=participant.id)
            .order_by("-received_at", "-id")
            .limit(last)
        )
        lines.extend(PhoneLine(False, row.received_at, row.body, "sms") for row in inbound)
        # At the same instant, what the participant wrote comes before the answer.
        lines.sort(key=lambda line: (line.at, line.incoming))
        threads.append(
            DemoThread(
                study_id=participant.study_id,
                phone=participant.phone,
                timezone=participant.timezone,
                lines=tuple(lines[-last:]),
            )
        )
    return threads
