"""The message registry and the gettext catalogs agree, are complete and fit in SMS.

These are the CI gates for text: drift between source and catalogs, untranslated or
fuzzy entries, obsolete entries, placeholder mismatches, missing keys, and the SMS
length budget of every reminder with the longest realistic values.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from service.adapters.i18n import (
    LANGUAGES,
    CatalogError,
    catalog_problems,
    load_renderer,
    load_translations,
    locales_dir,
    po_path,
    read_catalog,
)
from service.domain.protocol_loader import load_protocol
from service.domain.sms_encoding import prepare_for_sms
from service.domain.text_render import Renderer, format_local_date
from service.domain.texts import (
    LABEL_KEYS,
    MESSAGES,
    PREFIX,
    REMINDER_KEYS,
    SEVERITY_LABEL_KEYS,
    SYMPTOM_LABEL_KEYS,
    VISIT_NAME_KEYS,
    placeholders,
)

REPO = Path(__file__).resolve().parents[2]
LOCALES = REPO / "locales"

REMINDER = frozenset({"visit", "date", "site", "help_line"})
NONE: frozenset[str] = frozenset()
VISITS = (
    *("screening", "infusion_1", "call_1", "week_1"),
    *(f"month_{n}" for n in range(1, 6)),
    *("infusion_2", "call_2", "week_7"),
    *(f"month_{n}" for n in range(7, 12)),
    "end_of_study",
)
SYMPTOMS = (
    *("fever", "chills", "shortness_of_breath", "chest_pain", "rash", "swelling"),
    *("dark_urine", "less_urine", "nausea_vomiting", "diarrhea", "cough"),
    *("burning_urination", "other"),
)

# The team brief's list of keys and their placeholders, restated.
EXPECTED: dict[str, frozenset[str]] = {
    **{f"visit.{v}": NONE for v in VISITS},
    "reminder.clinic.week_before": REMINDER,
    "reminder.clinic.day_before": REMINDER,
    "reminder.infusion.week_before": REMINDER,
    "reminder.infusion.day_before": REMINDER,
    "reminder.infusion.morning": REMINDER,
    "reminder.phone.day_before": REMINDER,
    "checkin.symptoms.weekly": NONE,
    "checkin.symptoms.post_infusion": frozenset({"day"}),
    "checkin.symptoms.on_demand": NONE,
    "checkin.symptoms.severity": frozenset({"symptom"}),
    "checkin.symptoms.temperature": NONE,
    "checkin.pregnancy.prompt": NONE,
    "checkin.clarify.symptoms": NONE,
    "checkin.clarify.severity": NONE,
    "checkin.clarify.temperature": NONE,
    "checkin.clarify.yes_no": NONE,
    "checkin.thanks": NONE,
    "checkin.late": NONE,
    "inbound.received": frozenset({"help_line"}),
    "optout.confirm": NONE,
    "optin.confirm": NONE,
    "whatsapp.opt_in": NONE,
    "help.reply": frozenset({"site", "help_line"}),
    "visit.confirmed": frozenset({"visit", "date"}),
    "safety.contact_team": frozenset({"help_line"}),
    "safety.emergency": frozenset({"help_line"}),
    "alert.oncall": frozenset({"study_id", "site", "summary"}),
    "alert.escalated": frozenset({"study_id", "site", "summary"}),
    "otp.code": frozenset({"code"}),
    **{f"symptom.{s}": NONE for s in SYMPTOMS},
    "severity.mild": NONE,
    "severity.moderate": NONE,
    "severity.severe": NONE,
    "finding.pregnancy_yes": NONE,
}

SITES = ("Hospital Barros Luco Trudeau", "Clínica Universidad de los Andes")
HELP_LINE = "+56226181000"
MAX_SEGMENTS = 2


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return load_renderer(LOCALES)


def _longest_date(language: str) -> str:
    """The longest weekday + day + month rendering over two years (every combination)."""
    start = date(2027, 1, 1)
    days = (start + timedelta(days=n) for n in range(731))
    return max((format_local_date(d, language) for d in days), key=len)


# --- the registry ------------------------------------------------------------------


def test_registry_has_exactly_the_briefed_keys_and_placeholders() -> None:
    assert set(MESSAGES) == set(EXPECTED)
    wrong = {k: placeholders(t) for k, t in MESSAGES.items() if placeholders(t) != EXPECTED[k]}
    assert wrong == {}


def test_group_constants_follow_the_brief_order() -> None:
    assert tuple(f"visit.{v}" for v in VISITS) == VISIT_NAME_KEYS
    assert tuple(f"symptom.{s}" for s in SYMPTOMS) == SYMPTOM_LABEL_KEYS
    assert SEVERITY_LABEL_KEYS == ("severity.mild", "severity.moderate", "severity.severe")
    assert len(REMINDER_KEYS) == 6


def test_sentences_say_who_writes_and_labels_are_bare() -> None:
    for key, text in MESSAGES.items():
        if key in LABEL_KEYS:
            assert not text.startswith(PREFIX), key
        else:
            assert text.startswith(PREFIX + " "), key


def test_placeholders_are_named() -> None:
    for key, text in MESSAGES.items():
        for name in placeholders(text):
            assert name.isidentifier(), (key, name)


def test_placeholders_helper() -> None:
    assert placeholders("{visit}, {date}: {visit!r} {n:>3}") == {"visit", "date", "n"}
    assert placeholders("{a.b} {c[0]}") == {"a", "c"}
    assert placeholders("no fields {{literal}}") == frozenset()
    with pytest.raises(ValueError):
        placeholders("{unclosed")


# --- the catalogs --------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_clean(language: str) -> None:
    """No untranslated, fuzzy, obsolete, stale or missing entry; placeholders match."""
    assert catalog_problems(read_catalog(LOCALES, language)) == []


def test_template_has_every_key() -> None:
    with (LOCALES / "messages.pot").open("rb") as fp:
        template = read_po(fp)
    have = {(m.context, m.id) for m in template if m.id}
    assert have == set(MESSAGES.items())
    assert not template.obsolete


def _entries(catalog: Catalog) -> set[tuple[str | None, str, tuple[str, ...]]]:
    return {(m.context, str(m.id), tuple(m.auto_comments)) for m in catalog if m.id}


def test_no_drift_between_source_and_catalogs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-run the extract command of docs/messages.md and compare with what is committed."""
    fresh = tmp_path / "messages.pot"
    monkeypatch.chdir(REPO)
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", "locales/babel.cfg", "-o", str(fresh), "service"]
    )
    with fresh.open("rb") as fp:
        extracted = _entries(read_po(fp))
    assert extracted, "extraction found nothing: check locales/babel.cfg"
    with (LOCALES / "messages.pot").open("rb") as fp:
        committed = read_po(fp)
    assert _entries(committed) == extracted, "run pybabel extract (see docs/messages.md)"
    for language in LANGUAGES:
        catalog = read_catalog(LOCALES, language)
        assert _entries(catalog) == extracted, f"run pybabel update for {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_pass_babels_own_checks(language: str) -> None:
    catalog = read_catalog(LOCALES, language)
    errors = [(m.context, errs) for m, errs in catalog.check() if errs]
    assert errors == []


