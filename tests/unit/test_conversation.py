from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.conversation import (
    MAX_CLARIFICATIONS,
    Awaiting,
    ConversationState,
    Outgoing,
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    Step,
    SymptomAnswers,
    advance,
    is_expired,
    start_conversation,
)
from service.domain.protocol import Questionnaire
from tests.support.symptom_fixtures import EXPIRES, SYMPTOMS, T0

LATER = T0 + timedelta(minutes=5)


def symptoms_state() -> ConversationState:
    return start_conversation(Questionnaire.SYMPTOMS, "weekly:2025-03-03", T0, EXPIRES)


def pregnancy_state() -> ConversationState:
    return start_conversation(Questionnaire.PREGNANCY, "pregnancy:2025-03", T0, EXPIRES)


def run(state: ConversationState, *replies: str) -> list[Step]:
    """Feed replies one by one; stop early if the conversation ends."""
    steps: list[Step] = []
    current: ConversationState | None = state
    for reply in replies:
        assert current is not None, "conversation ended before all replies were sent"
        step = advance(current, reply, LATER, SYMPTOMS)
        steps.append(step)
        current = step.state
    return steps


def keys(step: Step) -> list[str]:
    return [o.message_key for o in step.outgoing]


def severity_question(code: str) -> Outgoing:
    return Outgoing("checkin.symptoms.severity", key_params={"symptom": f"symptom.{code}"})


# --- starting ---------------------------------------------------------------------------


def test_start_symptoms_waits_for_choices() -> None:
    state = symptoms_state()
    assert state.step is Awaiting.SYMPTOM_CHOICES
    assert state.started_at == T0 and state.expires_at == EXPIRES
    assert state.clarifications_used == 0 and state.pending == () and state.collected == ()


def test_start_pregnancy_waits_for_yes_no() -> None:
    assert pregnancy_state().step is Awaiting.PREGNANCY


def test_start_refuses_naive_or_backwards_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        start_conversation(Questionnaire.SYMPTOMS, "k", datetime(2025, 3, 3), EXPIRES)
    with pytest.raises(ValueError, match="expire"):
        start_conversation(Questionnaire.SYMPTOMS, "k", T0, T0)


# --- symptoms ---------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["0", "NINGUNO", "ninguna.", "nada", "No"])
def test_none_finishes_at_once(reply: str) -> None:
    (step,) = run(symptoms_state(), reply)
    assert step.finished and not step.handoff
    assert step.answers == SymptomAnswers(())
    assert keys(step) == ["checkin.thanks"]


def test_single_symptom_without_temperature() -> None:
    first, second = run(symptoms_state(), "11", "2")
    assert first.outgoing == (severity_question("cough"),)
    assert first.state is not None and first.state.step is Awaiting.SEVERITY
    assert second.finished
    assert second.answers == SymptomAnswers((ReportedSymptom("cough", Severity.MODERATE),))
    assert keys(second) == ["checkin.thanks"]


def test_fever_and_chest_pain_in_number_order_with_temperature() -> None:
    steps = run(symptoms_state(), "4, 1", "2", "38,5", "3")
    assert steps[0].outgoing == (severity_question("fever"),)  # 1 before 4
    assert keys(steps[1]) == ["checkin.symptoms.temperature"]
    assert steps[1].state is not None and steps[1].state.step is Awaiting.TEMPERATURE
    assert steps[2].outgoing == (severity_question("chest_pain"),)
    last = steps[3]
    assert last.finished
    assert last.answers == SymptomAnswers(
        (
            ReportedSymptom("fever", Severity.MODERATE, 38.5),
            ReportedSymptom("chest_pain", Severity.SEVERE, None),
        )
    )


def test_temperature_not_measured() -> None:
    steps = run(symptoms_state(), "1", "leve", "no")
    assert steps[-1].answers == SymptomAnswers((ReportedSymptom("fever", Severity.MILD, None),))


def test_severe_symptom_is_recorded_as_severe() -> None:
    steps = run(symptoms_state(), "9", "severo")
    assert steps[-1].answers == SymptomAnswers(
        (ReportedSymptom("nausea_vomiting", Severity.SEVERE),)
    )


def test_level_words_are_asked_again_then_a_number_answers() -> None:
    steps = run(symptoms_state(), "10", "baja", "1")
    assert keys(steps[1]) == ["checkin.clarify.severity"]
    assert steps[-1].answers == SymptomAnswers((ReportedSymptom("diarrhea", Severity.MILD),))


# --- clarifications and handoff --------------------------------------------------------


def test_one_garbled_reply_gets_a_clarification_then_continues() -> None:
    first, second = run(symptoms_state(), "hola", "1 4")
    assert keys(first) == ["checkin.clarify.symptoms"]
    assert first.state is not None and first.state.clarifications_used == 1
    assert second.state is not None and second.state.clarifications_used == 0
    assert second.outgoing == (severity_question("fever"),)


