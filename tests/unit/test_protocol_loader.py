"""The protocol loader: the shipped schedule, and errors a study team can act on."""

from __future__ import annotations

import hashlib
from datetime import time
from pathlib import Path

import pytest

from service.domain.protocol import (
    Anchor,
    CadenceKind,
    Offset,
    OffsetUnit,
    Questionnaire,
    QuietHours,
    RecordedEvent,
    SafetyRules,
    VisitKind,
)
from service.domain.protocol_loader import ProtocolError, load_protocol, parse_protocol

SCHEDULE = Path(__file__).resolve().parents[2] / "schedules" / "msc-role.toml"
SOURCE = "schedules/demo.toml"

MINIMAL = """
[study]
code = "DEMO"
name = "Demo study"
follow_up_months = 12

[[sites]]
code = "CUA"
name = "Clínica Universidad de los Andes"
timezone = "America/Santiago"
help_line = "+56226181000"

[[visits]]
code = "INF1"
name_key = "visit.infusion_1"
anchor = "baseline_infusion"
offset = { days = 0 }
window_before_days = 0
window_after_days = 0
kind = "infusion"

[[visits]]
code = "M1"
name_key = "visit.month_1"
anchor = "baseline_infusion"
offset = { months = 1 }
window_before_days = 6
window_after_days = 6
kind = "clinic"
shift_off_working_days = true

[[visits]]
code = "M2"
name_key = "visit.month_2"
anchor = "baseline_infusion"
offset = { months = 2 }
window_before_days = 7
window_after_days = 7
kind = "clinic"

[[visits]]
code = "INF2"
name_key = "visit.infusion_2"
anchor = "baseline_infusion"
offset = { months = 6 }
window_before_days = 7
window_after_days = 14
kind = "infusion"
anchors_second_infusion = true
attended_on = "infusion_2"

[[visits]]
code = "W7"
name_key = "visit.week_7"
anchor = "second_infusion"
offset = { weeks = 1 }
window_before_days = 2
window_after_days = 2
kind = "clinic"

[[reminders]]
code = "clinic_day_before"
visit_kind = "clinic"
days_before = 1
local_time = "18:00"
message_key = "reminder.clinic.day_before"

[quiet_hours]
start = "21:00"
end = "09:00"

[[checkins]]
code = "weekly"
questionnaire = "symptoms"
cadence = "weekly"
every = 1
message_key = "checkin.symptoms.weekly"

[[checkins]]
code = "post"
questionnaire = "symptoms"
cadence = "after_infusion"
days = 3
message_key = "checkin.symptoms.post_infusion"
expires_after_hours = 24

[[symptoms]]
number = 2
code = "chest_pain"
label_key = "symptom.chest_pain"
red_flag = true
emergency = true

[[symptoms]]
number = 1
code = "fever"
label_key = "symptom.fever"
asks_temperature = true

[safety]
fever_threshold_c = 38
alert_on_severity = "severe"
pregnancy_yes_alerts = true
escalate_after_minutes = 30
"""


def mutate(old: str, new: str) -> str:
    assert MINIMAL.count(old) == 1, f"fixture text {old!r} must occur exactly once"
    return MINIMAL.replace(old, new)


# ---------------------------------------------------------------- the shipped schedule


def test_shipped_schedule_loads() -> None:
    protocol = load_protocol(SCHEDULE)
    assert protocol.study_code == "MSC-ROLE"
    assert protocol.follow_up_months == 12
    assert protocol.source == str(SCHEDULE)
    assert protocol.revision == hashlib.sha256(SCHEDULE.read_bytes()).hexdigest()
    assert [(s.code, s.timezone) for s in protocol.sites] == [
        ("CUA", "America/Santiago"),
        ("HBLT", "America/Santiago"),
    ]
    assert protocol.site("HBLT").name == "Hospital Barros Luco Trudeau"
    assert [v.code for v in protocol.visits] == [
        *("SCR", "INF1", "CALL1", "W1", "M1", "M2", "M3", "M4", "M5", "INF2"),
        *("CALL2", "W7", "M7", "M8", "M9", "M10", "M11", "EOS"),
    ]
    assert [v.name_key for v in protocol.visits] == [
        *("visit.screening", "visit.infusion_1", "visit.call_1", "visit.week_1"),
        *(f"visit.month_{n}" for n in range(1, 6)),
        *("visit.infusion_2", "visit.call_2", "visit.week_7"),
        *(f"visit.month_{n}" for n in range(7, 12)),
        "visit.end_of_study",
    ]
    scr = protocol.visit("SCR")
    assert (scr.offset, scr.window_before_days, scr.window_after_days) == (
        Offset(-14, OffsetUnit.DAYS),
        14,
        13,
    )
    second = protocol.second_infusion_visit
    assert second.code == "INF2"
    assert second.anchor is Anchor.BASELINE_INFUSION
    assert (second.offset, second.window_before_days, second.window_after_days) == (
        Offset(6, OffsetUnit.MONTHS),
        7,
        14,
    )
    assert protocol.visit("M11").anchor is Anchor.SECOND_INFUSION
    assert protocol.visit("M11").offset == Offset(5, OffsetUnit.MONTHS)
    assert protocol.visit("EOS").offset == Offset(6, OffsetUnit.MONTHS)
    assert protocol.visit("CALL2").kind is VisitKind.PHONE
    assert not protocol.visit("CALL2").shift_off_working_days
    assert protocol.visit("W7").shift_off_working_days


