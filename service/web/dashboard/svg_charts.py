"""Small server-rendered SVG charts: no JavaScript, no library, readable when printed.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says
what it draws in words; the page puts the same numbers in a table beside it, which
is what screen readers and printouts rely on. The two series differ by fill *and*
by pattern (last month hatched), so the chart survives greyscale printing and
colour blindness. Rates are 0..1 or None (nothing to judge): a missing bar, and
"—" in its label, never a zero-height bar that reads as 0 %.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "grouped_bars"]

WIDTH_PER_GROUP = 40  # 18 visits fit a 768 px tablet at full size (CSS scales it below)
LEGEND_ITEM = 120  # room for one legend entry ("Mes anterior")
HEIGHT = 180
TOP, BOTTOM, LEFT, RIGHT = 16, 36, 40, 8
BAR_GAP = 4


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per category, 0..1
    css_class: str  # e.g. "this" / "last" (dashboard.css colours them)
    hatched: bool = False  # drawn with diagonal lines: tells the series apart in grey


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def _fill(chart_id: str, item: Series) -> str:
    return f' fill="url(#{escape(chart_id)}-hatch)"' if item.hatched else ""


def grouped_bars(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[float | None], str] = _percent,
) -> str:
    """A grouped bar chart of rates, one group per category, one bar per series."""
    plot_h = HEIGHT - TOP - BOTTOM
    # Wide enough for the legend too: a chart of three categories must not clip it.
    width = max(
        LEFT + RIGHT + WIDTH_PER_GROUP * max(len(categories), 1),
        LEFT + RIGHT + LEGEND_ITEM * len(series),
    )
    bar_w = (WIDTH_PER_GROUP - BAR_GAP * (len(series) + 1)) / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" id="{escape(chart_id)}"'
        f' viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}"'
        f' aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        f'<defs><pattern id="{escape(chart_id)}-hatch" width="4" height="4"'
        ' patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="4"'
        ' stroke="currentColor" stroke-width="2"/></pattern></defs>',
    ]
    for tick in (0.0, 0.3, 0.8, 1.0):  # the band edges, so red/amber/green read off
        y = TOP + plot_h * (1 - tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{round(tick * 100)} %</text>"
        )
    for index, category in enumerate(categories):
        x0 = LEFT + WIDTH_PER_GROUP * index
        for number, item in enumerate(series):
            value = item.values[index] if index < len(item.values) else None
            x = x0 + BAR_GAP + number * (bar_w + BAR_GAP)
            label = f"{category} · {item.label}: {value_text(value)}"
            if value is None:
                continue
            h = plot_h * max(0.0, min(value, 1.0))
            parts.append(
                f'<rect class="bar {escape(item.css_class)}"{_fill(chart_id, item)}'
                f' x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}</title></rect>"
            )
        parts.append(
            f'<text class="category" x="{x0 + WIDTH_PER_GROUP / 2:.1f}" y="{HEIGHT - BOTTOM + 14}"'
            f' text-anchor="middle">{escape(category)}</text>'
        )
    legend_y = HEIGHT - 8
    for number, item in enumerate(series):
        x = LEFT + number * LEGEND_ITEM
        parts.append(
            f'<rect class="bar {escape(item.css_class)}"{_fill(chart_id, item)}'
            f' x="{x}" y="{legend_y - 9}"'
            f' width="10" height="10"/><text class="legend" x="{x + 14}" y="{legend_y}">'
            f"{escape(item.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
