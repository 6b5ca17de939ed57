"""The participant list: flags, sorts, pages by cursor with nothing skipped or repeated,
tampered cursors refused, and CSV lines that match the page's rows."""

from __future__ import annotations

import pytest

from service.actions.errors import FieldInvalid
from service.actions.views import (
    SORTS,
    Flag,
    ParticipantRow,
    filter_rows,
    page_of,
    parse_flags,
    participant_rows,
)
from service.domain.actors import Actor
from service.domain.states import StaffRole
from tests.support.dashboard_seed import seed
from tests.support.helpers import Client

CUA = Actor(kind="staff", label="staff:c@x", role=StaffRole.COORDINATOR, sites=("CUA",))


async def _rows(client: Client, count: int = 40) -> list[ParticipantRow]:
    now = client.app.state.runtime.clock.now()
    await seed(count, site="CUA", prefix="L", now=now)
    await seed(5, site="HBLT", prefix="X", now=now, phone_offset=7000)
    return await participant_rows(client.app.state.runtime, CUA)


@pytest.mark.parametrize("sort", list(SORTS))
async def test_pages_cover_every_row_once(client: Client, sort: str) -> None:
    rows = await _rows(client)
    seen, cursor = [], None
    while True:
        page = page_of(rows, sort=sort, limit=7, cursor=cursor)
        seen.extend(r.study_id for r in page.rows)
        assert page.total == 40
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(r.study_id for r in rows)
    assert len(seen) == len(set(seen))
    assert not any(s.startswith("X") for s in seen)  # the other site never appears


async def test_flags_filter_and_bad_input_names_the_field(client: Client) -> None:
    rows = await _rows(client)
    opted = filter_rows(rows, parse_flags(["opted_out"]))
    assert opted and all(r.fact.opted_out for r in opted)
    both = filter_rows(rows, parse_flags(["opted_out", "overdue"]))
    assert all({Flag.OPTED_OUT, Flag.OVERDUE} <= r.flags for r in both)
    with pytest.raises(FieldInvalid) as flag:
        parse_flags(["nonsense"])
    assert flag.value.field == "flag"
    for bad in ("%%%", "bm9wZQ", "WzEsMl0"):  # not base64 / not JSON / wrong shape
        with pytest.raises(FieldInvalid) as error:
            page_of(rows, sort="worst", limit=5, cursor=bad)
        assert error.value.field == "cursor"
    with pytest.raises(FieldInvalid):
        page_of(rows, sort="arm", limit=5, cursor=None)
    with pytest.raises(FieldInvalid):
        page_of(rows, sort="worst", limit=0, cursor=None)
