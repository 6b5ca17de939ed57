"""A check-in's answers and origin in the page's words, never as stored data.

The stored shape (``{"symptoms": [{"code", "severity", "temperature_c"}]}`` or
``{"pregnant": bool}``) and the check-in keys (``checkin:weekly:2026-12-01``,
``report:symptoms:SM…``) are the service's own business: a coordinator reads
"Fiebre · intensidad moderada · 39,1 °C" and "Reporte por SMS, sin pregunta".
Symptom labels come from the participants' catalog (the words participants were
asked with); everything else from the dashboard catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from babel.dates import format_date
from babel.numbers import format_decimal

from service.domain.languages import formatting_locale
from service.runtime import Runtime
from service.web.dashboard.render import N_

SEVERITY: Final = {
    "mild": N_("mild intensity"),
    "moderate": N_("moderate intensity"),
    "severe": N_("severe intensity"),
}
_SEPARATOR: Final = " · "


def answer_lines(
    rt: Runtime, answers: Mapping[str, Any], locale: str, say: Callable[[str], str]
) -> list[str]:
    """One line per symptom ("Fiebre · intensidad moderada · 39,1 °C"), or the pregnancy
    answer, or "No symptoms"; a shape this code does not know shows as its values."""
    if "pregnant" in answers:
        return [say(N_("Pregnant: yes")) if answers["pregnant"] else say(N_("Pregnant: no"))]
    symptoms = answers.get("symptoms")
    if not isinstance(symptoms, list):
        return [f"{key}: {value}" for key, value in sorted(answers.items())]
    if not symptoms:
        return [say(N_("No symptoms"))]
    return [_symptom_line(rt, item, locale, say) for item in symptoms if isinstance(item, dict)]


def _symptom_line(
    rt: Runtime, item: Mapping[str, Any], locale: str, say: Callable[[str], str]
) -> str:
    code = str(item.get("code", ""))
    label_key = next((s.label_key for s in rt.protocol.symptoms if s.code == code), None)
    parts = [rt.translator.render(label_key, locale) if label_key else code]
    severity = item.get("severity")
    parts.append(say(SEVERITY[severity]) if severity in SEVERITY else say(N_("intensity not said")))
    temperature = _temperature(item.get("temperature_c"), locale)
    if temperature:
        parts.append(temperature)
    return _SEPARATOR.join(parts)


def _temperature(value: object, locale: str) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return f"{format_decimal(number, format='0.0', locale=formatting_locale(locale))} °C"


def origin_words(checkin_key: str, channel: str, locale: str, say: Callable[[str], str]) -> str:
    """What the check-in answered: a prompt of a given day, or nothing (a report the
    participant made on their own, by SMS or in the app)."""
    parts = checkin_key.split(":")
    if parts[0] == "report":
        if channel == "sms":
            return say(N_("Report by SMS, unprompted"))
        if channel == "whatsapp":
            return say(N_("Report by WhatsApp, unprompted"))
        return say(N_("Report in the app, unprompted"))
    if parts[0] == "checkin" and len(parts) == 3:
        try:
            day = date.fromisoformat(parts[2])
        except ValueError:
            return say(N_("Answer to a prompt"))
        shown = format_date(day, "medium", locale=formatting_locale(locale))
        return say(N_("Answer to the prompt of %(date)s")) % {"date": shown}
    return say(N_("Answer to a prompt"))
