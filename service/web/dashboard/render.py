"""Rendering dashboard pages: the Jinja environment, per-request gettext, filters, CSV.

One Jinja environment for the process (autoescape on, the i18n extension in its
"newstyle" form, so ``_("%(n)s of %(total)s", n=..)`` escapes and formats). The
language is not global state: ``gettext``/``ngettext``/``_`` are put into each
template's context bound to the viewer's catalog, and the filters read ``locale``
from that context, so two requests in two languages never see each other's words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from service.adapters.dashboard_i18n import load_dashboard_translations
from service.domain.languages import DEFAULT_LANGUAGE, formatting_locale
from service.web.dashboard.people import actor_words
from service.web.dashboard.session import Viewer
from service.web.static_files import static_url

TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"


def N_(message: str) -> str:  # the gettext convention for "mark, translate later"
    """Marks a msgid for extraction; the template translates it when it shows it."""
    return message


@cache
def translations() -> dict[str, Translations]:
    """The dashboard catalogs, read and checked once per process (strictly)."""
    return load_dashboard_translations()


def _babel_locale(context: Context) -> str:
    return formatting_locale(str(context.get("locale", DEFAULT_LANGUAGE)))


def _gettext(catalog: Translations) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text: str = catalog.ugettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704  # the catalog is ours; variables get escaped by %
        return text % variables if variables else text

    return gettext


def _ngettext(catalog: Translations) -> Callable[..., str]:
    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text: str = catalog.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704  # as in gettext above
        return text % variables

    return ngettext


@pass_context
def date_filter(context: Context, value: date | None) -> str:
    return "" if value is None else format_date(value, "medium", locale=_babel_locale(context))


@pass_context
def long_date_filter(context: Context, value: date | None) -> str:
    """``x|long_date``: "miércoles, 20 de enero de 2027", as a participant reads a date."""
    return "" if value is None else format_date(value, "full", locale=_babel_locale(context))


@pass_context
def datetime_filter(context: Context, value: datetime | None, zone: str | ZoneInfo) -> str:
    """``x|datetime(zone)``: an aware UTC timestamp shown in the site's zone."""
    if value is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    local = value.astimezone(tz)
    locale = _babel_locale(context)
    # The medium date and a 24-hour clock: "13-01-2027 12:00", as clinics write it.
    day = format_date(local.date(), "medium", locale=locale)
    return f"{day} {format_time(local, 'HH:mm', locale=locale)}"


@pass_context
def zoned_filter(context: Context, value: datetime | None, zone: str | ZoneInfo) -> str:
    """``x|zoned(zone)``: like ``datetime``, with the zone's offset: "13-01-2027 12:05 (-03)"."""
    if value is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    offset = value.astimezone(tz).strftime("%z")  # "-0300"
    shown = offset[:3] if offset.endswith("00") else f"{offset[:3]}:{offset[3:]}"
    return f"{datetime_filter(context, value, tz)} ({shown})"


@pass_context
def number_filter(context: Context, value: float | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=_babel_locale(context))


@pass_context
def percent_filter(context: Context, value: float | None) -> str:
    """A fraction (0.9) as "90 %" in es-CL (CLDR writes "90%"; Chilean style, and the
    trial's documents, put a space before the sign); None (nothing expected) as a dash."""
    if value is None:
        return "—"
    locale = _babel_locale(context)
    pattern = "#,##0 %" if locale.startswith("es") else None
    return format_percent(value, pattern, locale=locale)


@pass_context
def rate_filter(context: Context, done: int, total: int) -> str:
    """``rate(9, 10)`` -> "9 de 10 · 90 %": the count beside the rate, never a bare rate."""
    share = percent_filter(context, done / total if total else None)
    gettext = context.resolve_or_missing("gettext")
    pattern = N_("%(done)s of %(total)s · %(percent)s")
    text = context.call(gettext, pattern) if callable(gettext) else pattern
    return str(text) % {
        "done": number_filter(context, done),
        "total": number_filter(context, total),
        "percent": share,
    }


def say_in(locale: str) -> Callable[[str], str]:
    """The dashboard catalog's gettext for ``locale`` (Spanish when unknown)."""
    catalog = translations().get(locale) or translations()["es"]
    return lambda message: str(catalog.ugettext(message))


@pass_context
def who_filter(context: Context, label: str | None) -> str:
    """``{{ entry.actor|who }}``: an audit label in words, never its internal prefix."""
    return actor_words(label, say_in(str(context.get("locale", DEFAULT_LANGUAGE))))


def environment(directory: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["html", "xml"], default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Newstyle gettext for {% trans %} blocks; the callables are replaced per render.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
    env.filters.update(
        date=date_filter,
        long_date=long_date_filter,
        datetime=datetime_filter,
        zoned=zoned_filter,
        number=number_filter,
        percent=percent_filter,
        rate=rate_filter,
        who=who_filter,
    )
    env.globals["rate"] = rate_filter
    env.globals["static_url"] = static_url  # /static/… with the file's hash (cache-busting)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template set-up; loading the catalogs here stops a bad start-up early."""
    translations()
    env = environment()
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(env))


def page_context(locale: str, csrf_token: str) -> dict[str, Any]:
    """What every dashboard template sees besides its own data."""
    catalog = translations().get(locale) or translations()["es"]
    field = Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(csrf_token))
    gettext = _gettext(catalog)
    return {
        "locale": locale,
        "gettext": gettext,
        "_": gettext,
        "ngettext": _ngettext(catalog),
        "csrf_token": csrf_token,
        "csrf_field": lambda: field,
    }


def render_page(
    viewer: Viewer, template: str, *, status_code: int = 200, **context: Any
) -> Template:
    """A dashboard page in the viewer's language (``status_code`` for form errors)."""
    return Template(
        template_name=template,
        context={**context, **page_context(viewer.locale, viewer.csrf_token), "viewer": viewer},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def render_public(
    locale: str, csrf_token: str, template: str, *, status_code: int = 200, **context: Any
) -> Template:
    """A page shown before sign-in (the login form, the 403 page): no viewer."""
    return Template(
        template_name=template,
        context={**context, **page_context(locale, csrf_token), "viewer": None},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
