"""CSV exports streamed row by row: a whole study's list never sits in memory as one
string (REDCapR#627: exports that fail on large data). Same format and formula
guard as render.csv_response, so a page's CSV reads the same either way."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from litestar.response import Stream

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BATCH = 200  # rows per chunk written to the socket


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([_cell(v) for v in row])
        if n % _BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_stream(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Stream:
    safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "export.csv"
    return Stream(
        _chunks(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "Cache-Control": "no-store",
        },
    )
