"""Reading ``WHATSAPP_TEMPLATES_FILE`` and refusing a WhatsApp set-up it does not cover.

The file is data beside the protocol (``domain.whatsapp`` parses and checks it); this
module reads it and turns every fault into the one-line configuration error start-up
prints. With WhatsApp configured, every message key the service would send outside
the 24-hour window (the protocol's reminders and check-in questions) must have a
template in every catalog language: the error names the missing ones.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from service.domain.languages import LANGUAGES
from service.domain.protocol import Protocol
from service.domain.whatsapp import TemplatesError, WhatsAppTemplates, parse_templates
from service.settings import ConfigError, Settings

__all__ = ["keys_sent_outside_window", "load_whatsapp_templates"]

VARIABLE = "WHATSAPP_TEMPLATES_FILE"


def keys_sent_outside_window(protocol: Protocol) -> set[str]:
    """The message keys that go out on the service's initiative (not as an answer),
    so may find the participant's 24-hour window closed."""
    return {rule.message_key for rule in protocol.reminders} | {
        checkin.message_key for checkin in protocol.checkins
    }


def read_templates(path: Path) -> WhatsAppTemplates:
    try:
        with path.open("rb") as fp:
            data = tomllib.load(fp)
        return parse_templates(data)
    except OSError as exc:
        raise ConfigError(VARIABLE, f"cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(VARIABLE, f"is not valid TOML ({exc})") from None
    except TemplatesError as exc:
        raise ConfigError(VARIABLE, str(exc)) from None


def load_whatsapp_templates(settings: Settings, protocol: Protocol) -> WhatsAppTemplates:
    """The templates, checked against the protocol when WhatsApp is configured (none
    are needed, and none are read, without a WhatsApp sender)."""
    if not settings.whatsapp_enabled:
        return WhatsAppTemplates({})
    templates = read_templates(settings.whatsapp_templates_file)
    missing = templates.missing(keys_sent_outside_window(protocol), LANGUAGES)
    if missing:
        raise ConfigError(VARIABLE, f"has no template for {', '.join(missing)}")
    return templates
