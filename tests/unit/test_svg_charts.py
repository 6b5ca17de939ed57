"""The dashboard's SVG charts: well-formed, labelled for screen readers, honest gaps."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from service.web.dashboard.svg_charts import Series, grouped_bars

SVG = "{http://www.w3.org/2000/svg}"


def _chart() -> ET.Element:
    markup = grouped_bars(
        "visits",
        "Visit adherence by visit",
        "Share of visits attended in window, this month against last month.",
        ["M1", "M2 <&>"],
        [
            Series("This month", [0.9, None], "this"),
            Series("Last month", [0.25, 1.0], "last", hatched=True),
        ],
    )
    return ET.fromstring(markup)  # noqa: S314  (our own output)


def test_chart_is_an_image_with_title_and_description() -> None:
    svg = _chart()
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "visits-title visits-desc"
    assert svg.find(f"{SVG}title").text == "Visit adherence by visit"  # type: ignore[union-attr]
    assert "this month" in (svg.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def test_a_missing_value_draws_no_bar_and_text_is_escaped() -> None:
    svg = _chart()
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    labels = [r.find(f"{SVG}title").text for r in bars]  # type: ignore[union-attr]
    assert labels == [
        "M1 · This month: 90 %",
        "M1 · Last month: 25 %",
        "M2 <&> · Last month: 100 %",
    ]
    assert bars[1].get("fill") == "url(#visits-hatch)"
    heights = [float(r.get("height") or 0) for r in bars]
    assert heights[2] > heights[0] > heights[1] > 0


def test_empty_chart_is_still_valid() -> None:
    svg = ET.fromstring(grouped_bars("empty", "t", "d", [], []))  # noqa: S314
    assert svg.get("role") == "img"
