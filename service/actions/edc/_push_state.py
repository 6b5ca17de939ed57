"""The REDCap push's state: cursor, lock, per-slot baselines, conflicts, runs.

Plain values out (dicts, dataclasses), never models: the push action and the status
route work with these functions only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.db.audit import audit
from service.db.edc_models import EdcChange, EdcConflict, EdcPushRun, EdcPushSlot
from service.db.models import ServiceState
from service.domain.states import AuditAction, ConflictStatus, PushStatus

__all__ = [
    "ConflictView",
    "RunView",
    "Slot",
    "claim_push_lock",
    "conflict_view",
    "finish_run",
    "last_runs",
    "metadata_verified",
    "open_conflicts",
    "pending_changes",
    "push_cursor",
    "record_batch",
    "release_push_lock",
    "sent_baselines",
    "set_metadata_verified",
    "start_run",
]

CURSOR_KEY: Final = "edc.push.cursor"
METADATA_KEY: Final = "edc.push.metadata_revision"
LOCK_KEY: Final = "edc.push.lock"
LOCK_TTL: Final = timedelta(minutes=10)
Slot = tuple[str, str, str, int]  # record, event, form, instance


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    cursor_from: int
    cursor_to: int | None
    records: int
    rows: int
    conflicts: int
    detail: str | None


@dataclass(frozen=True, slots=True)
class ConflictView:
    id: int
    record: str
    site: str
    event: str
    form: str
    instance: int
    field: str
    ours: str
    theirs: str
    detected_at: datetime
    resolution: str | None = None  # keep_redcap / send_ours, once chosen
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    applied_at: datetime | None = None  # when the choice took effect in REDCap


def conflict_view(r: EdcConflict) -> ConflictView:
    return ConflictView(
        r.id, r.record, r.site_code, r.event, r.form, r.instance, r.field_name, r.ours,
        r.theirs, r.detected_at, r.resolution.value if r.resolution else None, r.resolved_by,
        r.resolved_at, r.applied_at,
    )  # fmt: skip


async def _state(key: str) -> str | None:
    row = await ServiceState.get_or_none(key=key)
    return row.value if row else None


async def _set_state(key: str, value: str, now: datetime) -> None:
    updated = await ServiceState.filter(key=key).update(value=value, updated_at=now)
    if not updated:
        await ServiceState.create(key=key, value=value, updated_at=now)


async def push_cursor() -> int:
    return int(await _state(CURSOR_KEY) or 0)


async def metadata_verified(revision: str) -> bool:
    return await _state(METADATA_KEY) == revision


async def set_metadata_verified(revision: str, now: datetime) -> None:
    await _set_state(METADATA_KEY, revision, now)


async def claim_push_lock(now: datetime) -> str | None:
    """One push at a time across processes; a lock older than LOCK_TTL is taken over."""
    token = secrets.token_hex(8)
    taken = await ServiceState.filter(key=LOCK_KEY, updated_at__lt=now - LOCK_TTL).update(
        value=token, updated_at=now
    )
    if taken:
        return token
    try:
        await ServiceState.create(key=LOCK_KEY, value=token, updated_at=now)
    except IntegrityError:
        return None
    return token


async def release_push_lock(token: str) -> None:
    await ServiceState.filter(key=LOCK_KEY, value=token).delete()


async def pending_changes(cursor: int) -> int:
    return int(await EdcChange.filter(id__gt=cursor).count())


async def start_run(now: datetime, cursor: int) -> int:
    run = await EdcPushRun.create(started_at=now, cursor_from=cursor)
    return int(run.id)


async def finish_run(run_id: int, now: datetime, status: PushStatus, *, cursor_to: int | None,
                     records: int = 0, rows: int = 0, conflicts: int = 0,
                     detail: str | None = None, actor: str = "system") -> None:  # fmt: skip
    """Close a run and audit it, whatever its outcome (refusals and 403s included)."""
    async with in_transaction():
        await EdcPushRun.filter(id=run_id).update(
            finished_at=now, status=status, cursor_to=cursor_to, records=records, rows=rows,
            conflicts=conflicts, detail=detail,
        )  # fmt: skip
        await audit(
            at=now,
            actor=actor,
            action=AuditAction.EDC_REDCAP_PUSH_RUN,
            entity="edc_push_run",
            entity_id=run_id,
            changes={
                "status": status.value,
                "cursor": cursor_to,
                "rows": rows,
                "conflicts": conflicts,
            },
            reason=(detail or "")[:2000] or None,
        )


async def sent_baselines(slots: Iterable[Slot]) -> dict[Slot, dict[str, str]]:
    wanted = set(slots)
    if not wanted:
        return {}
    rows = await EdcPushSlot.filter(record__in={s[0] for s in wanted}).values(
        "record", "event", "form", "instance", "sent"
    )
    found = {(r["record"], r["event"], r["form"], r["instance"]): r["sent"] for r in rows}
    return {slot: dict(found[slot]) for slot in wanted if slot in found}


async def record_batch(
    *,
    now: datetime,
    actor: str,
    run_id: int,
    cursor: int,
    sent: Sequence[tuple[Slot, dict[str, str]]],
    conflicts: Sequence[tuple[Slot, str, str, str, str]],  # slot, site, field, ours, theirs
) -> int:
    """After REDCap acknowledged a batch: baselines, new conflicts, cursor, audit -- at once.

    Returns how many conflicts were new (one already open for the same value is kept).
    """
    new = 0
    async with in_transaction():
        existing = {
            (r.record, r.event, r.form, r.instance): r
            for r in await EdcPushSlot.filter(record__in={slot[0] for slot, _ in sent})
        }
        fresh = []
        for slot, values in sent:
            kept = {k: v for k, v in values.items() if v != ""}
            row = existing.get(slot)
            if row is None:
                record, event, form, instance = slot
                fresh.append(
                    EdcPushSlot(record=record, event=event, form=form, instance=instance,
                                sent=kept, last_change_id=cursor, pushed_at=now)
                )  # fmt: skip
            else:
                row.sent = {**row.sent, **kept}
                row.last_change_id, row.pushed_at = cursor, now
                await row.save(update_fields=["sent", "last_change_id", "pushed_at"])
        if fresh:
            await EdcPushSlot.bulk_create(fresh)
        for (record, event, form, instance), site, name, ours, theirs in conflicts:
            # The same hand edit still open: keep one conflict, showing our newest value.
            exists = await EdcConflict.filter(
                record=record, event=event, form=form, instance=instance, field_name=name,
                theirs=theirs, status=ConflictStatus.OPEN,
            ).update(ours=ours)  # fmt: skip
            if not exists:
                new += 1
                await EdcConflict.create(record=record, site_code=site, event=event, form=form,
                                         instance=instance, field_name=name, ours=ours,
                                         theirs=theirs, detected_at=now)  # fmt: skip
        await _set_state(CURSOR_KEY, str(cursor), now)
        await audit(
            at=now,
            actor=actor,
            action=AuditAction.EDC_REDCAP_PUSH,
            entity="edc_push_run",
            entity_id=run_id,
            changes={"cursor": cursor, "slots": len(sent), "new_conflicts": new},
        )
    return new


async def open_conflicts(sites: Sequence[str] | None) -> list[ConflictView]:
    query = EdcConflict.filter(status=ConflictStatus.OPEN)
    if sites is not None:
        query = query.filter(site_code__in=list(sites))
    rows = await query.order_by("id")
    return [conflict_view(r) for r in rows]


async def last_runs(limit: int = 10) -> list[RunView]:
    rows = await EdcPushRun.all().order_by("-id").limit(limit)
    return [
        RunView(r.id, r.started_at, r.finished_at, r.status.value, r.cursor_from, r.cursor_to,
                r.records, r.rows, r.conflicts, r.detail)
        for r in rows
    ]  # fmt: skip
