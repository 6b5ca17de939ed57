"""Safety rules: which check-in answers the site team must hear about now.

The same rules judge SMS and app check-ins, complete or not (a handed-off
conversation still reports what it understood, and a red flag is known from the
moment it is chosen). Rules, from the protocol's :class:`SafetyRules`:

* pregnancy "yes" alerts (``pregnancy_yes``) when ``pregnancy_yes_alerts``;
* a red-flag or emergency symptom alerts whatever its severity, even unrated
  (``red_flag:<code>``); an emergency symptom also tells the participant to call
  emergency services;
* a temperature at or above ``fever_threshold_c`` alerts (``fever``);
* a severity at or above ``alert_on_severity`` alerts (``severe:<code>``).

Each symptom yields at most one finding, the first rule that applies in that order,
so one chest pain is one line of the alert; severity and temperature travel in the
finding's params.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from service.domain.checkin_answers import PregnancyAnswer, Severity, SymptomAnswers
from service.domain.protocol import SafetyRules, Symptom


@dataclass(frozen=True, slots=True)
class SafetyFinding:
    """One reason to alert.

    ``params`` are literal values for the alert summary (symptom code, severity,
    temperature); ``key_params`` are message keys of labels (``symptom.chest_pain``,
    ``severity.severe``) that the caller translates before formatting.
    """

    code: str
    params: Mapping[str, str] = field(default_factory=dict)
    key_params: Mapping[str, str] = field(default_factory=dict)
    emergency: bool = False


def evaluate_symptoms(
    answers: SymptomAnswers, protocol_symptoms: Iterable[Symptom], rules: SafetyRules
) -> list[SafetyFinding]:
    """Findings for a symptoms check-in, in the order the symptoms were reported.

    An answer naming a symptom the protocol does not know is a caller's bug (the app
    endpoint validates codes) and raises ValueError rather than being ignored.
    """
    by_code = {symptom.code: symptom for symptom in protocol_symptoms}
    alert_on = Severity(rules.alert_on_severity)
    findings: list[SafetyFinding] = []
    for reported in answers.symptoms:
        symptom = by_code.get(reported.code)
        if symptom is None:
            raise ValueError(f"unknown symptom code {reported.code!r}")
        params = {"symptom": symptom.code}
        key_params = {"symptom": symptom.label_key}
        if reported.severity is not None:
            params["severity"] = reported.severity.value
            key_params["severity"] = reported.severity.label_key
        if reported.temperature_c is not None:
            params["temperature_c"] = f"{reported.temperature_c:.1f}"

        if symptom.red_flag or symptom.emergency:
            code, emergency = f"red_flag:{symptom.code}", symptom.emergency
        elif (
            reported.temperature_c is not None and reported.temperature_c >= rules.fever_threshold_c
        ):
            code, emergency = "fever", False
        elif reported.severity is not None and reported.severity.at_least(alert_on):
            code, emergency = f"severe:{symptom.code}", False
        else:
            continue
        findings.append(SafetyFinding(code, params, key_params, emergency))
    return findings


def evaluate_pregnancy(answer: PregnancyAnswer, rules: SafetyRules) -> list[SafetyFinding]:
    if answer.pregnant and rules.pregnancy_yes_alerts:
        return [SafetyFinding("pregnancy_yes")]
    return []


def evaluate_answers(
    answers: SymptomAnswers | PregnancyAnswer,
    protocol_symptoms: Iterable[Symptom],
    rules: SafetyRules,
) -> list[SafetyFinding]:
    """Findings for either questionnaire's answers: the one entry point for a check-in
    from SMS or the app and for a red-flag report, so all are judged alike."""
    if isinstance(answers, PregnancyAnswer):
        return evaluate_pregnancy(answers, rules)
    return evaluate_symptoms(answers, protocol_symptoms, rules)


def participant_advice(findings: Sequence[SafetyFinding]) -> str | None:
    """The message key to send the participant: emergency first, else contact the team."""
    if not findings:
        return None
    if any(finding.emergency for finding in findings):
        return "safety.emergency"
    return "safety.contact_team"


def alert_dedupe_key(
    participant_id: str | int, checkin_key: str, findings: Sequence[SafetyFinding]
) -> str:
    """A stable key for "this participant's check-in raised these findings".

    Built from the finding *codes* only (not severities or temperatures), sorted and
    deduplicated, so a retried webhook or a re-run job yields the same key and the
    alert is raised once; a check-in that later adds a new finding (say, chest pain
    first, severe nausea two messages later) yields a new key, which is wanted:
    the team learns something new. sha256, not ``hash()``, so it survives restarts.
    """
    if not findings:
        raise ValueError("no findings, no alert")
    codes = sorted({finding.code for finding in findings})
    canonical = json.dumps([str(participant_id), checkin_key, codes], separators=(",", ":"))
    return "safety:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
