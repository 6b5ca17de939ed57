"""The REDCap push: what REDCap does not have yet, once, without overwriting hand edits.

One run: sequence what committed; take the push lock (one pusher across processes);
before the first push of a protocol revision, compare REDCap's own metadata, events
and instrument-event mappings with the mapping and refuse with the differences; then,
batch by batch after the push cursor: build flat rows with deterministic keys, export
what REDCap holds for them, leave out (and report) values changed there by hand,
import, and only after REDCap acknowledged, store the baselines, the conflicts and
the new cursor in one transaction.

Faults: 5xx and timeouts are retried with backoff, and since an import whose answer
was lost may have happened, each retry first exports the rows again and resends only
what REDCap lacks (an import is an idempotent upsert here anyway: same keys). A 400
names the rows REDCap refused and stops the run: the cursor stays, nothing is lost,
and the next run sends the batch again. A 403 stops the run with one line. A crash
anywhere leaves the cursor where it was: the batch is re-sent, same keys, no doubles.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, TypeVar

from service.actions.edc import _push_state as state
from service.actions.edc._conflicts import chosen_to_send, record_chosen
from service.actions.edc._export import calendar_windows, infusion_visits
from service.actions.edc._mapping import edc_mapping
from service.actions.edc._queries import feed_chunk, last_change_id
from service.actions.edc._sequence import sequence_changes
from service.actions.errors import ActionError
from service.domain.edc.model import EdcMapping
from service.domain.edc.naming import EdcMappingError
from service.domain.edc.records import entry_for
from service.domain.edc.redcap_rows import (
    KEY_FIELDS,
    metadata_differences,
    participant_row,
    row_for,
    without_hand_edits,
)
from service.domain.edc.redcap_setup import data_dictionary_rows
from service.domain.states import PushStatus
from service.ports import RedcapApi, RedcapError
from service.runtime import REDCAP, Runtime

__all__ = ["BATCH", "RETRY_DELAYS_S", "WINDOW", "PushResult", "push_if_due", "push_to_redcap"]

log = logging.getLogger("service.edc.push")

BATCH: Final = 200  # rows per import request
WINDOW: Final = 10_000  # changes read per window (grouped by record into batches)
RETRY_DELAYS_S: Final = (2.0, 10.0, 30.0)
_T = TypeVar("_T")
Key = tuple[str, str, str, str]  # record, event, repeat instrument, instance as REDCap rows say
Planned = tuple[str, str, dict[str, str]]  # form, site, flat row


@dataclass(slots=True)
class PushResult:
    status: PushStatus | str
    records: int = 0
    rows: int = 0
    conflicts: int = 0
    pending: int = 0
    chosen: int = 0  # "send ours" choices written this run
    detail: str | None = None
    would_send: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"{self.status}: {self.records} records, {self.rows} instances, "
                f"{self.conflicts} conflicts, {self.pending} pending")  # fmt: skip
        line += f", {self.chosen} chosen values sent" if self.chosen else ""
        return line + (f"\n{self.detail}" if self.detail else "")


def _key(row: dict[str, str]) -> Key:
    return (row["record_id"], row["redcap_event_name"], row.get("redcap_repeat_instrument", ""),
            row.get("redcap_repeat_instance", ""))  # fmt: skip


async def _retrying(call: Callable[[], Awaitable[_T]], delays: Sequence[float]) -> _T:
    for attempt in range(len(delays) + 1):
        try:
            return await call()
        except RedcapError as exc:
            if exc.kind != "unavailable" or attempt == len(delays):
                raise
            log.warning("REDCap unavailable (%s); retrying in %ss", exc, delays[attempt])
            await asyncio.sleep(delays[attempt])
    raise AssertionError("unreachable")


async def _held(api: RedcapApi, rows: Sequence[dict[str, str]], delays: Sequence[float]
                ) -> dict[Key, dict[str, str]]:  # fmt: skip
    records = sorted({r["record_id"] for r in rows})
    events = sorted({r["redcap_event_name"] for r in rows})
    fields = sorted({k for r in rows for k in r if not k.startswith("redcap_")})
    exported = await _retrying(lambda: api.export_records(records, fields, events), delays)
    return {_key(r): r for r in exported}


async def _import(api: RedcapApi, rows: list[dict[str, str]], delays: Sequence[float]) -> None:
    """Import; after a lost answer, look at what REDCap holds and resend only the rest."""
    todo = rows
    for attempt in range(len(delays) + 1):
        try:
            await api.import_records(todo)
            return
        except RedcapError as exc:
            if exc.kind != "unavailable" or attempt == len(delays):
                raise
            log.warning("REDCap import unanswered (%s); looking up before resending", exc)
            await asyncio.sleep(delays[attempt])
            held = await _held(api, todo, delays)
            todo = [r for r in todo if any(held.get(_key(r), {}).get(k, "") != v
                                           for k, v in r.items() if v != "")]  # fmt: skip
            if not todo:
                return


async def _check_metadata(rt: Runtime, api: RedcapApi, mapping: EdcMapping,
                          delays: Sequence[float]) -> list[str]:  # fmt: skip
    """Once per protocol revision and data dictionary: a release that changes the
    dictionary (a new choice, say) is checked again before it pushes, and refused with
    the differences until the project has them, instead of REDCap refusing rows."""
    dictionary = json.dumps(data_dictionary_rows(mapping), sort_keys=True).encode()
    verified_as = f"{rt.protocol.revision}|{hashlib.sha256(dictionary).hexdigest()[:16]}"
    if await state.metadata_verified(verified_as):
        return []
    metadata = await _retrying(api.export_metadata, delays)
    events = await _retrying(api.export_events, delays)
    form_events = await _retrying(api.export_form_event_mappings, delays)
    problems = metadata_differences(mapping, metadata, events, form_events)
    if not problems:
        await state.set_metadata_verified(verified_as, rt.clock.now())
    return problems


def _rows_of_window(mapping: EdcMapping, batch: list[Any]) -> tuple[list[Planned], set[str]]:
    """(form, site, row) per REDCap slot, the newest version of each record winning."""
    merged: dict[tuple[Key, str], Planned] = {}
    records: set[str] = set()
    for where, fact in batch:
        entry = entry_for(mapping, fact, where)
        row = row_for(mapping, entry)
        slot = (_key(row), entry.form)
        if slot in merged:
            merged[slot][2].update(row)
        else:
            merged[slot] = (entry.form, where.site, row)
        records.add(where.study_id)
        pro = participant_row(mapping, where.study_id, where.site)
        merged.setdefault((_key(pro), "participante"), ("participante", where.site, pro))
    return list(merged.values()), records


def _slot(form: str, row: dict[str, str]) -> state.Slot:
    return (row["record_id"], row["redcap_event_name"], form,
            int(row.get("redcap_repeat_instance") or 1))  # fmt: skip


def _groups(
    planned: list[tuple[str, str, dict[str, str]]],
) -> list[list[tuple[str, str, dict[str, str]]]]:
    """Batches of at most BATCH rows that each cover as few records as possible.

    REDCap's export returns every instance of the records asked for, so a batch that
    touches 200 records exports 200 records' worth; grouping by record keeps it small.
    """
    by_record: dict[str, list[Planned]] = {}
    for item in planned:
        by_record.setdefault(item[2]["record_id"], []).append(item)
    groups: list[list[Planned]] = [[]]
    for items in by_record.values():
        if groups[-1] and len(groups[-1]) + len(items) > BATCH:
            groups.append([])
        groups[-1].extend(items)
    return groups


Overrides = dict[state.Slot, dict[str, str]]  # "send ours" choices: field -> REDCap's value


async def _push_group(
    api: RedcapApi, group: list[Planned], delays: Sequence[float], overrides: Overrides
) -> tuple[list[dict[str, str]], list[Any], list[Any]]:
    """(rows to import, (slot, row) baselines to store, conflicts) for one group.

    A field whose conflict staff resolved with "send ours" is not a hand edit any more:
    REDCap's value there counts as the baseline, so our newest value goes in."""
    held = await _held(api, [row for _, _, row in group], delays)
    baselines = await state.sent_baselines(_slot(f, r) for f, _, r in group)
    rows, sent, conflicts = [], [], []
    for form, site, row in group:
        slot = _slot(form, row)
        baseline = {**baselines.get(slot, {}), **overrides.get(slot, {})}
        clean, edits = without_hand_edits(row, held.get(_key(row), {}), baseline)
        conflicts += [(slot, site, e.field, e.ours, e.theirs) for e in edits]
        if all(baseline.get(k) == v for k, v in clean.items() if v and k not in KEY_FIELDS):
            continue  # REDCap acknowledged exactly this before: nothing to send
        rows.append(clean)
        sent.append((slot, clean))
    return rows, sent, conflicts


