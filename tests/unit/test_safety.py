from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.conversation import (
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    SymptomAnswers,
    advance,
    start_conversation,
)
from service.domain.protocol import Questionnaire, SafetyRules
from service.domain.safety import (
    SafetyFinding,
    alert_dedupe_key,
    evaluate_pregnancy,
    evaluate_symptoms,
    participant_advice,
)
from tests.support.symptom_fixtures import EXPIRES, RULES, SYMPTOMS, T0


def answers(*reported: ReportedSymptom) -> SymptomAnswers:
    return SymptomAnswers(reported)


def codes(findings: list[SafetyFinding]) -> list[str]:
    return [f.code for f in findings]


def test_no_symptoms_no_findings() -> None:
    assert evaluate_symptoms(SymptomAnswers(()), SYMPTOMS, RULES) == []


@pytest.mark.parametrize("severity", list(Severity))
def test_mild_and_moderate_ordinary_symptoms_do_not_alert(severity: Severity) -> None:
    findings = evaluate_symptoms(answers(ReportedSymptom("cough", severity)), SYMPTOMS, RULES)
    assert codes(findings) == (["severe:cough"] if severity is Severity.SEVERE else [])


def test_severe_symptom_alerts_without_emergency() -> None:
    (finding,) = evaluate_symptoms(
        answers(ReportedSymptom("nausea_vomiting", Severity.SEVERE)), SYMPTOMS, RULES
    )
    assert finding.code == "severe:nausea_vomiting"
    assert not finding.emergency
    assert finding.params == {"symptom": "nausea_vomiting", "severity": "severe"}
    assert finding.key_params == {
        "symptom": "symptom.nausea_vomiting",
        "severity": "severity.severe",
    }
    assert participant_advice([finding]) == "safety.contact_team"


def test_alert_threshold_comes_from_the_rules() -> None:
    moderate = answers(ReportedSymptom("rash", Severity.MODERATE))
    assert evaluate_symptoms(moderate, SYMPTOMS, RULES) == []
    stricter = SafetyRules(alert_on_severity="moderate")
    assert codes(evaluate_symptoms(moderate, SYMPTOMS, stricter)) == ["severe:rash"]
    with pytest.raises(ValueError):
        evaluate_symptoms(moderate, SYMPTOMS, SafetyRules(alert_on_severity="terrible"))


@pytest.mark.parametrize(
    ("code", "emergency"),
    [("shortness_of_breath", True), ("chest_pain", True), ("less_urine", False)],
)
@pytest.mark.parametrize("severity", [Severity.MILD, Severity.MODERATE, Severity.SEVERE, None])
def test_red_flags_alert_whatever_the_severity(
    code: str, emergency: bool, severity: Severity | None
) -> None:
    (finding,) = evaluate_symptoms(answers(ReportedSymptom(code, severity)), SYMPTOMS, RULES)
    assert finding.code == f"red_flag:{code}"
    assert finding.emergency is emergency
    advice = participant_advice([finding])
    assert advice == ("safety.emergency" if emergency else "safety.contact_team")


@pytest.mark.parametrize(
    ("temperature", "alerts"),
    [(38.0, True), (37.9, False), (38.5, True), (36.5, False), (None, False), (41.2, True)],
)
def test_fever_threshold_is_inclusive(temperature: float | None, alerts: bool) -> None:
    reported = ReportedSymptom("fever", Severity.MILD, temperature)
    findings = evaluate_symptoms(answers(reported), SYMPTOMS, RULES)
    assert codes(findings) == (["fever"] if alerts else [])
    if alerts:
        assert findings[0].params["temperature_c"] == f"{temperature:.1f}"
        assert not findings[0].emergency


def test_severe_fever_is_one_finding_and_unmeasured_severe_fever_still_alerts() -> None:
    hot = evaluate_symptoms(
        answers(ReportedSymptom("fever", Severity.SEVERE, 39.0)), SYMPTOMS, RULES
    )
    assert codes(hot) == ["fever"]
    assert hot[0].params["severity"] == "severe"
    cold = evaluate_symptoms(
        answers(ReportedSymptom("fever", Severity.SEVERE, None)), SYMPTOMS, RULES
    )
    assert codes(cold) == ["severe:fever"]


def test_fever_threshold_comes_from_the_rules() -> None:
    reported = answers(ReportedSymptom("fever", Severity.MILD, 37.6))
    assert evaluate_symptoms(reported, SYMPTOMS, RULES) == []
    assert codes(evaluate_symptoms(reported, SYMPTOMS, SafetyRules(fever_threshold_c=37.5))) == [
        "fever"
    ]


