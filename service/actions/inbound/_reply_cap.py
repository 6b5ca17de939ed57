"""How many automatic answers one number gets: an auto-responder must not loop.

A phone that answers every SMS automatically ("estoy fuera de la oficina"), a stuck
handset resending, or a person sending fifty texts in a row would each make the
service answer every message, at our cost and to nobody's benefit; two automatic
systems answering each other never stop. So, per participant (one number) and per
rolling hour:

* at most ``ACKNOWLEDGEMENTS_PER_HOUR`` open-ended acknowledgements
  (``ACKNOWLEDGEMENTS``: "we received it", the help text, "visit confirmed");
* at most ``REPLIES_PER_HOUR`` automatic replies of any kind, the check-in dialogue's
  questions included (a dialogue that ends in a hand-off restarts from the open
  prompt with the next message, so it does not bound itself). A real dialogue needs
  one reply per reported symptom plus two, well under the cap.

Never capped, and why: safety advice (``safety.*``, e.g. "call 131": a red flag is
always answered) and the opt-out and opt-in confirmations (sent once per change of
state anyway, and the participant must learn that nothing more will come).

Capping changes only what we send: every message is still stored and understood, and
one whose answer was held back is put in the coordinators' queue (reason
``replies_capped``) if it is not there already. The counts are read under the
per-number lock (``service.db.locks``), so concurrent webhooks cannot overshoot them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from service.db.hot_rows import encode, values_of
from service.db.models import OutboundMessage, Participant
from service.domain.states import MessageKind
from service.runtime import Runtime

__all__ = [
    "ACKNOWLEDGEMENTS",
    "ACKNOWLEDGEMENTS_PER_HOUR",
    "REPLIES_PER_HOUR",
    "may_auto_reply",
    "never_capped",
]

ACKNOWLEDGEMENTS: Final = frozenset({"inbound.received", "help.reply", "visit.confirmed"})
ACKNOWLEDGEMENTS_PER_HOUR: Final = 3
REPLIES_PER_HOUR: Final = 12
_NEVER_CAPPED: Final = frozenset({"optout.confirm", "optin.confirm"})
_WINDOW: Final = timedelta(hours=1)


def never_capped(message_key: str) -> bool:
    return message_key.startswith("safety.") or message_key in _NEVER_CAPPED


async def may_auto_reply(rt: Runtime, participant: Participant, message_key: str) -> bool:
    """False when sending this reply now would exceed the participant's hourly cap."""
    if never_capped(message_key):
        return True
    recent = await values_of(  # one cached statement (decision 0113)
        OutboundMessage,
        "message_key",
        '"participant_id"=? AND "kind"=? AND "created_at">=?',
        [
            participant.id,
            encode(OutboundMessage, "kind", MessageKind.REPLY),
            encode(OutboundMessage, "created_at", rt.clock.now() - _WINDOW),
        ],
    )
    counted = [str(key) for key in recent if not never_capped(str(key))]
    if len(counted) >= REPLIES_PER_HOUR:
        return False
    if message_key in ACKNOWLEDGEMENTS:
        return sum(key in ACKNOWLEDGEMENTS for key in counted) < ACKNOWLEDGEMENTS_PER_HOUR
    return True
