"""The dashboard's gettext domain: templates, .pot and .po agree; Spanish is complete.

The CI gate for page text: re-extracting with locales/babel-dashboard.cfg must give
the committed dashboard.pot's msgids (drift), and each language's dashboard.po must
have them all, none fuzzy, Spanish none untranslated, placeholders intact.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from service.adapters.dashboard_i18n import (
    LANGUAGES,
    catalog_problems,
    load_dashboard_translations,
    po_path,
    read_catalog,
    read_template,
)
from service.adapters.i18n import CatalogError

REPO = Path(__file__).resolve().parents[2]
LOCALES = REPO / "locales"


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_templates_and_code_match_the_committed_pot(tmp_path: Path) -> None:
    fresh = tmp_path / "dashboard.pot"
    CommandLineInterface().run(
        [
            *("pybabel", "-q", "extract", "-F", str(LOCALES / "babel-dashboard.cfg")),
            *("-o", str(fresh), str(REPO / "service" / "web")),
        ]
    )
    with fresh.open("rb") as fp:
        extracted = _ids(read_po(fp))
    committed = _ids(read_template(LOCALES))
    assert extracted, "nothing extracted: is the mapping file right?"
    assert extracted == committed, (
        f"run pybabel extract (see locales/babel-dashboard.cfg): "
        f"new {sorted(extracted - committed)}, gone {sorted(committed - extracted)}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_is_complete_and_clean(language: str) -> None:
    catalog = read_catalog(LOCALES, language)
    assert catalog_problems(catalog, read_template(LOCALES)) == []


def test_the_app_loads_the_catalogs_strictly() -> None:
    loaded = load_dashboard_translations(LOCALES)
    assert loaded["es"].ugettext("Sign in") == "Iniciar sesión"
    assert loaded["en"].ugettext("Sign in") == "Sign in"


def _broken_copy(tmp_path: Path, change: str) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(LOCALES, target)
    path = po_path(target, "es")
    with path.open("rb") as fp:
        catalog = read_po(fp, locale="es", domain="dashboard")
    message = catalog["Sign in"]
    if change == "fuzzy":
        message.flags.add("fuzzy")
    elif change == "untranslated":
        message.string = ""
    elif change == "missing":
        catalog.delete("Sign in")
    elif change == "placeholder":
        catalog["Hello, %(email)s."].string = "Hola, %(correo)s."
    with path.open("wb") as fp:
        write_po(fp, catalog)
    return target


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("fuzzy", "'Sign in': fuzzy"),
        ("untranslated", "'Sign in': untranslated"),
        ("missing", "'Sign in': missing from the catalog"),
        ("placeholder", "placeholders differ"),
    ],
)
def test_a_broken_spanish_catalog_stops_start_up(tmp_path: Path, change: str, problem: str) -> None:
    directory = _broken_copy(tmp_path, change)
    with pytest.raises(CatalogError, match=problem):
        load_dashboard_translations(directory)
    assert load_dashboard_translations(directory, strict=False)["es"]


def test_english_may_fall_back_to_the_msgid() -> None:
    catalog = Catalog(locale="en", domain="dashboard", fuzzy=False)
    catalog.add("Sign in", "")
    assert catalog_problems(catalog) == []
    spanish = Catalog(locale="es", domain="dashboard", fuzzy=False)
    spanish.add("Sign in", "")
    assert catalog_problems(spanish) == ["es: 'Sign in': untranslated"]
