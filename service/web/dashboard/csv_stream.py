"""Every CSV the dashboard sends: UTF-8 without a BOM, a header row, every cell guarded
against formula injection (so "-3" comes out as "'-3": the price of the guard).

``csv_stream`` writes row by row, so a whole study's list never sits in memory as one
string (exports that fail on large data are a common complaint); ``csv_response`` is the same
bytes in one body, for the small tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from litestar import Response
from litestar.response import Stream

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BATCH = 200  # rows per chunk written to the socket


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run: formulas get a leading apostrophe."""
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


def _headers(filename: str) -> dict[str, str]:
    safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "export.csv"
    return {
        # Given in full: from the media type alone Litestar would append its own
        # "; charset=utf-8" and send the charset twice.
        "content-type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{safe_name}"',
        "Cache-Control": "no-store",
    }


def csv_stream(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Stream:
    return Stream(
        _chunks(header, rows), media_type="text/csv; charset=utf-8", headers=_headers(filename)
    )


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response[bytes]:
    return Response(
        b"".join(_chunks(header, rows)),
        media_type="text/csv; charset=utf-8",
        headers=_headers(filename),
    )
