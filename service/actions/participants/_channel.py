"""A participant's channel (SMS or WhatsApp) and their WhatsApp opt-in.

WhatsApp requires an explicit opt-in that names the business, collected before the
first message. So choosing WhatsApp is refused unless an opt-in is on record or comes
with the choice, and the opt-in is kept whole: when and how the person agreed, who
recorded it, and the statement they agreed to in their language (the catalog's
``whatsapp.opt_in``, which names the study and the university). A later opt-in
replaces the record; the audit log keeps every earlier one. Going back to SMS keeps
the record (the agreement happened), and an opt-out by SMS or WhatsApp stops both
channels (``opted_out``), whatever the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.actions.errors import FieldInvalid
from service.db.models import Participant
from service.domain import whatsapp
from service.domain.actors import Actor
from service.runtime import Runtime

__all__ = ["CHANNEL_AUDITED", "OPT_IN_STATEMENT", "OptIn", "channel_changes"]

OPT_IN_STATEMENT = "whatsapp.opt_in"
# A clock a few minutes ahead on the recording device is not a future opt-in.
_FUTURE_SLACK = timedelta(minutes=5)
CHANNEL_AUDITED = ("channel", "whatsapp_opt_in_at", "whatsapp_opt_in_method", "whatsapp_opt_in_by")


@dataclass(frozen=True, slots=True)
class OptIn:
    """How and when the participant agreed to WhatsApp (``at`` None: just now)."""

    method: str
    at: datetime | None = None


def _opt_in_values(
    rt: Runtime, opt_in: OptIn, language: str, actor: Actor, *, field: str
) -> dict[str, Any]:
    now = rt.clock.now()
    if opt_in.method not in whatsapp.OPT_IN_METHODS:
        raise FieldInvalid(
            f"{field}.method must be one of {', '.join(whatsapp.OPT_IN_METHODS)}",
            field=f"{field}.method",
        )
    at = opt_in.at or now
    if at.tzinfo is None:
        raise FieldInvalid(f"{field}.at needs a time zone offset", field=f"{field}.at")
    if at > now + _FUTURE_SLACK:
        raise FieldInvalid(f"{field}.at is in the future", field=f"{field}.at")
    return {
        "whatsapp_opt_in_at": at,
        "whatsapp_opt_in_method": opt_in.method,
        "whatsapp_opt_in_by": actor.label[:160],
        "whatsapp_opt_in_text": rt.translator.render(OPT_IN_STATEMENT, language),
    }


def channel_changes(
    rt: Runtime,
    actor: Actor,
    *,
    channel: str | None,
    opt_in: OptIn | None,
    language: str,
    current: Participant | None = None,
    field: str = "whatsapp_opt_in",
) -> dict[str, Any]:
    """The participant fields a channel choice and an opt-in set (validated first;
    nothing is written here). ``current`` is the participant before the change (None
    at enrolment); ``field`` names the opt-in in errors, as the caller's form does."""
    values: dict[str, Any] = {}
    if opt_in is not None:
        values.update(_opt_in_values(rt, opt_in, language, actor, field=field))
    if channel is None:
        return values
    if channel not in whatsapp.CHANNELS:
        raise FieldInvalid(
            f"channel must be one of {', '.join(whatsapp.CHANNELS)}", field="channel"
        )
    recorded = current is not None and current.whatsapp_opt_in_at is not None
    if channel == whatsapp.WHATSAPP and opt_in is None and not recorded:
        raise FieldInvalid(
            f"channel whatsapp needs the participant's opt-in: {field} {{method, at}}",
            field=field,
        )
    values["channel"] = channel
    return values