async def _push_batches(rt: Runtime, api: RedcapApi, run_id: int, *, dry_run: bool,
                        actor: str, delays: Sequence[float]) -> PushResult:  # fmt: skip
    """Windows of WINDOW changes; the cursor moves to a window's end only after every
    batch of it was acknowledged (a crash re-sends the window: same keys, no doubles)."""
    mapping = edc_mapping(rt)
    windows, infusions = calendar_windows(rt), infusion_visits(rt)
    cursor, upto = await state.push_cursor(), await last_change_id()
    result = PushResult(PushStatus.DRY_RUN if dry_run else PushStatus.OK)
    records: set[str] = set()
    overrides: Overrides = {}
    for chosen in await chosen_to_send():
        slot = (chosen.record, chosen.event, chosen.form, chosen.instance)
        overrides.setdefault(slot, {})[chosen.field] = chosen.theirs
    while True:
        window = await feed_chunk(cursor, upto, None, windows, infusions, limit=WINDOW)
        if not window:
            break
        planned, window_records = _rows_of_window(mapping, window)
        records |= window_records
        end = window[-1][0].seq
        groups = _groups(planned)
        for n, group in enumerate(groups, start=1):
            rows, sent, conflicts = await _push_group(api, group, delays, overrides)
            result.rows += len(rows)
            if dry_run:
                result.would_send += rows
                result.conflicts += len(conflicts)
                continue
            if rows:
                await _import(api, rows, delays)
            result.conflicts += await state.record_batch(
                now=rt.clock.now(), actor=actor, run_id=run_id,
                cursor=end if n == len(groups) else cursor, sent=sent, conflicts=conflicts,
            )  # fmt: skip
        cursor = end
    result.records = len(records)
    if not dry_run:
        result.chosen = await _send_chosen(rt, api, actor, delays)
    result.pending = await state.pending_changes(await state.push_cursor())
    return result


