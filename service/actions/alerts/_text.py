"""Alert text as the site teams read it: finding labels and the one-line summary.

Why a module of its own: the SMS to the on-call phone, the alerts API and the
dashboard all show the same Spanish labels, and none of them should have to import
the raising or escalation machinery to format one.

* **Spanish, short, no health data beyond what the team needs.** The summary is the
  Babel-formatted list of finding labels in Spanish, cut to fit one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from babel.lists import format_list
from babel.numbers import format_decimal

from service.domain.languages import formatting_locale
from service.runtime import Runtime

__all__ = ["ALERT_LANGUAGE", "SUMMARY_MAX_CHARS", "alert_summary", "finding_label"]

ALERT_LANGUAGE: Final = "es"  # the site teams read Spanish
SUMMARY_MAX_CHARS: Final = 109

# Findings that are not about one symptom have a label key of their own
# (``finding.*`` in the catalog); an unknown code shows as itself, never as nothing.
_FINDING_LABEL_KEYS: Final = {"pregnancy_yes": "finding.pregnancy_yes"}


def _render(rt: Runtime, key: str, language: str) -> str:
    return rt.translator.render(key, language)


def _base_label(rt: Runtime, finding: Mapping[str, Any], language: str) -> str:
    code = str(finding.get("code", ""))
    symptom_key = (finding.get("key_params") or {}).get("symptom")
    if symptom_key:
        return _render(rt, symptom_key, language)
    key = _FINDING_LABEL_KEYS.get(code)
    return _render(rt, key, language) if key is not None else code


def _temperature(value: object, language: str) -> str | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return f"{format_decimal(number, format='0.0', locale=formatting_locale(language))} °C"


def finding_label(
    rt: Runtime,
    finding: Mapping[str, Any],
    *,
    details: bool = True,
    language: str = ALERT_LANGUAGE,
) -> str:
    """A stored finding as staff read it: "Fiebre 38,5 °C (severo)" (a page in English
    asks for ``language="en"``: "Fever 38.5 °C (severe)")."""
    label = _base_label(rt, finding, language)
    if not details:
        return label
    params = finding.get("params") or {}
    if params.get("temperature_c") is not None:
        temperature = _temperature(params["temperature_c"], language)
        if temperature:
            label = f"{label} {temperature}"
    severity_key = (finding.get("key_params") or {}).get("severity")
    if severity_key:
        label = f"{label} ({_render(rt, severity_key, language).lower()})"
    return label


def alert_summary(
    rt: Runtime, findings: Sequence[Mapping[str, Any]], *, language: str = ALERT_LANGUAGE
) -> str:
    """The findings as one short Spanish list, at most ``SUMMARY_MAX_CHARS`` long.

    Full labels first; if too long, labels without severity and temperature; if still
    too long, the first labels and "+N" for the rest (the dashboard shows them all).
    Emergency findings come first.
    """
    if not findings:
        return ""
    # Emergencies first: if the list has to be cut, chest pain is never the part cut.
    findings = sorted(findings, key=lambda finding: not finding.get("emergency", False))
    for details in (True, False):
        labels = [finding_label(rt, f, details=details, language=language) for f in findings]
        text = format_list(labels, locale=formatting_locale(language))
        if len(text) <= SUMMARY_MAX_CHARS:
            return text
    for keep in range(len(labels) - 1, 0, -1):
        text = format_list(
            [*labels[:keep], f"+{len(labels) - keep}"], locale=formatting_locale(language)
        )
        if len(text) <= SUMMARY_MAX_CHARS:
            return text
    return labels[0][: SUMMARY_MAX_CHARS - 4] + f" +{len(labels) - 1}"
