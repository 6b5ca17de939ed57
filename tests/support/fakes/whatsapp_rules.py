"""WhatsApp's rules as Twilio applies them to a Messages create, for the fake server.

What Twilio does with a ``whatsapp:`` address, restated for the test double:

* the sender must be an approved WhatsApp sender (``whatsapp:+…``) or a Messaging
  Service that has one; any other ``whatsapp:`` sender: 63007;
* a recipient without WhatsApp: 63003;
* a free-form ``Body`` outside the 24-hour window that the person's last message to
  the sender opened: 63016 (since April 2025 also when the body is a template's text);
* a template by ``ContentSid`` with ``ContentVariables`` (``{"1": …}``), whose body
  Twilio fills in and keeps on the message (what a lookup sees); an unknown
  ContentSid: 21655.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PREFIX = "whatsapp:"
WINDOW = timedelta(hours=24)
_VARIABLE = re.compile(r"\{\{(\d+)\}\}")


@dataclass(slots=True)
class WhatsAppRules:
    """The WhatsApp side of the fake: senders, users, windows and templates."""

    clock: Callable[[], datetime]
    senders: set[str] = field(default_factory=set)
    without_whatsapp: set[str] = field(default_factory=set)
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrote(self, number: str, at: datetime | None = None) -> None:
        """The person wrote to us by WhatsApp: their 24-hour window opens."""
        with self.lock:
            self.last_inbound[number.removeprefix(PREFIX)] = at or self.clock()

    def refusal(self, form: dict[str, str], via_service: bool) -> tuple[int, str] | None:
        """(Twilio code, message) if Twilio would refuse this create, else None."""
        to = form.get("To", "").removeprefix(PREFIX)
        sender = form.get("From", "")
        with self.lock:
            if sender and (
                not sender.startswith(PREFIX) or sender[len(PREFIX) :] not in self.senders
            ):
                return 63007, "Twilio could not find a Channel with the specified From address"
            if not sender and not via_service:
                return 63007, "Twilio could not find a Channel with the specified From address"
            if to in self.without_whatsapp:
                return 63003, "Channel could not find To address"
            sid = form.get("ContentSid")
            if sid:
                return None if sid in self.templates else (21655, "The ContentSid is Invalid")
            last = self.last_inbound.get(to)
            if last is None or self.clock() >= last + WINDOW:
                return 63016, (
                    "Failed to send freeform message because you are outside the allowed window."
                    " If you are using WhatsApp, please use a Message Template."
                )
        return None

    def body(self, form: dict[str, str]) -> str:
        """The text the person receives: the template filled in, or the Body."""
        sid = form.get("ContentSid")
        if not sid:
            return form.get("Body", "")
        values = json.loads(form.get("ContentVariables") or "{}")
        with self.lock:
            template = self.templates[sid]
        return _VARIABLE.sub(lambda m: str(values[m.group(1)]), template)
