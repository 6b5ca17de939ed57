"""Loads the gettext catalogs in ``locales/`` and builds the message renderer.

Why the ``.po`` files are read directly (compiled to ``.mo`` in memory at load):

* The ``.po`` file is what translators edit and reviewers read. Compiling it at start-up
  (Babel's ``read_po`` + ``write_mo`` into a buffer, a few milliseconds for this
  catalog) means there is no build step to forget and no stale ``.mo`` that could
  shadow a corrected translation. Any ``.mo`` lying around is ignored.
* Loading is strict by default: a catalog with an untranslated or fuzzy entry, a
  placeholder that differs from the English source, or a missing key refuses to load,
  with every problem listed. A Spanish-speaking participant must never receive the
  English fallback, and a broken placeholder would only surface at send time.
  ``catalog_problems`` is the same check, for tests and the CLI.

Where ``locales/`` is: the directory given explicitly, else ``$LOCALES_DIR``, else
``<repository>/locales`` (found from this file), else ``./locales``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from service.domain.languages import LANGUAGES
from service.domain.text_render import Renderer
from service.domain.texts import MESSAGES, placeholders

LOCALES_DIR_ENV: Final = "LOCALES_DIR"
DOMAIN: Final = "messages"


class CatalogError(Exception):
    """The catalogs cannot be found or are not fit to send from."""


def locales_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The ``locales/`` directory: ``$LOCALES_DIR`` or the repository's own."""
    env = os.environ if environ is None else environ
    override = env.get(LOCALES_DIR_ENV)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise CatalogError(f"{LOCALES_DIR_ENV}={override!r} is not a directory")
        return path
    candidates = (Path(__file__).resolve().parents[2] / "locales", Path.cwd() / "locales")
    for candidate in candidates:
        if (candidate / f"{DOMAIN}.pot").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise CatalogError(f"no locales directory found (tried {tried}); set {LOCALES_DIR_ENV}")


def po_path(directory: Path, language: str, domain: str = DOMAIN) -> Path:
    return directory / language / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(directory: Path, language: str, domain: str = DOMAIN) -> Catalog:
    """Parse one language's ``.po``; a syntax error raises rather than drops entries."""
    path = po_path(directory, language, domain)
    if not path.is_file():
        raise CatalogError(f"missing catalog {path}")
    with path.open("rb") as fp:
        return read_po(fp, locale=language, domain=domain, abort_invalid=True)


def compile_catalog(catalog: Catalog, domain: str = DOMAIN) -> Translations:
    """The ``.mo`` equivalent of ``catalog``, built in memory. Fuzzy entries are left out."""
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def catalog_problems(catalog: Catalog, messages: Mapping[str, str] = MESSAGES) -> list[str]:
    """Everything that makes ``catalog`` unfit to send from, one line each.

    Checks: header or entry marked fuzzy, empty translation, placeholders that differ
    between msgid and msgstr (or that ``str.format`` cannot parse), obsolete entries,
    keys of ``messages`` missing from the catalog and entries no key uses.
    """
    lang = str(catalog.locale or "?")
    problems: list[str] = []
    if catalog.fuzzy:
        problems.append(f"{lang}: catalog header is marked fuzzy")
    for message in catalog:
        if not message.id:
            continue  # the header
        where = f"{lang}: {message.context or '<no context>'}"
        if not isinstance(message.id, str) or not isinstance(message.string, str):
            problems.append(f"{where}: plural forms are not used by this service")
            continue
        if message.context is None or messages.get(message.context) != message.id:
            problems.append(f"{where}: entry matches no key in texts.MESSAGES (stale?)")
        if message.fuzzy:
            problems.append(f"{where}: fuzzy")
        if not message.string:
            problems.append(f"{where}: untranslated")
            continue
        try:
            source, target = placeholders(message.id), placeholders(message.string)
        except ValueError as exc:
            problems.append(f"{where}: bad braces ({exc})")
            continue
        if source != target:
            problems.append(
                f"{where}: placeholders {sorted(target)} differ from source {sorted(source)}"
            )
    for obsolete in catalog.obsolete.values():
        problems.append(f"{lang}: {obsolete.context}: obsolete entry (run pybabel update)")
    for key, text in messages.items():
        if catalog.get(text, context=key) is None:
            problems.append(f"{lang}: {key}: missing from the catalog")
    return problems


def load_translations(
    directory: Path | None = None,
    languages: Iterable[str] = LANGUAGES,
    *,
    strict: bool = True,
) -> dict[str, Translations]:
    """One compiled catalog per language; strict loading refuses any catalog problem."""
    base = directory if directory is not None else locales_dir()
    loaded: dict[str, Translations] = {}
    problems: list[str] = []
    for language in languages:
        catalog = read_catalog(base, language)
        if strict:
            problems.extend(catalog_problems(catalog))
        loaded[language] = compile_catalog(catalog)
    if problems:
        raise CatalogError(f"message catalogs in {base} are not ready:\n  " + "\n  ".join(problems))
    return loaded


def load_renderer(
    directory: Path | None = None,
    languages: Iterable[str] = LANGUAGES,
    *,
    strict: bool = True,
) -> Renderer:
    """The renderer the app factory hands to actions (see ``ports.Translator``)."""
    return Renderer(load_translations(directory, languages, strict=strict))