def test_several_findings_in_reported_order_and_emergency_wins_the_advice() -> None:
    findings = evaluate_symptoms(
        answers(
            ReportedSymptom("fever", Severity.MODERATE, 38.2),
            ReportedSymptom("chest_pain", Severity.MILD),
            ReportedSymptom("diarrhea", Severity.SEVERE),
            ReportedSymptom("cough", Severity.MILD),
        ),
        SYMPTOMS,
        RULES,
    )
    assert codes(findings) == ["fever", "red_flag:chest_pain", "severe:diarrhea"]
    assert participant_advice(findings) == "safety.emergency"


def test_unknown_symptom_code_is_a_bug_not_silence() -> None:
    with pytest.raises(ValueError, match="headache"):
        evaluate_symptoms(answers(ReportedSymptom("headache", Severity.SEVERE)), SYMPTOMS, RULES)


def test_pregnancy() -> None:
    assert codes(evaluate_pregnancy(PregnancyAnswer(True), RULES)) == ["pregnancy_yes"]
    assert evaluate_pregnancy(PregnancyAnswer(False), RULES) == []
    off = SafetyRules(pregnancy_yes_alerts=False)
    assert evaluate_pregnancy(PregnancyAnswer(True), off) == []
    assert participant_advice(evaluate_pregnancy(PregnancyAnswer(True), RULES)) == (
        "safety.contact_team"
    )


def test_no_findings_no_advice() -> None:
    assert participant_advice([]) is None


def test_sms_conversation_feeds_the_same_rules() -> None:
    state = start_conversation(Questionnaire.SYMPTOMS, "post_infusion:1", T0, EXPIRES)
    now = T0 + timedelta(minutes=3)
    step = advance(state, "1 y 4", now, SYMPTOMS)
    assert step.state is not None
    # Chest pain is known before any severity question is answered.
    early = step.state.snapshot()
    assert early is not None
    assert participant_advice(evaluate_symptoms(early, SYMPTOMS, RULES)) == "safety.emergency"
    for reply in ("2", "38,5", "1"):
        assert step.state is not None
        step = advance(step.state, reply, now, SYMPTOMS)
    assert isinstance(step.answers, SymptomAnswers)
    findings = evaluate_symptoms(step.answers, SYMPTOMS, RULES)
    assert codes(findings) == ["fever", "red_flag:chest_pain"]


# --- dedup keys -------------------------------------------------------------------------


def _finding(code: str, **params: str) -> SafetyFinding:
    return SafetyFinding(code, params)


def test_dedupe_key_is_stable_and_order_free() -> None:
    a = [_finding("fever"), _finding("red_flag:chest_pain")]
    b = [_finding("red_flag:chest_pain", severity="severe"), _finding("fever")]
    key = alert_dedupe_key("MSC-001", "weekly:2025-03-03", a)
    assert key == alert_dedupe_key("MSC-001", "weekly:2025-03-03", b)
    assert key.startswith("safety:") and len(key) == len("safety:") + 64
    # Pinned: a refactor that changed keys would re-alert every open event.
    assert key == "safety:89d3a407d9da83fca7b68c97bb0e9f92be98c13497914cfa85b53d41d513c41e"


def test_dedupe_key_separates_participants_checkins_and_findings() -> None:
    findings = [_finding("pregnancy_yes")]
    keys = {
        alert_dedupe_key("MSC-001", "pregnancy:2025-03", findings),
        alert_dedupe_key("MSC-002", "pregnancy:2025-03", findings),
        alert_dedupe_key("MSC-001", "pregnancy:2025-04", findings),
        alert_dedupe_key("MSC-001", "pregnancy:2025-03", [*findings, _finding("fever")]),
        alert_dedupe_key(1, "pregnancy:2025-03", findings),
    }
    assert len(keys) == 5


def test_dedupe_key_cannot_be_confused_by_separators() -> None:
    assert alert_dedupe_key("a:b", "c", [_finding("x")]) != alert_dedupe_key(
        "a", "b:c", [_finding("x")]
    )


def test_dedupe_key_needs_findings() -> None:
    with pytest.raises(ValueError):
        alert_dedupe_key("MSC-001", "k", [])


@given(
    st.lists(
        st.sampled_from(["fever", "pregnancy_yes", "red_flag:chest_pain", "severe:rash"]),
        min_size=1,
    ),
    st.randoms(),
)
def test_dedupe_key_ignores_order_and_repeats(codes_: list[str], rnd: random.Random) -> None:
    shuffled = list(codes_)
    rnd.shuffle(shuffled)
    assert alert_dedupe_key("p", "k", [_finding(c) for c in codes_]) == alert_dedupe_key(
        "p", "k", [_finding(c) for c in shuffled + shuffled]
    )
