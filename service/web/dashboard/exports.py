"""Every table the dashboard downloads, as CSV that Excel in Chile opens and as XLSX.

CSV: UTF-8 with a byte-order mark (without it Excel reads the bytes as Windows-1252
and "Asistió" turns into "AsistiÃ³"), ``;`` between cells (the list separator of
Excel with Chilean regional settings, where the comma is the decimal mark: a
comma-separated file lands in one column), CRLF line ends, a header row in the page's
language, numbers with the page's decimal mark, every timestamp in one form with its
zone (``2026-12-06 14:05 (-03)``), and every cell that a spreadsheet would run as a
formula (``= + - @``, a tab, a CR) prefixed with an apostrophe. Rows are written as
they come, so a whole study's list never sits in memory as one string.

XLSX (xlsxwriter): typed cells (dates and timestamps as Excel dates in the site's
local time, counts and rates as numbers), text always written as text (never a
formula or a link), the header row frozen and filterable, and column widths from the
content. Excel stores no zone, so timestamp headers say "local time".

Callers give columns (their header already in the page's language, and a kind) and
rows of plain values; aware datetimes should already be in the zone to show.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from itertools import islice
from typing import Any, Final

import xlsxwriter
from babel.numbers import format_decimal, format_percent
from litestar import Response
from litestar.response import Stream

from service.domain.languages import formatting_locale
from service.domain.xml_text import xml_safe
from service.web.dashboard.render import N_, say_in

BOM: Final = "\ufeff"
DELIMITER: Final = ";"
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS: Final = 1_048_575  # Excel's limit, less the header
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_BATCH: Final = 200  # CSV rows per chunk written to the socket
_WIDTH_SAMPLE: Final = 200  # rows looked at to size the XLSX columns
FORMATS: Final = ("csv", "xlsx")
LOCAL_TIME: Final = N_("local time")


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    PERCENT = "percent"  # a fraction: 0.9 is "90 %"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True, slots=True)
class Column:
    header: str  # in the page's language
    kind: Kind = Kind.TEXT


def local_timestamp(moment: datetime) -> str:
    """``2026-12-06 14:05 (-03)``: the one way every CSV writes a moment."""
    offset = moment.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    zone = f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")
    return f"{moment:%Y-%m-%d %H:%M} ({zone})"


def _guard(text: str) -> str:
    text = xml_safe(text)  # what XML 1.0 forbids breaks XLSX and whatever reads the CSV next
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_cell(value: Any, kind: Kind, locale: str) -> str:
    """One value as CSV text in the page's language (formula-guarded)."""
    if value is None or value == "":
        return ""
    babel_locale = formatting_locale(locale)
    if isinstance(value, datetime):
        return local_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if kind is Kind.PERCENT and isinstance(value, int | float):
        pattern = "#,##0 %" if babel_locale.startswith("es") else None
        return format_percent(value, pattern, locale=babel_locale)
    if isinstance(value, float) and not isinstance(value, bool):
        return format_decimal(value, "0.##", locale=babel_locale)
    return _guard(str(value))


def _csv_chunks(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], locale: str
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([_guard(c.header) for c in columns])
    kinds = [c.kind for c in columns]
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(v, k, locale) for v, k in zip(row, kinds, strict=True)])
        if n % _BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _filename(stem: str, extension: str) -> str:
    safe = "".join(c for c in stem if c.isalnum() or c in "-_.") or "export"
    return f"{safe}.{extension}"


def _headers(filename: str, media_type: str) -> dict[str, str]:
    return {
        # Given in full: from the media type alone Litestar would add its own charset.
        "content-type": media_type,
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def csv_download(
    stem: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], locale: str
) -> Stream:
    media_type = "text/csv; charset=utf-8"
    return Stream(
        _csv_chunks(columns, rows, locale),
        media_type=media_type,
        headers=_headers(_filename(stem, "csv"), media_type),
    )


def _sheet_name(stem: str) -> str:
    name = "".join(c for c in stem if c not in "[]:*?/\\")[:31]
    return name or "Hoja1"


def _width(values: Iterable[str]) -> int:
    return min(60, max(8, *(len(v) + 2 for v in values)))


def xlsx_bytes(
    stem: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    local_time: str,
) -> bytes:
    """The workbook; ``local_time`` is the words added to timestamp headers."""
    out = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "remove_timezone": True,
    }
    book = xlsxwriter.Workbook(out, options)
    sheet = book.add_worksheet(_sheet_name(stem))
    bold = book.add_format({"bold": True, "bg_color": "#F3F5F7", "bottom": 1})
    styles = {
        Kind.DATETIME: book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        Kind.DATE: book.add_format({"num_format": "yyyy-mm-dd"}),
        Kind.PERCENT: book.add_format({"num_format": "0%"}),
        Kind.NUMBER: book.add_format({"num_format": "0.0##"}),
    }
    headers = [
        f"{c.header} ({local_time})" if c.kind is Kind.DATETIME else c.header for c in columns
    ]
    for col, text in enumerate(headers):
        sheet.write_string(0, col, text, bold)
    samples: list[list[str]] = [[h] for h in headers]
    count = 0
    for count, row in enumerate(islice(rows, XLSX_MAX_ROWS), start=1):
        for col, (value, column) in enumerate(zip(row, columns, strict=True)):
            _write(sheet, count, col, value, column.kind, styles)
            if count <= _WIDTH_SAMPLE:
                samples[col].append(_shown(value))
    for col, seen in enumerate(samples):
        sheet.set_column(col, col, _width(seen))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(count, 1), max(len(columns) - 1, 0))
    book.close()
    return out.getvalue()


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return "2026-12-06 14:05"
    return "" if value is None else str(value)


def _write(sheet: Any, row: int, col: int, value: Any, kind: Kind, styles: dict[Kind, Any]) -> None:
    if value is None or value == "":
        sheet.write_blank(row, col, None)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), styles[Kind.DATETIME])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, styles[Kind.DATE])
    elif isinstance(value, bool):
        sheet.write_string(row, col, str(value))
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, styles.get(kind))
    else:
        sheet.write_string(row, col, xml_safe(str(value)))


def xlsx_download(
    stem: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, local_time: str
) -> Response[bytes]:
    return Response(
        xlsx_bytes(stem, columns, rows, local_time=local_time),
        media_type=XLSX_TYPE,
        headers=_headers(_filename(stem, "xlsx"), XLSX_TYPE),
    )


def say(locale: str, message: str) -> str:
    """A dashboard catalog word in ``locale``, for headers and cells of a download."""
    return say_in(locale)(message)


def columns_in(locale: str, spec: Iterable[tuple[str, Kind]]) -> list[Column]:
    """Columns from (msgid, kind) pairs, their headers in ``locale``."""
    return [Column(say(locale, header), kind) for header, kind in spec]


def download(
    locale: str, fmt: str, stem: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> Response[Any]:
    """``?format=csv`` or ``?format=xlsx`` of a table page, in the viewer's language."""
    if fmt == "xlsx":
        return xlsx_download(stem, columns, rows, local_time=say(locale, LOCAL_TIME))
    return csv_download(stem, columns, rows, locale)
