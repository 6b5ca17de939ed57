"""WhatsApp's rules as data and small decisions: templates, the 24-hour window, and
which channel carries one message.

Why these shapes:

* **Templates are data** (``WHATSAPP_TEMPLATES_FILE``, beside the protocol): each
  message key and language that may leave the 24-hour window names the approved
  template (``content_sid``) that carries it and the catalog placeholders that fill
  its numbered variables, in order. The loader refuses a file it cannot trust (an
  unknown key, a variable the catalog text does not have, a placeholder left out, a
  duplicate), so a bad file stops start-up instead of failing a reminder at 9 a.m.
* **The window is the participant's last WhatsApp message to us plus 24 hours**, less
  a margin: a free-form message queued a minute before the window closes would be
  refused (Twilio 63016) by the time it leaves.
* **The channel is decided at send time**, like the text (decision 0006): a reply that
  opened the window, an opt-out or a change of channel between planning and sending
  all count. SMS is what remains when WhatsApp cannot carry a message: the reason is
  recorded on the message (``fallback_reason``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from service.domain.languages import LANGUAGES
from service.domain.texts import MESSAGES, placeholders

__all__ = [
    "CHANNELS",
    "NO_TEMPLATE",
    "OPT_IN_METHODS",
    "REFUSED",
    "SMS",
    "WHATSAPP",
    "WHATSAPP_OFF",
    "WINDOW",
    "ChannelChoice",
    "Template",
    "TemplatesError",
    "WhatsAppTemplates",
    "choose_channel",
    "parse_templates",
    "within_window",
]

SMS: Final = "sms"
WHATSAPP: Final = "whatsapp"
CHANNELS: Final = (SMS, WHATSAPP)

# How a participant agreed to WhatsApp: on the signed consent form, aloud to a
# coordinator (who records it), or themselves in the app.
OPT_IN_METHODS: Final = ("written", "verbal", "app")

WINDOW: Final = timedelta(hours=24)
WINDOW_MARGIN: Final = timedelta(minutes=5)

# Why a message for a WhatsApp participant went by SMS (``outbound_message.fallback_reason``).
NO_TEMPLATE: Final = "no_template"  # outside the window, and no template carries this key
WHATSAPP_OFF: Final = "whatsapp_off"  # no WhatsApp sender configured
REFUSED: Final = "refused"  # WhatsApp refused it (the code is in ``error_code``)

_CONTENT_SID = re.compile(r"^HX[0-9a-f]{32}$")
_FIELDS: Final = frozenset({"key", "language", "content_sid", "variables"})


class TemplatesError(ValueError):
    """The templates file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    language: str
    content_sid: str
    variables: tuple[str, ...]  # catalog placeholders, in the order of {{1}}, {{2}} …

    def content_variables(self, values: Mapping[str, str]) -> dict[str, str]:
        """Twilio's ``ContentVariables``: ``{"1": …, "2": …}`` from the placeholder values."""
        return {str(n): str(values[name]) for n, name in enumerate(self.variables, start=1)}


@dataclass(frozen=True, slots=True)
class WhatsAppTemplates:
    by_key: Mapping[tuple[str, str], Template]

    def get(self, key: str, language: str) -> Template | None:
        return self.by_key.get((key, language))

    def missing(self, keys: Iterable[str], languages: Iterable[str] = LANGUAGES) -> list[str]:
        """``key (language)`` for every pair no template carries, sorted."""
        langs = tuple(languages)
        return sorted(
            f"{k} ({lang})" for k in set(keys) for lang in langs if (k, lang) not in self.by_key
        )


def _template(n: int, entry: Any, messages: Mapping[str, str]) -> Template:
    where = f"template {n}"
    if not isinstance(entry, dict):
        raise TemplatesError(f"{where}: must be a table")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise TemplatesError(f"{where}: unknown field {unknown[0]!r}")
    missing = sorted(_FIELDS - set(entry))
    if missing:
        raise TemplatesError(f"{where}: {missing[0]} is required")
    key, language, sid, variables = (
        entry[f] for f in ("key", "language", "content_sid", "variables")
    )
    if not isinstance(key, str) or key not in messages:
        raise TemplatesError(f"{where}: key {key!r} is not a message key of the catalogs")
    if language not in LANGUAGES:
        raise TemplatesError(f"{where} ({key}): language must be one of {', '.join(LANGUAGES)}")
    if not isinstance(sid, str) or not _CONTENT_SID.match(sid):
        raise TemplatesError(f"{where} ({key}): content_sid must be HX and 32 hex digits")
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise TemplatesError(f"{where} ({key}): variables must be a list of placeholder names")
    needed = placeholders(messages[key])
    if len(set(variables)) != len(variables) or set(variables) != needed:
        raise TemplatesError(
            f"{where} ({key}): variables must be the text's placeholders"
            f" {sorted(needed)} each once, got {variables}"
        )
    return Template(key, language, sid, tuple(variables))


def parse_templates(
    data: Mapping[str, Any], messages: Mapping[str, str] = MESSAGES
) -> WhatsAppTemplates:
    """The parsed ``[[template]]`` tables of a templates file (TOML already read)."""
    unknown = sorted(set(data) - {"template"})
    if unknown:
        raise TemplatesError(f"unknown top-level field {unknown[0]!r} (only [[template]] tables)")
    entries = data.get("template", [])
    if not isinstance(entries, list):
        raise TemplatesError("template must be an array of tables ([[template]])")
    by_key: dict[tuple[str, str], Template] = {}
    for n, entry in enumerate(entries, start=1):
        template = _template(n, entry, messages)
        pair = (template.key, template.language)
        if pair in by_key:
            raise TemplatesError(f"template {n}: {pair[0]} ({pair[1]}) is listed twice")
        by_key[pair] = template
    return WhatsAppTemplates(by_key)


def within_window(last_inbound: datetime | None, now: datetime) -> bool:
    """Whether a free-form WhatsApp message may go now (with a margin before the end)."""
    return last_inbound is not None and now < last_inbound + WINDOW - WINDOW_MARGIN


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """How one message goes: ``channel``, the template outside the window (None for a
    free-form or SMS message), and why a WhatsApp participant's message goes by SMS."""

    channel: str
    template: Template | None = None
    fallback_reason: str | None = None


def choose_channel(
    *,
    wants_whatsapp: bool,
    whatsapp_ready: bool,
    in_window: bool,
    template: Template | None,
    fallen_back: bool = False,
) -> ChannelChoice:
    """The channel for one message of a participant.

    ``wants_whatsapp``: their channel is WhatsApp and their opt-in is on record.
    ``whatsapp_ready``: a WhatsApp sender is configured. ``fallen_back``: WhatsApp
    already refused this message for good; it goes by SMS, once, and never back.
    """
    if not wants_whatsapp or fallen_back:
        return ChannelChoice(SMS)
    if not whatsapp_ready:
        return ChannelChoice(SMS, fallback_reason=WHATSAPP_OFF)
    if in_window:
        return ChannelChoice(WHATSAPP)
    if template is None:
        return ChannelChoice(SMS, fallback_reason=NO_TEMPLATE)
    return ChannelChoice(WHATSAPP, template=template)