def test_spanish_is_translated_not_copied() -> None:
    catalog = read_catalog(LOCALES, "es")
    copied = [m.context for m in catalog if m.id and m.string == m.id]
    assert copied == []


def test_confirming_reminders_end_with_the_reply_keyword(renderer: Renderer) -> None:
    for key in ("reminder.clinic.day_before", "reminder.infusion.day_before"):
        assert renderer.template(key, "es").endswith("Responde SI para confirmar.")
        assert renderer.template(key, "en").endswith("Reply YES to confirm.")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "key",
    ["checkin.symptoms.weekly", "checkin.symptoms.post_infusion", "checkin.symptoms.on_demand"],
)
def test_symptom_lists_are_the_labels_numbered_in_order(
    renderer: Renderer, language: str, key: str
) -> None:
    lines = renderer.render(key, language, day=3).split("\n")[1:]
    labels = [renderer.render(k, language).lower() for k in SYMPTOM_LABEL_KEYS]
    assert lines == [f"{n} {label}" for n, label in enumerate(labels, start=1)]


# --- SMS length ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reminder_fits_two_segments_with_the_longest_values(
    renderer: Renderer, language: str
) -> None:
    visit_names = {renderer.render(k, lang) for k in VISIT_NAME_KEYS for lang in LANGUAGES}
    longest_date = _longest_date(language)
    too_long = []
    for key in REMINDER_KEYS:
        for visit in visit_names:
            for site in SITES:
                text = renderer.render(
                    key, language, visit=visit, date=longest_date, site=site, help_line=HELP_LINE
                )
                _body, cost = prepare_for_sms(text, fold=True)
                if cost.segments > MAX_SEGMENTS:
                    too_long.append((key, visit, site, cost))
    assert too_long == []


