"""Downloads Chile can open: CSV as es-CL Excel reads it, XLSX with typed cells."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from service.web.dashboard.exports import (
    Column,
    Kind,
    csv_cell,
    local_timestamp,
    xlsx_bytes,
)
from service.web.dashboard.exports import _csv_chunks as csv_chunks
from tests.support.spreadsheets import as_excel_es_cl, workbook

SANTIAGO = ZoneInfo("America/Santiago")
COLUMNS = [
    Column("Código"),
    Column("Recibido", Kind.DATETIME),
    Column("Temperatura", Kind.NUMBER),
    Column("Tasa", Kind.PERCENT),
    Column("Versión", Kind.INTEGER),
    Column("Día", Kind.DATE),
    Column("Nota"),
]
WHEN = datetime(2026, 12, 6, 17, 5, tzinfo=UTC).astimezone(SANTIAGO)  # summer time, -03
ROWS = [
    ["MSC-001", WHEN, 39.1, 0.9, 2, date(2026, 12, 6), "Asistió; sí"],
    ["MSC-002", None, None, None, 1, None, '=HYPERLINK("http://x")'],
    ["MSC-003", WHEN, 37.0, 0.25, 3, date(2026, 7, 1), "-3 y +1"],
]


def _csv(locale: str = "es") -> bytes:
    return b"".join(csv_chunks(COLUMNS, ROWS, locale))


def test_excel_in_chile_reads_accents_columns_and_decimals() -> None:
    data = _csv()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = as_excel_es_cl(data)
    assert rows[0] == ["Código", "Recibido", "Temperatura", "Tasa", "Versión", "Día", "Nota"]
    assert rows[1] == ["MSC-001", "2026-12-06 14:05 (-03)", "39,1", "90 %", "2", "2026-12-06",
                       "Asistió; sí"]  # fmt: skip
    assert rows[2][6] == '\'=HYPERLINK("http://x")' and rows[3][6] == "'-3 y +1"
    # Without the BOM the same bytes are read as Windows-1252: the complaint it fixes.
    assert "AsistiÃ³" in as_excel_es_cl(data[3:])[1][6]


def test_english_pages_write_english_decimals() -> None:
    assert as_excel_es_cl(_csv("en"))[1][2:4] == ["39.1", "90%"]


def test_one_timestamp_form_on_both_sides_of_a_clock_change() -> None:
    winter = datetime(2026, 7, 1, 16, 0, tzinfo=UTC).astimezone(SANTIAGO)
    assert local_timestamp(winter) == "2026-07-01 12:00 (-04)"
    assert local_timestamp(WHEN) == "2026-12-06 14:05 (-03)"
    india = datetime(2026, 7, 1, 16, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    assert local_timestamp(india) == "2026-07-01 21:30 (+05:30)"
    assert csv_cell(None, Kind.DATETIME, "es") == ""


def test_the_workbook_has_typed_cells_a_frozen_header_and_widths() -> None:
    sheet = workbook(xlsx_bytes("participantes", COLUMNS, ROWS, local_time="hora local"))
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Código" and rows[0][1] == "Recibido (hora local)"
    assert rows[1][1] == datetime(2026, 12, 6, 14, 5)  # a date Excel sorts, in local time
    assert rows[1][2] == 39.1 and rows[1][3] == 0.9 and rows[1][4] == 2
    assert rows[1][5] == datetime(2026, 12, 6)
    assert rows[2][6] == '=HYPERLINK("http://x")'  # text, never a formula
    assert sheet.cell(3, 7).data_type == "s"
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 8
    assert sheet.cell(2, 2).number_format == "yyyy-mm-dd hh:mm"
