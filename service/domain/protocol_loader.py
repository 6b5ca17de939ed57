"""Read ``schedules/*.toml`` into a validated :class:`~service.domain.protocol.Protocol`.

The study team edits the protocol file by hand, without a developer at their side, so
every mistake must stop start-up with one line that names the file, the entry and the
fix (``schedules/msc-role.toml: visits[6] (code "M2"): window_before_days must be an
integer >= 0, got -3``). Unknown keys are refused rather than ignored: a typo such as
``windw_after_days`` would otherwise silently fall back to a default and move a visit
window in a clinical trial. Entries are counted from 1 in the order they appear.

``load_protocol`` does the single read; everything else is pure. ``revision`` is the
SHA-256 of the file's bytes, so any edit (even a comment) changes it and the service
re-plans pending messages. The key reference lives in ``schedules/README.md``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.domain.protocol import (
    Anchor,
    CadenceKind,
    CheckinDefinition,
    EdcOptions,
    EdcRawText,
    Offset,
    OffsetUnit,
    Protocol,
    Questionnaire,
    QuietHours,
    RecordedEvent,
    ReminderRule,
    SafetyRules,
    Site,
    Symptom,
    VisitDefinition,
    VisitKind,
)
from service.domain.protocol_concepts import check_unique_concepts, concept, free_text
from service.domain.protocol_entry import ProtocolError, TableEntry, is_int
from service.domain.protocol_extras import daily_budget

__all__ = ["ProtocolError", "load_protocol", "parse_protocol"]

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_VISIT_REQUIRED = (
    "code",
    "name_key",
    "anchor",
    "offset",
    "window_before_days",
    "window_after_days",
    "kind",
)
_SEVERITIES = ("mild", "moderate", "severe")
# Shortest possible length of n months (28 days each) when checking that a window
# anchored on the second infusion cannot open before that infusion.
_MIN_DAYS_PER_UNIT = {OffsetUnit.DAYS: 1, OffsetUnit.WEEKS: 7, OffsetUnit.MONTHS: 28}


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate one protocol file (the only I/O in this module)."""
    source = str(path)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            source, "file", f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc
    return parse_protocol(text, source)