async def _send_chosen(rt: Runtime, api: RedcapApi, actor: str, delays: Sequence[float]) -> int:
    """Write the "send ours" choices: only where REDCap still holds the hand-edited
    value (or nothing); a value changed by hand once more opens the conflict again.
    A field this run already wrote (a newer answer went in) is simply marked done."""
    chosen = await chosen_to_send()
    if not chosen:
        return 0
    slots = [(c.record, c.event, c.form, c.instance) for c in chosen]
    baselines = await state.sent_baselines(slots)
    planned = []
    for c, slot in zip(chosen, slots, strict=True):
        keys = {k: v for k, v in baselines.get(slot, {}).items() if k in KEY_FIELDS}
        if "record_id" in keys:
            planned.append((c, slot, {**keys, c.field: c.ours}))
    held = await _held(api, [row for _, _, row in planned], delays)
    rows, written, again = [], [], []
    for c, slot, row in planned:
        now_there = held.get(_key(row), {}).get(c.field, "")
        if now_there and now_there == baselines.get(slot, {}).get(c.field) != c.theirs:
            written.append((c, now_there))  # this run already wrote a newer value of ours
        elif now_there in ("", c.theirs, c.ours):
            rows.append(row)
            written.append((c, c.ours))
        else:
            again.append((c, now_there))
    if rows:
        await _import(api, rows, delays)
    await record_chosen(now=rt.clock.now(), actor=actor, written=written, changed_again=again)
    return len(rows)


async def push_to_redcap(
    rt: Runtime,
    *,
    dry_run: bool = False,
    actor: str = "system:scheduler",
    retry_delays: Sequence[float] = RETRY_DELAYS_S,
) -> PushResult:
    """One push run (see the module docstring); returns its counts and status."""
    api = rt.redcap
    if api is None:
        raise ActionError("REDCap is not configured: set REDCAP_API_URL and REDCAP_API_TOKEN")
    await sequence_changes(rt.clock.now())
    token = await state.claim_push_lock(rt.clock.now())
    if token is None:
        return PushResult("busy", detail="another push is running")
    run_id = await state.start_run(rt.clock.now(), await state.push_cursor())
    status: PushStatus = PushStatus.UNAVAILABLE
    result = PushResult(status)
    try:
        problems = await _check_metadata(rt, api, edc_mapping(rt), retry_delays)
        rt.neighbours.answered(REDCAP)
        if problems:
            result = PushResult(PushStatus.METADATA_MISMATCH, detail="REDCap's project differs "
                                "from the EDC mapping:\n- " + "\n- ".join(problems))  # fmt: skip
        else:
            result = await _push_batches(rt, api, run_id, dry_run=dry_run, actor=actor,
                                         delays=retry_delays)  # fmt: skip
    except EdcMappingError as exc:
        # Nothing of the batch was sent; the cursor stays; the run says what to fix.
        result = PushResult(PushStatus.MAPPING_ERROR, detail=f"cannot map a record: {exc}")
    except RedcapError as exc:
        kinds = {"refused": PushStatus.REFUSED, "forbidden": PushStatus.FORBIDDEN}
        status = kinds.get(exc.kind, PushStatus.UNAVAILABLE)
        line = {
            PushStatus.REFUSED: "REDCap refused the batch (nothing of it was imported):\n",
            PushStatus.FORBIDDEN: "REDCap refused the token (403): check REDCAP_API_TOKEN and "
            "the user's API import/export rights. ",
        }.get(status, "REDCap did not answer after retries: ")
        result = PushResult(status, detail=line + str(exc))
        if status != PushStatus.REFUSED:  # a 400 is an answer; a 403 or silence is not
            rt.neighbours.failed(REDCAP, f"push {status}", rt.clock.now())
    finally:
        result.pending = await state.pending_changes(await state.push_cursor())
        await state.finish_run(run_id, rt.clock.now(), PushStatus(result.status),
                               cursor_to=await state.push_cursor(), records=result.records,
                               rows=result.rows, conflicts=result.conflicts,
                               detail=result.detail, actor=actor)  # fmt: skip
        await state.release_push_lock(token)
    return result


async def push_if_due(rt: Runtime) -> PushResult | None:
    """The scheduler's entry: a push when REDCap is configured and the interval passed.

    The job ticks with the dispatcher; the last run's start (in the database, so it
    holds across processes and restarts) decides whether a push is due.
    """
    if rt.redcap is None:
        return None
    runs = await state.last_runs(1)
    interval = timedelta(minutes=rt.settings.edc_push_interval_minutes)
    if runs and rt.clock.now() - runs[0].started_at < interval:
        return None
    return await push_to_redcap(rt)