def test_shipped_reminders_checkins_symptoms_safety() -> None:
    protocol = load_protocol(SCHEDULE)
    reminders = {r.message_key: r for r in protocol.reminders}
    assert len(reminders) == 6
    morning = reminders["reminder.infusion.morning"]
    assert (morning.days_before, morning.local_time, morning.use_preferred_time) == (
        0,
        time(9, 0),
        False,
    )
    assert reminders["reminder.clinic.day_before"].local_time == time(18, 0)
    assert reminders["reminder.phone.day_before"].visit_kind is VisitKind.PHONE
    assert protocol.quiet_hours == QuietHours(time(21, 0), time(9, 0))
    checkins = {c.code: c for c in protocol.checkins}
    post = next(c for c in checkins.values() if c.cadence is CadenceKind.AFTER_INFUSION)
    assert (post.days, post.expires_after_hours) == (3, 24)
    pregnancy = next(c for c in checkins.values() if c.questionnaire is Questionnaire.PREGNANCY)
    assert pregnancy.only_if_can_become_pregnant
    assert (pregnancy.cadence, pregnancy.every, pregnancy.expires_after_hours) == (
        CadenceKind.MONTHLY,
        1,
        72,
    )
    assert [s.number for s in protocol.symptoms] == list(range(1, 14))
    assert [s.code for s in protocol.symptoms] == [
        *("fever", "chills", "shortness_of_breath", "chest_pain", "rash", "swelling"),
        *("dark_urine", "less_urine", "nausea_vomiting", "diarrhea", "cough"),
        *("burning_urination", "other"),
    ]
    assert all(s.label_key == f"symptom.{s.code}" for s in protocol.symptoms)
    assert {s.code for s in protocol.symptoms if s.red_flag} == {
        "shortness_of_breath",
        "chest_pain",
        "less_urine",
    }
    assert {s.code for s in protocol.symptoms if s.emergency} == {
        "shortness_of_breath",
        "chest_pain",
    }
    assert {s.code for s in protocol.symptoms if s.asks_temperature} == {"fever"}
    assert protocol.safety == SafetyRules(
        38.0,
        "severe",
        True,
        30,
        pregnancy=protocol.safety.pregnancy,
        free_text=protocol.safety.free_text,
    )
    assert protocol.safety.pregnancy is not None and protocol.safety.free_text is not None
    assert {s.code for s in protocol.symptoms if s.concept} == {
        "fever",
        "shortness_of_breath",
        "chest_pain",
        "less_urine",
    }


@pytest.mark.parametrize(
    ("old", "new"),
    [("report_phrases", "says"), ("pregnancy_phrases", "pregnancy_says")],
)
def test_the_old_phrase_keys_are_refused_with_what_replaced_them(old: str, new: str) -> None:
    text = SCHEDULE.read_text(encoding="utf-8")
    table = "[safety]\n" if old.startswith("pregnancy") else 'code = "chills"\n'
    text = text.replace(table, f'{table}{old} = ["dolor de pecho"]\n', 1)
    with pytest.raises(ProtocolError, match=f'"{old}" is no longer read.*"{new}"'):
        parse_protocol(text, "msc-role.toml")