def test_the_protocol_file_uses_these_texts() -> None:
    """schedules/ names keys and symptom numbers; the SMS lists hard-code the numbers."""
    protocol = load_protocol(REPO / "schedules" / "msc-role.toml")
    used = {v.name_key for v in protocol.visits} | {r.message_key for r in protocol.reminders}
    used |= {c.message_key for c in protocol.checkins} | {s.label_key for s in protocol.symptoms}
    assert used - MESSAGES.keys() == set()
    by_number = sorted(protocol.symptoms, key=lambda s: s.number)
    assert [s.number for s in by_number] == list(range(1, len(SYMPTOM_LABEL_KEYS) + 1))
    assert tuple(s.label_key for s in by_number) == SYMPTOM_LABEL_KEYS
    sites = {site.name for site in protocol.sites}
    assert sites <= set(SITES), "a new site name: add it to SITES so its reminders are measured"
    assert all(len(site.help_line) <= len(HELP_LINE) for site in protocol.sites)


def test_longest_dates_are_the_expected_ones() -> None:
    assert len(_longest_date("es")) == len("miércoles 30 de septiembre")
    assert len(_longest_date("en")) == len("Wednesday, September 30")


@pytest.mark.parametrize("language", LANGUAGES)
def test_other_sms_fit_two_segments(renderer: Renderer, language: str) -> None:
    """Check-ins, conversation, safety, alerts and the one-time code, worst realistic values."""
    values = {
        "day": 14,
        "symptom": max((renderer.render(k, language) for k in SYMPTOM_LABEL_KEYS), key=len),
        "site": max(SITES, key=len),
        "help_line": HELP_LINE,
        "visit": max((renderer.render(k, language) for k in VISIT_NAME_KEYS), key=len),
        "date": _longest_date(language),
        "study_id": "MSC-ROLE-CUA-039",
        "summary": "fiebre 39,4 °C (severo); falta de aire (severo); dolor al pecho (moderado)",
        "code": "123456",
    }
    too_long = []
    for key in MESSAGES:
        if key in LABEL_KEYS or key in REMINDER_KEYS:
            continue
        _body, cost = prepare_for_sms(renderer.render(key, language, **values))
        if cost.segments > MAX_SEGMENTS:
            too_long.append((key, cost))
    assert too_long == []


# --- the checker itself fails on what it must fail on -------------------------------


def _catalog(entries: dict[str, str], *, fuzzy: frozenset[str] = NONE) -> Catalog:
    catalog = Catalog(locale="es", fuzzy=False)
    for key, text in MESSAGES.items():
        if key in entries:
            catalog.add(text, entries[key], context=key, flags=("fuzzy",) if key in fuzzy else ())
    return catalog


def _good() -> dict[str, str]:
    """A translation of every key that carries exactly its source's placeholders."""
    return {
        key: "X " + " ".join(f"{{{name}}}" for name in sorted(placeholders(text)))
        for key, text in MESSAGES.items()
    }


def test_checker_accepts_a_complete_catalog() -> None:
    assert catalog_problems(_catalog(_good())) == []


def test_checker_reports_each_kind_of_problem() -> None:
    entries = _good()
    entries["checkin.thanks"] = ""
    entries["reminder.clinic.day_before"] = "MSC-ROLE: {visit} {fecha} {site} {help_line}"
    del entries["otp.code"]
    catalog = _catalog(entries, fuzzy=frozenset({"visit.screening"}))
    catalog.add("Old text", "Texto viejo", context="old.key")
    stale = catalog.get("Old text", context="old.key")
    assert stale is not None
    catalog.obsolete["gone"] = stale
    catalog.fuzzy = True
    problems = "\n".join(catalog_problems(catalog))
    assert "header is marked fuzzy" in problems
    assert "checkin.thanks: untranslated" in problems
    assert "visit.screening: fuzzy" in problems
    assert re.search(r"reminder\.clinic\.day_before: placeholders .*fecha", problems)
    assert "otp.code: missing from the catalog" in problems
    assert "old.key: entry matches no key" in problems
    assert "obsolete entry" in problems


def test_strict_loading_refuses_a_broken_catalog(tmp_path: Path) -> None:
    entries = _good()
    entries["otp.code"] = "MSC-ROLE: {codigo}"
    path = po_path(tmp_path, "es")
    path.parent.mkdir(parents=True)
    with path.open("wb") as fp:
        write_po(fp, _catalog(entries))
    with pytest.raises(CatalogError, match=r"otp\.code: placeholders"):
        load_translations(tmp_path, ["es"])
    assert "es" in load_translations(tmp_path, ["es"], strict=False)


def test_missing_catalog_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="missing catalog"):
        load_renderer(tmp_path)


def test_locales_dir_default_and_override(tmp_path: Path) -> None:
    assert locales_dir({}) == LOCALES
    assert locales_dir({"LOCALES_DIR": str(tmp_path)}) == tmp_path
    with pytest.raises(CatalogError, match="LOCALES_DIR"):
        locales_dir({"LOCALES_DIR": str(tmp_path / "nope")})