def test_garbled_twice_then_handoff() -> None:
    steps = run(symptoms_state(), "hola", "no entiendo", "???x")
    assert [keys(s) for s in steps] == [
        ["checkin.clarify.symptoms"],
        ["checkin.clarify.symptoms"],
        ["inbound.received"],
    ]
    assert [s.handoff for s in steps] == [False, False, True]
    assert steps[-1].finished and steps[-1].answers is None
    assert MAX_CLARIFICATIONS == 2


@pytest.mark.parametrize(
    ("replies", "clarify_key"),
    [
        (("11", "x", "x", "x"), "checkin.clarify.severity"),
        (("1", "2", "caliente", "x", "x"), "checkin.clarify.temperature"),
    ],
)
def test_each_question_has_its_clarification(replies: tuple[str, ...], clarify_key: str) -> None:
    steps = run(symptoms_state(), *replies)
    assert keys(steps[-3]) == [clarify_key]
    assert keys(steps[-2]) == [clarify_key]
    assert steps[-1].handoff


def test_clarifications_count_per_question() -> None:
    # One typo on each of three questions is progress, not confusion.
    steps = run(symptoms_state(), "x", "1,11", "x", "2", "x", "37", "x", "1")
    assert not any(s.handoff for s in steps)
    assert steps[-1].answers == SymptomAnswers(
        (
            ReportedSymptom("fever", Severity.MODERATE, 37.0),
            ReportedSymptom("cough", Severity.MILD),
        )
    )


def test_handoff_mid_symptoms_keeps_what_was_understood() -> None:
    steps = run(symptoms_state(), "1,3,9", "3", "40", "x", "x", "x")
    last = steps[-1]
    assert last.handoff and last.finished
    assert last.answers == SymptomAnswers(
        (
            ReportedSymptom("fever", Severity.SEVERE, 40.0),
            ReportedSymptom("shortness_of_breath", None),
            ReportedSymptom("nausea_vomiting", None),
        ),
        complete=False,
    )


def test_snapshot_knows_red_flags_as_soon_as_chosen() -> None:
    assert symptoms_state().snapshot() is None
    (step,) = run(symptoms_state(), "1 4")
    assert step.state is not None
    assert step.state.snapshot() == SymptomAnswers(
        (ReportedSymptom("fever", None), ReportedSymptom("chest_pain", None)), complete=False
    )
    steps = run(symptoms_state(), "1 4", "3")
    assert steps[-1].state is not None
    snapshot = steps[-1].state.snapshot()
    assert snapshot is not None
    assert snapshot.symptoms[0] == ReportedSymptom("fever", Severity.SEVERE)


# --- pregnancy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "pregnant"),
    [("SI", True), ("sí", True), ("Si.", True), ("no", False), ("No estoy embarazada", False)],
)
def test_pregnancy_answer(reply: str, pregnant: bool) -> None:
    (step,) = run(pregnancy_state(), reply)
    assert step.finished
    assert step.answers == PregnancyAnswer(pregnant)
    assert keys(step) == ["checkin.thanks"]


def test_pregnancy_garbled_twice_then_handoff() -> None:
    steps = run(pregnancy_state(), "no se", "quizas", "mmm")
    assert [keys(s) for s in steps] == [
        ["checkin.clarify.yes_no"],
        ["checkin.clarify.yes_no"],
        ["inbound.received"],
    ]
    assert steps[-1].handoff and steps[-1].answers is None


# --- expiry -----------------------------------------------------------------------------