def parse_protocol(text: str, source: str) -> Protocol:
    """Validate protocol TOML ``text``; ``source`` only names the file in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, "TOML syntax", f"{exc}; fix the TOML syntax") from exc
    top = TableEntry(source, "top level", doc)
    top.check_keys(
        required=("study", "sites", "visits", "quiet_hours", "safety"),
        optional=("reminders", "checkins", "symptoms", "edc", "daily_budget"),
        what="section",
    )
    study = TableEntry(source, "study", top.subtable("study"))
    study.check_keys(required=("code", "name", "follow_up_months"))
    sites = _unique(source, [_site(e) for e in top.entries("sites", required=True)])
    visits = _unique(source, [_visit(e) for e in top.entries("visits", required=True)])
    _check_second_infusion(source, visits)
    _check_attended_on(visits)
    quiet = _quiet_hours(TableEntry(source, "quiet_hours", top.subtable("quiet_hours")))
    reminders = _unique(source, [_reminder(e) for e in top.entries("reminders")])
    checkins = _unique(source, [_checkin(e) for e in top.entries("checkins")])
    symptoms = _symptoms(source, [_symptom(e) for e in top.entries("symptoms")])
    _check_outside_quiet_hours([*reminders, *checkins], quiet)
    if symptoms == () and any(c.questionnaire == Questionnaire.SYMPTOMS for _, c in checkins):
        raise ProtocolError(
            source, "symptoms", "a symptoms check-in is defined but no [[symptoms]] are listed"
        )
    safety = _safety(TableEntry(source, "safety", top.subtable("safety")))
    check_unique_concepts(symptoms, safety, lambda name, problem: _fail(source, name, problem))
    budget = None
    if "daily_budget" in top.table:
        codes = {r.code for _, r in reminders} | {c.code for _, c in checkins}
        budget = daily_budget(
            TableEntry(source, "daily_budget", top.subtable("daily_budget")), codes
        )
    return Protocol(
        study_code=study.code("code"),
        study_name=study.text("name"),
        source=source,
        revision=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        sites=tuple(s for _, s in sites),
        visits=tuple(v for _, v in visits),
        reminders=tuple(r for _, r in reminders),
        quiet_hours=quiet,
        checkins=tuple(c for _, c in checkins),
        symptoms=symptoms,
        safety=safety,
        follow_up_months=study.integer("follow_up_months", minimum=1),
        edc=_edc(TableEntry(source, "edc", top.subtable("edc"))) if "edc" in doc else EdcOptions(),
        daily_budget=budget,
    )


def _unique(source: str, items: list[tuple[TableEntry, Any]]) -> list[tuple[TableEntry, Any]]:
    seen: dict[str, str] = {}
    for entry, item in items:
        if item.code in seen:
            raise ProtocolError(
                source,
                entry.name,
                f'code "{item.code}" is already used by {seen[item.code]}; codes must be unique',
            )
        seen[item.code] = entry.name
    return items


def _site(e: TableEntry) -> tuple[TableEntry, Site]:
    e.check_keys(required=("code", "name", "timezone", "help_line"))
    zone = e.text("timezone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        e.fail(f'timezone must be an IANA time zone such as "America/Santiago", got {zone!r}')
    help_line = e.text("help_line")
    if not _E164.fullmatch(help_line):
        e.fail(
            "help_line must be E.164: + then country code and number, no spaces "
            f'(e.g. "+56226181000"), got {help_line!r}'
        )
    return e, Site(code=e.code("code"), name=e.text("name"), timezone=zone, help_line=help_line)


def _offset(e: TableEntry) -> Offset:
    raw = e.table.get("offset")
    units = ", ".join(u.value for u in OffsetUnit)
    if not isinstance(raw, dict) or len(raw) != 1:
        e.fail(
            f"offset must be an inline table with one of {units}, e.g. offset = {{ months = 3 }}"
        )
    ((unit, amount),) = raw.items()
    if unit not in {u.value for u in OffsetUnit}:
        e.fail(f'offset unit must be one of {units}, got "{unit}"')
    if not is_int(amount):
        e.fail(f"offset {unit} must be a whole number, got {amount!r}")
    return Offset(amount=amount, unit=OffsetUnit(unit))


def _visit(e: TableEntry) -> tuple[TableEntry, VisitDefinition]:
    e.check_keys(
        required=_VISIT_REQUIRED,
        optional=("shift_off_working_days", "anchors_second_infusion", "attended_on"),
    )
    attended_on = e.enum("attended_on", RecordedEvent) if "attended_on" in e.table else None
    return e, VisitDefinition(
        code=e.code("code"),
        name_key=e.message_key("name_key"),
        anchor=e.enum("anchor", Anchor),
        offset=_offset(e),
        window_before_days=e.integer("window_before_days", minimum=0),
        window_after_days=e.integer("window_after_days", minimum=0),
        kind=e.enum("kind", VisitKind),
        shift_off_working_days=e.boolean("shift_off_working_days", default=False),
        anchors_second_infusion=e.boolean("anchors_second_infusion", default=False),
        attended_on=attended_on,
    )


def _check_attended_on(visits: list[tuple[TableEntry, VisitDefinition]]) -> None:
    """One visit per recorded event: the event's date cannot be two visits' attendance."""
    seen: dict[RecordedEvent, str] = {}
    for e, v in visits:
        if v.attended_on is None:
            continue
        if v.attended_on in seen:
            e.fail(f'attended_on = "{v.attended_on}" is already on visit {seen[v.attended_on]}')
        seen[v.attended_on] = v.code


def _check_second_infusion(source: str, visits: list[tuple[TableEntry, VisitDefinition]]) -> None:
    marked = [(e, v) for e, v in visits if v.anchors_second_infusion]
    if len(marked) != 1:
        found = (
            f"found {len(marked)}: " + ", ".join(e.name for e, _ in marked)
            if marked
            else "none has it"
        )
        raise ProtocolError(
            source,
            "visits",
            "exactly one visit, the planned second infusion, must have "
            f"anchors_second_infusion = true; {found}",
        )
    entry, second = marked[0]
    if second.anchor != Anchor.BASELINE_INFUSION:
        entry.fail('anchors_second_infusion = true needs anchor = "baseline_infusion"')
    if second.kind != VisitKind.INFUSION:
        entry.fail('anchors_second_infusion = true needs kind = "infusion"')
    for e, v in visits:
        if v.anchor != Anchor.SECOND_INFUSION:
            continue
        # Until the infusion happens its date is a guess, so a window that may open
        # before it could be attended before the date it is counted from.
        if v.offset.amount * _MIN_DAYS_PER_UNIT[v.offset.unit] < v.window_before_days:
            e.fail(
                "a visit anchored on second_infusion must not open before that infusion: "
                f"with window_before_days = {v.window_before_days} the offset must be at least "
                f"{v.window_before_days} days"
            )


def _reminder(e: TableEntry) -> tuple[TableEntry, ReminderRule]:
    e.check_keys(
        required=("code", "visit_kind", "days_before", "local_time", "message_key"),
        optional=("use_preferred_time",),
    )
    return e, ReminderRule(
        code=e.code("code"),
        visit_kind=e.enum("visit_kind", VisitKind),
        days_before=e.integer("days_before", minimum=0),
        local_time=e.clock("local_time"),
        message_key=e.message_key("message_key"),
        use_preferred_time=e.boolean("use_preferred_time", default=True),
    )


def _quiet_hours(e: TableEntry) -> QuietHours:
    e.check_keys(required=("start", "end"))
    start, end = e.clock("start"), e.clock("end")
    if start == end:
        e.fail("start and end must differ (equal times would make quiet hours ambiguous)")
    return QuietHours(start=start, end=end)


def _in_quiet_hours(at: time, quiet: QuietHours) -> bool:
    if quiet.start < quiet.end:
        return quiet.start <= at < quiet.end
    return at >= quiet.start or at < quiet.end


def _check_outside_quiet_hours(rules: list[tuple[TableEntry, Any]], quiet: QuietHours) -> None:
    """A fixed hour inside quiet hours would always be deferred: almost surely a typo."""
    for entry, rule in rules:
        if _in_quiet_hours(rule.local_time, quiet):
            entry.fail(
                f"local_time {rule.local_time:%H:%M} falls in quiet hours "
                f"({quiet.start:%H:%M}-{quiet.end:%H:%M}) and would never be sent then; "
                f"pick a time from {quiet.end:%H:%M} to before {quiet.start:%H:%M}"
            )


def _checkin(e: TableEntry) -> tuple[TableEntry, CheckinDefinition]:
    base = ("code", "questionnaire", "cadence", "message_key")
    common = ("local_time", "expires_after_hours", "only_if_can_become_pregnant")
    cadence = e.enum("cadence", CadenceKind)
    # `every` means nothing to after_infusion and `days` nothing to weekly/monthly;
    # refusing them keeps a reader from believing they have an effect.
    unused = "every" if cadence == CadenceKind.AFTER_INFUSION else "days"
    if unused in e.table:
        e.fail(f'{unused} has no effect with cadence = "{cadence}"; remove it')
    if cadence == CadenceKind.AFTER_INFUSION:
        e.check_keys(required=(*base, "days"), optional=common)
    else:
        e.check_keys(required=base, optional=(*common, "every"))
    return e, CheckinDefinition(
        code=e.code("code"),
        questionnaire=e.enum("questionnaire", Questionnaire),
        cadence=cadence,
        message_key=e.message_key("message_key"),
        every=e.integer("every", minimum=1, default=1),
        days=e.integer("days", minimum=1, default=0) if cadence == "after_infusion" else 0,
        local_time=e.clock("local_time", default=time(10, 0)),
        expires_after_hours=e.integer("expires_after_hours", minimum=1, default=48),
        only_if_can_become_pregnant=e.boolean("only_if_can_become_pregnant", default=False),
    )


def _symptom(e: TableEntry) -> tuple[TableEntry, Symptom]:
    e.check_keys(
        required=("number", "code", "label_key"),
        optional=(
            "red_flag",
            "emergency",
            "asks_temperature",
            "says",
            "hints",
            "unless",
        ),
    )
    symptom = Symptom(
        code=e.code("code"),
        number=e.integer("number", minimum=1),
        label_key=e.message_key("label_key"),
        red_flag=e.boolean("red_flag", default=False),
        emergency=e.boolean("emergency", default=False),
        asks_temperature=e.boolean("asks_temperature", default=False),
        concept=concept(e),
    )
    if symptom.emergency and not symptom.red_flag:
        e.fail("emergency = true needs red_flag = true (an emergency always alerts the team)")
    return e, symptom


def _symptoms(source: str, items: list[tuple[TableEntry, Symptom]]) -> tuple[Symptom, ...]:
    """Symptoms sorted by number, which must run 1..N: participants type them by SMS."""
    _unique(source, items)
    by_number: dict[int, str] = {}
    for entry, symptom in items:
        if symptom.number in by_number:
            entry.fail(f"number {symptom.number} is already used by {by_number[symptom.number]}")
        if symptom.number > len(items):
            entry.fail(
                f"number must be between 1 and {len(items)} (numbers run 1..N without gaps), "
                f"got {symptom.number}"
            )
        by_number[symptom.number] = entry.name
    return tuple(sorted((s for _, s in items), key=lambda s: s.number))


def _safety(e: TableEntry) -> SafetyRules:
    e.check_keys(
        required=(
            "fever_threshold_c",
            "alert_on_severity",
            "pregnancy_yes_alerts",
            "escalate_after_minutes",
        ),
        optional=(
            "pregnancy_says",
            "pregnancy_hints",
            "pregnancy_unless",
            "free_text",
        ),
    )
    fever = e.number("fever_threshold_c")
    if not 37.0 <= fever <= 41.0:
        e.fail(f"fever_threshold_c must be between 37.0 and 41.0 (°C), got {fever}")
    severity = e.text("alert_on_severity")
    if severity not in _SEVERITIES:
        e.fail(f"alert_on_severity must be one of {', '.join(_SEVERITIES)}, got {severity!r}")
    return SafetyRules(
        fever_threshold_c=fever,
        alert_on_severity=severity,
        pregnancy_yes_alerts=e.boolean("pregnancy_yes_alerts"),
        escalate_after_minutes=e.integer("escalate_after_minutes", minimum=1),
        pregnancy=concept(e, "pregnancy_"),
        free_text=(
            free_text(TableEntry(e.source, "safety.free_text", e.subtable("free_text")))
            if "free_text" in e.table
            else None
        ),
    )


def _edc(e: TableEntry) -> EdcOptions:
    e.check_keys(required=(), optional=("raw_sms_text",))
    raw = e.table.get("raw_sms_text", [])
    allowed = [m.value for m in EdcRawText]
    if not isinstance(raw, list) or any(item not in allowed for item in raw):
        e.fail(f"raw_sms_text must be a list of {', '.join(allowed)}, got {raw!r}")
    return EdcOptions(raw_sms_text=frozenset(EdcRawText(item) for item in raw))


def _fail(source: str, name: str, problem: str) -> NoReturn:
    raise ProtocolError(source, name, problem)
