"""Rendering: dates, times across Chile's clock changes, and the renderer's contract."""

from __future__ import annotations

import gettext
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from service.adapters.i18n import load_renderer
from service.domain.sms_encoding import is_gsm7
from service.domain.text_render import (
    MissingPlaceholderError,
    Renderer,
    UnknownMessageError,
    UnsupportedLanguageError,
    babel_locale,
    format_local_date,
    format_local_time,
    language_of,
)
from service.domain.texts import MESSAGES
from service.ports import Translator

LOCALES = Path(__file__).resolve().parents[2] / "locales"
SANTIAGO = "America/Santiago"
EASTER = "Pacific/Easter"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class _Spanishish(gettext.NullTranslations):
    """A stand-in catalog: translates by context, so tests need no files."""

    def __init__(self, table: dict[str, str]) -> None:
        super().__init__()
        self._table = table

    def pgettext(self, context: str, message: str) -> str:
        return self._table.get(context, message)


@pytest.fixture(scope="module")
def real() -> Renderer:
    return load_renderer(LOCALES)


@pytest.fixture
def fake() -> Renderer:
    es = _Spanishish({"visit.confirmed": "Confirmada: {visit}, el {date}."})
    return Renderer({"es": es, "en": gettext.NullTranslations()})


# --- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "locale", "expected"),
    [
        (date(2027, 3, 3), "es", "miércoles 3 de marzo"),
        (date(2027, 3, 3), "es_CL", "miércoles 3 de marzo"),
        (date(2027, 3, 3), "en", "Wednesday, March 3"),
        (date(2027, 9, 1), "es", "miércoles 1 de septiembre"),
        (date(2026, 9, 30), "es", "miércoles 30 de septiembre"),
        (date(2026, 9, 30), "en", "Wednesday, September 30"),
        (date(2027, 1, 2), "es", "sábado 2 de enero"),
    ],
)
def test_format_local_date(day: date, locale: str, expected: str) -> None:
    assert format_local_date(day, locale) == expected


def test_format_local_date_other_languages_use_cldr() -> None:
    assert "2027" not in format_local_date(date(2027, 3, 3), "fr")
    assert "mars" in format_local_date(date(2027, 3, 3), "fr")


def test_format_local_date_refuses_a_datetime() -> None:
    with pytest.raises(TypeError):
        format_local_date(utc(2027, 3, 3, 12), "es")


def test_locale_names() -> None:
    assert babel_locale("es") == "es_CL"
    assert babel_locale("en") == "en"
    assert babel_locale("es-CL") == "es_CL"
    assert language_of("es_CL") == "es"
    assert language_of("EN") == "en"


# --- times: the same 10:00 local is a different UTC hour on each side of a change ----


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        # Santiago, DST ends at 24:00 on Saturday 3 April 2027 (-03 -> -04).
        (utc(2027, 4, 3, 13, 0), SANTIAGO, "10:00"),
        (utc(2027, 4, 5, 14, 0), SANTIAGO, "10:00"),
        (utc(2027, 4, 4, 2, 30), SANTIAGO, "23:30"),  # first 23:30 (-03)
        (utc(2027, 4, 4, 3, 30), SANTIAGO, "23:30"),  # the repeated hour (-04)
        # Santiago, DST starts at 24:00 on Saturday 4 September 2027 (-04 -> -03).
        (utc(2027, 9, 4, 14, 0), SANTIAGO, "10:00"),
        (utc(2027, 9, 6, 13, 0), SANTIAGO, "10:00"),
        (utc(2027, 9, 5, 3, 59), SANTIAGO, "23:59"),
        (utc(2027, 9, 5, 4, 0), SANTIAGO, "01:00"),  # 00:00-00:59 never happens
        # Easter Island changes on the same dates, two hours behind (-05 / -06).
        (utc(2027, 4, 3, 13, 0), EASTER, "08:00"),
        (utc(2027, 4, 5, 14, 0), EASTER, "08:00"),
        (utc(2027, 9, 4, 14, 0), EASTER, "08:00"),
        (utc(2027, 9, 6, 13, 0), EASTER, "08:00"),
    ],
)
def test_format_local_time_across_chiles_clock_changes(
    instant: datetime, zone: str, expected: str
) -> None:
    assert format_local_time(instant, zone, "es") == expected
    assert format_local_time(instant, zone, "en") == expected


def test_format_local_time_accepts_any_aware_instant() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2027, 4, 5, 10, 0, tzinfo=ZoneInfo(SANTIAGO))
    assert format_local_time(local, SANTIAGO, "es") == "10:00"


def test_format_local_time_refuses_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_local_time(datetime(2027, 4, 5, 14, 0), SANTIAGO, "es")


# --- the renderer --------------------------------------------------------------------


def test_renderer_is_a_translator(fake: Renderer) -> None:
    translator: Translator = fake
    assert translator.render("checkin.thanks", "en") == MESSAGES["checkin.thanks"]


def test_render_formats_dates_for_the_locale(fake: Renderer) -> None:
    assert fake.render("visit.confirmed", "es", visit="Control mes 3", date=date(2027, 3, 3)) == (
        "Confirmada: Control mes 3, el miércoles 3 de marzo."
    )
    assert "Wednesday, March 3" in fake.render(
        "visit.confirmed", "en", visit="Month 3 check-up", date=date(2027, 3, 3)
    )


def test_render_ignores_extra_values(fake: Renderer) -> None:
    text = fake.render("visit.confirmed", "es", visit="V", date="hoy", site="S", help_line="1")
    assert text == "Confirmada: V, el hoy."


def test_missing_placeholder_is_a_clear_error(fake: Renderer) -> None:
    with pytest.raises(MissingPlaceholderError) as caught:
        fake.render("visit.confirmed", "es", visit="Control mes 3")
    message = str(caught.value)
    assert "visit.confirmed" in message and "(es)" in message and "date" in message


def test_unknown_key_and_language(fake: Renderer) -> None:
    with pytest.raises(UnknownMessageError, match=r"no\.such\.key"):
        fake.render("no.such.key", "es")
    with pytest.raises(UnsupportedLanguageError, match="'fr'"):
        fake.render("checkin.thanks", "fr")


def test_a_datetime_value_is_refused(fake: Renderer) -> None:
    with pytest.raises(TypeError, match="datetime"):
        fake.render("visit.confirmed", "es", visit="V", date=utc(2027, 3, 3, 13))


def test_real_catalogs_render_chilean_spanish(real: Renderer) -> None:
    text = real.render(
        "reminder.clinic.day_before",
        "es_CL",
        visit=real.render("visit.month_3", "es"),
        date=date(2027, 3, 3),
        site="Hospital Barros Luco Trudeau",
        help_line="+56226181000",
    )
    assert text.startswith("MSC-ROLE: Mañana")
    assert "Control mes 3, el miércoles 3 de marzo, en Hospital Barros Luco Trudeau" in text
    assert text.endswith("Responde SI para confirmar.")
    assert real.render("severity.severe", "es") == "Severo"
    assert real.languages == {"es", "en"}


def test_real_catalogs_render_english(real: Renderer) -> None:
    text = real.render("otp.code", "en", code="482913")
    assert text == (
        "MSC-ROLE: Your code to sign in to the app is 482913. Do not share it with anyone."
    )


def test_rendered_dates_stay_gsm7() -> None:
    """Babel's no-break spaces would switch a whole SMS to UCS-2."""
    for day in (date(2027, 3, 3), date(2027, 9, 30)):
        assert is_gsm7(format_local_date(day, "en"))
    assert is_gsm7(format_local_time(utc(2027, 4, 3, 13), SANTIAGO, "en"))
