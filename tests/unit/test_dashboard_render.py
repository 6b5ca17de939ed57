"""The dashboard's filters and CSV: es-CL numbers and dates, counts beside rates, and
cells a spreadsheet will not execute."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from jinja2 import Environment

from service.web.dashboard.render import environment, page_context
from service.web.dashboard.session import safe_next


@pytest.fixture(scope="module")
def env() -> Environment:
    return environment()


def _render(env: Environment, source: str, locale: str = "es", **values: object) -> str:
    return env.from_string(source).render(**page_context(locale, "tok"), **values)


def test_spanish_numbers_dates_and_rates(env: Environment) -> None:
    when = datetime(2027, 1, 13, 15, 5, tzinfo=UTC)
    out = _render(
        env,
        "{{ n|number }}|{{ p|percent }}|{{ d|date }}|{{ w|datetime('America/Santiago') }}"
        "|{{ rate(9, 10) }}|{{ 0|rate(0) }}|{{ none|percent }}",
        n=1234.5,
        p=0.9,
        d=date(2027, 1, 13),
        w=when,
        none=None,
    )
    day, moment = '<span class="nowrap">13-01-2027</span>', '<span class="nowrap">13-01-2027 12:05'
    assert out == f"1.234,5|90 %|{day}|{moment}</span>|9 de 10 · 90 %|0 de 0 · —|—"  # never broken


def test_english_numbers_and_rates(env: Environment) -> None:
    out = _render(env, "{{ 1234.5|number }}|{{ 9|rate(10) }}", locale="en")
    assert out == "1,234.5|9 of 10 · 90%"


def test_translations_are_escaped_and_per_render(env: Environment) -> None:
    source = "{{ _('Hello, %(email)s.', email=who) }}|{% trans %}Sign in{% endtrans %}"
    assert _render(env, source, who="<b>") == "Hola, &lt;b&gt;.|Iniciar sesión"
    assert _render(env, source, locale="en", who="x") == "Hello, x.|Sign in"
    assert (
        _render(env, "{{ csrf_field() }}") == '<input type="hidden" name="csrf_token" value="tok">'
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/dashboard/alerts?x=1", "/dashboard/alerts?x=1"),
        ("https://evil.example", "/dashboard"),
        ("//evil.example", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/ok\r\nSet-Cookie: x", "/dashboard"),
        ("", "/dashboard"),
        (None, "/dashboard"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
