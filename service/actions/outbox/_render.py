"""Rendering a planned message into the text a phone receives.

Rows keep a message key and plain parameters (visit code, ISO dates); the words are
produced at send time in the participant's language, so a corrected translation or a
changed language reaches every message not yet sent. Folding to GSM-7 happens last,
and only when it saves a segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from service.db.models import Participant, Site
from service.domain.sms_encoding import SmsEncoding, prepare_for_sms
from service.domain.texts import without_prefix
from service.runtime import Runtime


@dataclass(frozen=True, slots=True)
class RenderedSms:
    text: str
    encoding: SmsEncoding


def message_params(
    rt: Runtime, language: str, params: dict[str, Any], site: Site | None
) -> dict[str, object]:
    """Turn stored parameters into the values the catalog's placeholders expect."""
    values: dict[str, object] = {k: v for k, v in params.items() if not k.endswith("_key")}
    if "visit_code" in params:
        visit = rt.protocol.visit(params["visit_code"])
        values["visit"] = rt.translator.render(visit.name_key, language)
    if "visit_date" in params:
        values["date"] = date.fromisoformat(params["visit_date"])
    for name, value in params.items():
        if name.endswith("_key"):
            values[name.removesuffix("_key")] = rt.translator.render(value, language)
    if site is not None:
        values.setdefault("site", site.name)
        values.setdefault("help_line", site.help_line)
    return values


def render_text(
    rt: Runtime, key: str, language: str, params: dict[str, Any], site: Site | None
) -> RenderedSms:
    text = rt.translator.render(key, language, **message_params(rt, language, params, site))
    final, encoding = prepare_for_sms(text, fold=rt.settings.sms_fold_to_gsm)
    return RenderedSms(text=final, encoding=encoding)


@dataclass(frozen=True, slots=True)
class RenderedWhatsApp:
    """The text as the catalog has it (no GSM-7 folding: WhatsApp keeps accents and
    has no segments), and each placeholder's value for a template's variables."""

    text: str
    values: dict[str, str]


def render_whatsapp(
    rt: Runtime, key: str, language: str, params: dict[str, Any], site: Site | None
) -> RenderedWhatsApp:
    filled = message_params(rt, language, params, site)
    text = rt.translator.render(key, language, **filled)
    return RenderedWhatsApp(text, rt.translator.values(key, language, **filled))


async def render_for_participant(rt: Runtime, participant: Participant, key: str) -> str:
    """A parameterless text (safety advice) in the participant's language, with their
    site's name and help line filled in."""
    site = await Site.get(code=participant.site_id)
    return render_text(rt, key, participant.language, {}, site).text


async def render_for_screen(rt: Runtime, participant: Participant, key: str) -> str:
    """The same text for a screen (the app, the web app): no SMS prefix, and never
    folded to GSM-7, since a screen shows every accent."""
    site = await Site.get(code=participant.site_id)
    params = message_params(rt, participant.language, {}, site)
    return without_prefix(rt.translator.render(key, participant.language, **params))
