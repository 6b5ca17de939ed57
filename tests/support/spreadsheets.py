"""Opening the dashboard's downloads the way their users do.

``as_excel_es_cl`` reads a CSV as Excel with Chilean regional settings does when the
file is double-clicked: UTF-8 only when the file starts with a byte-order mark
(otherwise the Windows code page, 1252), cells split at the list separator ``;``
(Chile's, since its decimal mark is the comma). ``workbook_rows`` opens an XLSX with
openpyxl, a reader independent of the library that wrote it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

BOM = b"\xef\xbb\xbf"


def as_excel_es_cl(data: bytes) -> list[list[str]]:
    text = data[len(BOM) :].decode("utf-8") if data.startswith(BOM) else data.decode("cp1252")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def workbook(data: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(data)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def workbook_rows(data: bytes) -> list[list[Any]]:
    return [list(row) for row in workbook(data).iter_rows(values_only=True)]