def test_the_shipped_infusion_visits_take_their_state_from_the_recorded_infusions() -> None:
    protocol = load_protocol(SCHEDULE)
    first = protocol.visit_attended_on(RecordedEvent.INFUSION_1)
    second = protocol.visit_attended_on(RecordedEvent.INFUSION_2)
    assert (first and first.code, second and second.code) == ("INF1", "INF2")
    assert [v.code for v in protocol.visits if v.attended_on] == ["INF1", "INF2"]


def test_readme_example_parses() -> None:
    readme = (SCHEDULE.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    protocol = parse_protocol(example, "schedules/README.md")
    assert protocol.second_infusion_visit.code == "INF2"


# ---------------------------------------------------------------- parsing


def test_minimal_file_parses_with_defaults() -> None:
    protocol = parse_protocol(MINIMAL, SOURCE)
    assert protocol.source == SOURCE
    assert protocol.visit("INF1").shift_off_working_days is False
    assert protocol.reminders[0].use_preferred_time is True
    weekly = protocol.checkins[0]
    assert (weekly.local_time, weekly.expires_after_hours, weekly.days) == (time(10, 0), 48, 0)
    assert [s.code for s in protocol.symptoms] == ["fever", "chest_pain"]  # sorted by number
    assert protocol.safety.fever_threshold_c == 38.0
    assert isinstance(protocol.safety.fever_threshold_c, float)


def test_revision_is_the_content_hash() -> None:
    first = parse_protocol(MINIMAL, SOURCE)
    assert first.revision == hashlib.sha256(MINIMAL.encode()).hexdigest()
    assert parse_protocol(MINIMAL, "elsewhere.toml").revision == first.revision
    assert parse_protocol(MINIMAL + "# a comment\n", SOURCE).revision != first.revision


def test_load_and_parse_agree(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    loaded = load_protocol(path)
    assert loaded == parse_protocol(MINIMAL, str(path))


def test_toml_local_time_is_accepted() -> None:
    protocol = parse_protocol(mutate('local_time = "18:00"', "local_time = 18:00:00"), SOURCE)
    assert protocol.reminders[0].local_time == time(18, 0)


# ---------------------------------------------------------------- errors

BAD_FILES = [
    # (old, new, entry, words the message must hold)
    (
        "window_before_days = 7\nwindow_after_days = 7",
        "window_before_days = -3\nwindow_after_days = 7",
        'visits[3] (code "M2")',
        ("window_before_days", ">= 0", "-3"),
    ),
    (
        "window_after_days = 6",
        "windw_after_days = 6",
        'visits[2] (code "M1")',
        ('unknown key "windw_after_days"', 'did you mean "window_after_days"'),
    ),
    (
        'name_key = "visit.month_2"\n',
        "",
        'visits[3] (code "M2")',
        ("missing", "name_key"),
    ),
    ('code = "M2"', 'code = "M1"', 'visits[3] (code "M1")', ("code", "already used", "visits[2]")),
    (
        'timezone = "America/Santiago"',
        'timezone = "America/Santiag0"',
        'sites[1] (code "CUA")',
        ("timezone", "IANA", "America/Santiag0"),
    ),
    (
        'help_line = "+56226181000"',
        'help_line = "+56 2 2618 1000"',
        'sites[1] (code "CUA")',
        ("help_line", "E.164"),
    ),
    (
        "offset = { months = 2 }",
        "offset = { years = 1 }",
        'visits[3] (code "M2")',
        ("offset", "years", "days, weeks, months"),
    ),
    (
        "offset = { months = 2 }",
        "offset = { months = 1, days = 30 }",
        'visits[3] (code "M2")',
        ("offset", "one of"),
    ),
    (
        "offset = { months = 2 }",
        "offset = { months = 1.5 }",
        'visits[3] (code "M2")',
        ("offset months", "whole number"),
    ),
    (
        "anchors_second_infusion = true\n",
        "",
        "visits",
        ("anchors_second_infusion = true", "none has it"),
    ),
    (
        'kind = "clinic"\nshift_off_working_days = true',
        'kind = "clinic"\nshift_off_working_days = true\nanchors_second_infusion = true',
        "visits",
        ("exactly one", "anchors_second_infusion", "found 2", "visits[2]", "visits[4]"),
    ),
    (
        'anchor = "baseline_infusion"\noffset = { months = 6 }',
        'anchor = "second_infusion"\noffset = { months = 6 }',
        'visits[4] (code "INF2")',
        ("anchors_second_infusion", 'anchor = "baseline_infusion"'),
    ),
    (
        'anchor = "second_infusion"\noffset = { weeks = 1 }',
        'anchor = "second_infusion"\noffset = { days = -3 }',
        'visits[5] (code "W7")',
        ("second_infusion", "window_before_days = 2", "at least 2 days"),
    ),
    (
        'anchor = "baseline_infusion"\noffset = { months = 2 }',
        'anchor = "first_infusion"\noffset = { months = 2 }',
        'visits[3] (code "M2")',
        ("anchor", '"baseline_infusion", "second_infusion"', "first_infusion"),
    ),
    (
        "window_before_days = 7\nwindow_after_days = 7",
        'window_before_days = "7"\nwindow_after_days = 7',
        'visits[3] (code "M2")',
        ("window_before_days", "integer", "'7'", "without quotes"),
    ),
    (
        "window_after_days = 7\n",
        "window_after_days = true\n",
        'visits[3] (code "M2")',
        ("window_after_days", "integer", "True"),
    ),
    (
        "shift_off_working_days = true",
        'shift_off_working_days = "yes"',
        'visits[2] (code "M1")',
        ("shift_off_working_days", "true or false"),
    ),
    (
        'visit_kind = "clinic"',
        'visit_kind = "lab"',
        'reminders[1] (code "clinic_day_before")',
        ("visit_kind", '"infusion", "clinic", "phone"', "lab"),
    ),
    (
        'local_time = "18:00"',
        'local_time = "7:30"',
        'reminders[1] (code "clinic_day_before")',
        ("local_time", "HH:MM", "7:30"),
    ),
    (
        'local_time = "18:00"',
        'local_time = "25:00"',
        'reminders[1] (code "clinic_day_before")',
        ("local_time", "HH:MM"),
    ),
    (
        'local_time = "18:00"',
        'local_time = "07:30"',
        'reminders[1] (code "clinic_day_before")',
        ("local_time 07:30", "quiet hours", "21:00-09:00"),
    ),
    (
        "days_before = 1",
        "days_before = -1",
        'reminders[1] (code "clinic_day_before")',
        ("days_before", ">= 0"),
    ),
    ('end = "09:00"', 'end = "21:00"', "quiet_hours", ("start and end", "differ")),
    ('end = "09:00"', 'end = "9am"', "quiet_hours", ("end", "HH:MM")),
    ("every = 1", "every = 0", 'checkins[1] (code "weekly")', ("every", ">= 1", "0")),
    (
        "every = 1",
        "every = 1\ndays = 3",
        'checkins[1] (code "weekly")',
        ("days has no effect", 'cadence = "weekly"', "remove it"),
    ),
    ("days = 3\n", "", 'checkins[2] (code "post")', ("missing", '"days"')),
    ("days = 3\n", "days = 0\n", 'checkins[2] (code "post")', ("days", ">= 1")),
    (
        'cadence = "weekly"',
        'cadence = "daily"',
        'checkins[1] (code "weekly")',
        ("cadence", '"weekly", "monthly", "after_infusion"'),
    ),
    (
        "expires_after_hours = 24",
        "expires_after_hours = 0",
        'checkins[2] (code "post")',
        ("expires_after_hours", ">= 1"),
    ),
    (
        'message_key = "checkin.symptoms.weekly"',
        'message_key = ""',
        'checkins[1] (code "weekly")',
        ("message_key", "non-empty"),
    ),
    (
        'message_key = "reminder.clinic.day_before"',
        'message_key = "Reminder Clinic"',
        'reminders[1] (code "clinic_day_before")',
        ("message_key", "dotted lowercase"),
    ),
    ("number = 2", "number = 3", 'symptoms[1] (code "chest_pain")', ("number", "1 and 2", "3")),
    ("number = 2", "number = 1", 'symptoms[2] (code "fever")', ("number 1", "already used")),
    (
        "red_flag = true\nemergency = true",
        "emergency = true",
        'symptoms[1] (code "chest_pain")',
        ("emergency", "red_flag"),
    ),
    (
        'alert_on_severity = "severe"',
        'alert_on_severity = "grave"',
        "safety",
        ("alert_on_severity", "mild, moderate, severe", "grave"),
    ),
    (
        "fever_threshold_c = 38",
        "fever_threshold_c = 380",
        "safety",
        ("fever_threshold_c", "between"),
    ),
    (
        'attended_on = "infusion_2"',
        'attended_on = "infusion_3"',
        'visits[4] (code "INF2")',
        ("attended_on", '"infusion_1"', '"infusion_2"'),
    ),
    (
        'kind = "clinic"\nshift_off_working_days = true',
        'kind = "clinic"\nshift_off_working_days = true\nattended_on = "infusion_2"',
        'visits[4] (code "INF2")',
        ('attended_on = "infusion_2"', "already on visit M1"),
    ),
    ("escalate_after_minutes = 30\n", "", "safety", ("missing", "escalate_after_minutes")),
    (
        "follow_up_months = 12",
        "follow_up_months = 0",
        "study",
        ("follow_up_months", ">= 1"),
    ),
    ("[quiet_hours]", "[quiet_hour]", "top level", ('unknown section "quiet_hour"', "quiet_hours")),
    ("[study]", "[[study]]", "top level", ("study", "must be a table")),
    ("[[reminders]]", "[reminders]", "top level", ("reminders", "[[reminders]]")),
    ('code = "DEMO"', 'code = "DEMO"\nname = "again"', "TOML syntax", ("line 5",)),
]


@pytest.mark.parametrize(("old", "new", "entry", "words"), BAD_FILES)
def test_bad_file_names_file_entry_and_field(
    old: str, new: str, entry: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(mutate(old, new), SOURCE)
    error = caught.value
    message = str(error)
    assert message.startswith(f"{SOURCE}: {entry}: "), message
    assert (error.source, error.entry) == (SOURCE, entry)
    assert message == f"{error.source}: {error.entry}: {error.problem}"
    for word in words:
        assert word in error.problem, message


def test_missing_sections() -> None:
    without_sites = MINIMAL.replace(
        MINIMAL[MINIMAL.index("[[sites]]") : MINIMAL.index("[[visits]]")], ""
    )
    with pytest.raises(ProtocolError, match=r'top level: missing required section "sites"'):
        parse_protocol(without_sites, SOURCE)
    with pytest.raises(ProtocolError, match=r"symptoms: a symptoms check-in"):
        parse_protocol(
            MINIMAL[: MINIMAL.index("[[symptoms]]")] + MINIMAL[MINIMAL.index("[safety]") :], SOURCE
        )


def test_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)


def test_load_refuses_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.encode("latin-1"))
    with pytest.raises(ProtocolError, match=r"latin1\.toml: file: is not UTF-8"):
        load_protocol(path)


def test_load_names_the_path_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(mutate("every = 1", "every = -1"), encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: checkins[1]")


def test_edc_raw_sms_text_defaults_to_nothing() -> None:
    assert parse_protocol(MINIMAL, SOURCE).edc.raw_sms_text == frozenset()


def test_shipped_edc_section() -> None:
    from service.domain.protocol import EdcRawText

    assert load_protocol(SCHEDULE).edc.raw_sms_text == {EdcRawText.SYMPTOMS}


@pytest.mark.parametrize(
    ("edc", "problem"),
    [
        ('raw_sms_text = ["symptom"]', "raw_sms_text must be a list of symptoms, pregnancy"),
        ('raw_sms_text = "symptoms"', "raw_sms_text must be a list"),
        ("raw_text = []", 'unknown key "raw_text"'),
    ],
)
def test_bad_edc_section(edc: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem) as info:
        parse_protocol(MINIMAL + f"\n[edc]\n{edc}\n", SOURCE)
    assert info.value.entry == "edc"


@pytest.mark.parametrize(
    ("budget", "problem"),
    [
        ("[daily_budget]\nmax_per_day = 0\nmin_gap_minutes = 120\n", ">= 1"),
        ("[daily_budget]\nmax_per_day = 2\nmin_gap_minutes = 900\n", "at most 720"),
        ('[daily_budget]\nmax_per_day = 2\nmin_gap_minutes = 0\npriority = ["nope"]\n', "nope"),
        ("[daily_budget]\nmax_per_day = 2\n", "min_gap_minutes"),
    ],
)
def test_a_bad_daily_budget_stops_start_up_naming_it(budget: str, problem: str) -> None:
    text = SCHEDULE.read_text(encoding="utf-8")
    start = text.index("[daily_budget]")
    end = text.index("# ----", start)
    with pytest.raises(ProtocolError, match=problem) as raised:
        parse_protocol(text[:start] + budget + text[end:], "msc-role.toml")
    assert "daily_budget" in str(raised.value)
