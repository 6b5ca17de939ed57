"""Rendering a message key into the sentence a participant reads.

Why it looks like this:

* The locale and the timezone are always explicit arguments. Nothing here reads the
  process locale, the environment or the clock, so the same call renders the same
  text in a test, in the scheduler and in ``followup reminders preview``.
* Participants' ``language`` is ``"es"`` or ``"en"``; dates and times are formatted
  with the Babel locale that language stands for here (``es`` → ``es_CL``).
* Dates are written the way the reminders read: "miércoles 3 de marzo",
  "Wednesday, March 3". CLDR's skeleton for es_CL adds a comma after the weekday and
  abbreviates it, so es and en have explicit Babel patterns; other languages fall
  back to their CLDR skeleton. Times are 24-hour ("10:00") in every language: CLDR's
  es_CL short time is "10:00 a. m.", which Chileans read less often than the 24-hour
  clock and which costs SMS characters.
* Babel puts no-break and narrow no-break spaces in some formats; they are not GSM-7
  and would silently switch an SMS to UCS-2, so they become plain spaces.
* A missing placeholder is an error naming the key, the language and what is missing:
  a half-rendered reminder must never reach a participant. Extra parameters are
  ignored, so callers can pass one set of values to every reminder.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time

from service.domain.languages import BABEL_LOCALES
from service.domain.texts import MESSAGES, placeholders

_DATE_PATTERNS: Final[Mapping[str, str]] = {
    "es": "EEEE d 'de' MMMM",
    "en": "EEEE, MMMM d",
}
_DATE_SKELETON: Final = "MMMMEEEEd"
_TIME_PATTERN: Final = "HH:mm"
_SPACES: Final = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


class MessageError(Exception):
    """A message could not be rendered; the text says which and why."""


class UnknownMessageError(MessageError, LookupError):
    """The key is not in :data:`service.domain.texts.MESSAGES`."""


class UnsupportedLanguageError(MessageError, LookupError):
    """No catalog was loaded for the language."""


class MissingPlaceholderError(MessageError, ValueError):
    """The message needs a value the caller did not pass."""


def language_of(locale: str) -> str:
    """``"es_CL"``, ``"es-CL"`` and ``"es"`` all mean the language ``"es"``."""
    return locale.replace("-", "_").split("_", 1)[0].lower()


def babel_locale(locale: str) -> str:
    """The Babel locale for a participant language; a full locale passes through."""
    if "_" in locale or "-" in locale:
        return locale.replace("-", "_")
    return BABEL_LOCALES.get(locale.lower(), locale)


def format_local_date(d: date, locale: str) -> str:
    """Weekday, day and month, no year: "miércoles 3 de marzo" / "Wednesday, March 3"."""
    if isinstance(d, datetime):
        raise TypeError("format_local_date takes a date; convert the datetime to local first")
    pattern = _DATE_PATTERNS.get(language_of(locale))
    loc = babel_locale(locale)
    if pattern is not None:
        text = format_date(d, pattern, locale=loc)
    else:
        text = format_skeleton(_DATE_SKELETON, d, locale=loc)
    return text.translate(_SPACES)


def format_local_time(dt_utc: datetime, tz: str, locale: str) -> str:
    """Wall-clock time in ``tz`` of an aware instant, 24-hour: "10:00".

    ``locale`` is accepted for symmetry and future locales; the 24-hour pattern is the
    same in es and en (see the module docstring).
    """
    if dt_utc.tzinfo is None or dt_utc.utcoffset() is None:
        raise ValueError("format_local_time needs an aware datetime (UTC)")
    local = dt_utc.astimezone(ZoneInfo(tz))
    text = format_time(local, _TIME_PATTERN, locale=babel_locale(locale))
    return text.translate(_SPACES)


class Renderer:
    """Renders message keys with one gettext catalog per language.

    Implements ``service.ports.Translator`` (structurally; the domain does not import
    the ports).

    ``catalogs`` maps a language (``"es"``, ``"en"``) to its translations, e.g. a
    ``babel.support.Translations`` loaded by :mod:`service.adapters.i18n`. A message
    without a translation falls back to its English source, as gettext does; the
    catalog checks keep that from happening in a release.
    """

    def __init__(
        self,
        catalogs: Mapping[str, gettext.NullTranslations],
        messages: Mapping[str, str] = MESSAGES,
    ) -> None:
        self._catalogs = dict(catalogs)
        self._messages = messages

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self._catalogs)

    def template(self, key: str, locale: str) -> str:
        """The translated message with its placeholders still in braces."""
        try:
            source = self._messages[key]
        except KeyError:
            raise UnknownMessageError(f"unknown message key {key!r}") from None
        language = language_of(locale)
        try:
            catalog = self._catalogs[language]
        except KeyError:
            known = ", ".join(sorted(self._catalogs)) or "none"
            raise UnsupportedLanguageError(
                f"no catalog for language {language!r} (loaded: {known})"
            ) from None
        return catalog.pgettext(key, source)

    def render(self, key: str, locale: str, /, **params: object) -> str:
        """The finished text. ``date`` values are formatted for ``locale``.

        A ``datetime`` value is refused: its wall-clock depends on a timezone only
        the caller knows, so pass ``format_local_time(...)`` or a local ``date``.
        """
        return self.template(key, locale).format_map(self.values(key, locale, **params))

    def values(self, key: str, locale: str, /, **params: object) -> dict[str, str]:
        """Each placeholder of the message with its finished value (what a WhatsApp
        template's numbered variables carry), formatted as ``render`` formats them."""
        template = self.template(key, locale)
        needed = placeholders(template)
        missing = needed - params.keys()
        if missing:
            raise MissingPlaceholderError(
                f"message {key!r} ({language_of(locale)}) needs "
                f"{', '.join(sorted(missing))}; got {', '.join(sorted(params)) or 'nothing'}"
            )
        values: dict[str, str] = {}
        for name in needed:
            value = params[name]
            if isinstance(value, datetime):
                raise TypeError(
                    f"message {key!r}: {name} is a datetime; pass a local date or a formatted time"
                )
            if isinstance(value, date):
                value = format_local_date(value, locale)
            values[name] = str(value)
        return values
