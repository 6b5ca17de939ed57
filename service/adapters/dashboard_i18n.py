"""The dashboard's own gettext domain, ``dashboard``, read from its ``.po`` files.

Kept apart from the SMS domain ``messages`` (service.adapters.i18n): that one is keyed
by message context and held to GSM-7 length rules; this one is ordinary page text
whose msgids are the English sentences. Loaded the same way: each ``.po`` compiled to
a ``.mo`` in memory at start-up (no build step, no stale ``.mo``), and strictly: a
Spanish entry that is missing, empty or fuzzy, or a placeholder that differs from the
English, stops start-up with the list of problems. English may leave msgstr empty
(gettext then shows the msgid, which is English).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.support import Translations

from service.adapters import i18n
from service.adapters.i18n import CatalogError, locales_dir
from service.domain.languages import LANGUAGES

DOMAIN: Final = "dashboard"
COMPLETE: Final = ("es",)  # languages whose every entry must be translated
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def po_path(directory: Path, language: str) -> Path:
    return i18n.po_path(directory, language, DOMAIN)


def read_catalog(directory: Path, language: str) -> Catalog:
    return i18n.read_catalog(directory, language, DOMAIN)


def read_template(directory: Path) -> Catalog:
    with (directory / f"{DOMAIN}.pot").open("rb") as fp:
        return read_po(fp, domain=DOMAIN, abort_invalid=True)


def _ids(message_id: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's id or string as a tuple (plural entries have several)."""
    if message_id is None:
        return ("",)
    return (message_id,) if isinstance(message_id, str) else tuple(message_id)


def catalog_problems(catalog: Catalog, template: Catalog | None = None) -> list[str]:
    """Everything that makes ``catalog`` unfit to show, one line each.

    Fuzzy header or entries, empty translations (in ``COMPLETE`` languages),
    placeholders that differ from the msgid, obsolete entries, and (given the ``.pot``)
    entries the template has and the catalog lacks, or the other way round.
    """
    lang = str(catalog.locale or "?")
    must_translate = lang in COMPLETE
    problems: list[str] = []
    if catalog.fuzzy:
        problems.append(f"{lang}: catalog header is marked fuzzy")
    for message in catalog:
        if not message.id:
            continue
        where = f"{lang}: {_ids(message.id)[0]!r}"
        if message.fuzzy:
            problems.append(f"{where}: fuzzy")
        strings = _ids(message.string)
        if must_translate and not all(strings):
            problems.append(f"{where}: untranslated")
            continue
        source = {p for text in _ids(message.id) for p in _PLACEHOLDER.findall(text)}
        for text in strings:
            if text and set(_PLACEHOLDER.findall(text)) != source:
                problems.append(f"{where}: placeholders differ from the msgid")
    for obsolete in catalog.obsolete.values():
        problems.append(f"{lang}: {_ids(obsolete.id)[0]!r}: obsolete (run pybabel update)")
    if template is not None:
        wanted = {_ids(m.id)[0] for m in template if m.id}
        present = {_ids(m.id)[0] for m in catalog if m.id}
        problems += [f"{lang}: {m!r}: missing from the catalog" for m in sorted(wanted - present)]
        problems += [f"{lang}: {m!r}: not in {DOMAIN}.pot" for m in sorted(present - wanted)]
    return problems


def load_dashboard_translations(
    directory: Path | None = None, languages: Iterable[str] = LANGUAGES, *, strict: bool = True
) -> dict[str, Translations]:
    """One compiled catalog per language; strict loading refuses any problem."""
    base = directory if directory is not None else locales_dir()
    template = read_template(base) if strict else None
    loaded: dict[str, Translations] = {}
    problems: list[str] = []
    for language in languages:
        catalog = read_catalog(base, language)
        if strict:
            problems.extend(catalog_problems(catalog, template))
        loaded[language] = i18n.compile_catalog(catalog, DOMAIN)
    if problems:
        raise CatalogError(
            f"dashboard catalogs in {base} are not ready:\n  " + "\n  ".join(problems)
        )
    return loaded