def test_expiry() -> None:
    state = symptoms_state()
    assert not is_expired(state, EXPIRES - timedelta(seconds=1))
    assert is_expired(state, EXPIRES)
    # Same instant seen from Santiago is the same answer.
    assert is_expired(state, EXPIRES.astimezone(ZoneInfo("America/Santiago")))
    step = advance(state, "1", EXPIRES + timedelta(minutes=1), SYMPTOMS)
    assert step.expired and step.finished and step.answers is None
    assert keys(step) == ["checkin.late"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        advance(symptoms_state(), "0", datetime(2025, 3, 3, 12), SYMPTOMS)


def test_symptom_removed_from_protocol_is_reported() -> None:
    (step,) = run(symptoms_state(), "11")
    assert step.state is not None
    without_cough = tuple(s for s in SYMPTOMS if s.code != "cough")
    with pytest.raises(ValueError, match="cough"):
        advance(step.state, "2", LATER, without_cough)


def test_advance_does_not_mutate_the_state() -> None:
    state = symptoms_state()
    before = state.to_dict()
    advance(state, "1 4", LATER, SYMPTOMS)
    advance(state, "garbage", LATER, SYMPTOMS)
    assert state.to_dict() == before


# --- serialisation ----------------------------------------------------------------------


def roundtrip(state: ConversationState) -> ConversationState:
    return ConversationState.from_dict(json.loads(json.dumps(state.to_dict())))


def test_every_state_of_a_conversation_roundtrips_through_json() -> None:
    steps = run(symptoms_state(), "x", "1,3", "2", "38,5", "x")
    for step in steps:
        assert step.state is not None
        assert roundtrip(step.state) == step.state
    assert roundtrip(pregnancy_state()) == pregnancy_state()


def test_conversation_continues_after_roundtrip() -> None:
    (first,) = run(symptoms_state(), "1")
    assert first.state is not None
    restored = roundtrip(first.state)
    second = advance(restored, "3", LATER, SYMPTOMS)
    assert second.state is not None
    third = advance(roundtrip(second.state), "39", LATER, SYMPTOMS)
    assert third.answers == SymptomAnswers((ReportedSymptom("fever", Severity.SEVERE, 39.0),))


def test_to_dict_stores_utc() -> None:
    santiago = ZoneInfo("America/Santiago")
    state = start_conversation(
        Questionnaire.SYMPTOMS, "k", T0.astimezone(santiago), EXPIRES.astimezone(santiago)
    )
    data = state.to_dict()
    assert data["started_at"] == "2025-03-03T13:00:00+00:00"
    assert state.started_at.tzinfo is UTC
    assert roundtrip(state) == state


def test_ambiguous_local_time_roundtrips() -> None:
    # 2024-04-06 23:30 happened twice in Santiago (clocks went back at midnight).
    ambiguous = datetime(2024, 4, 6, 23, 30, fold=1, tzinfo=ZoneInfo("America/Santiago"))
    state = start_conversation(Questionnaire.SYMPTOMS, "k", ambiguous, ambiguous + timedelta(1))
    assert state.started_at == datetime(2024, 4, 7, 3, 30, tzinfo=UTC)
    assert roundtrip(state) == state


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(version=99),
        lambda d: d.pop("step"),
        lambda d: d.update(step="dance"),
        lambda d: d.update(started_at="2025-03-03T13:00:00"),  # naive
        lambda d: d.update(clarifications_used=7),
        lambda d: d.update(clarifications_used=True),
        lambda d: d.update(pending="fever"),
        lambda d: d.update(step="severity"),  # severity with nothing pending
        lambda d: d.update(questionnaire="pregnancy"),  # pregnancy awaiting choices
        lambda d: d.update(collected=[{"code": "fever", "severity": "extreme"}]),
        lambda d: d.update(occurrence_key=""),
    ],
)
def test_from_dict_refuses_malformed(mutate: object) -> None:
    data = symptoms_state().to_dict()
    assert callable(mutate)
    mutate(data)
    with pytest.raises(ValueError):
        ConversationState.from_dict(data)


_codes = st.sampled_from([s.code for s in SYMPTOMS])
_moments = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from([UTC, ZoneInfo("America/Santiago"), ZoneInfo("Pacific/Easter")]),
)
_reported = st.builds(
    ReportedSymptom,
    code=_codes,
    severity=st.none() | st.sampled_from(Severity),
    temperature_c=st.none() | st.floats(min_value=34, max_value=43, allow_nan=False),
)


@st.composite
def states(draw: st.DrawFn) -> ConversationState:
    started = draw(_moments)
    # Added in absolute time: wall-clock addition across a fall-back (Santiago, Easter)
    # can land before ``started``, which no stored state (always UTC) ever does.
    lasting = draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=7)))
    expires = (started.astimezone(UTC) + lasting).astimezone(started.tzinfo)
    step = draw(st.sampled_from(Awaiting))
    on_symptom = step in (Awaiting.SEVERITY, Awaiting.TEMPERATURE)
    return ConversationState(
        questionnaire=(
            Questionnaire.PREGNANCY if step is Awaiting.PREGNANCY else Questionnaire.SYMPTOMS
        ),
        occurrence_key=draw(st.text(min_size=1, max_size=40)),
        step=step,
        started_at=started,
        expires_at=expires,
        pending=tuple(draw(st.lists(_codes, min_size=1, max_size=5))) if on_symptom else (),
        current_severity=draw(st.sampled_from(Severity)) if step is Awaiting.TEMPERATURE else None,
        collected=tuple(draw(st.lists(_reported, max_size=5))) if on_symptom else (),
        clarifications_used=draw(st.integers(0, MAX_CLARIFICATIONS)),
    )


@given(states())
def test_any_state_roundtrips_through_json(state: ConversationState) -> None:
    assert roundtrip(state) == state


@given(states(), st.text(max_size=30))
def test_advance_is_total_on_any_reply(state: ConversationState, reply: str) -> None:
    step = advance(state, reply, state.started_at, SYMPTOMS)
    assert step.outgoing
    if step.state is not None:
        assert roundtrip(step.state) == step.state
    else:
        assert keys(step)[0] in {"checkin.thanks", "inbound.received"}
