"""Hand-edit conflicts: staff choose, the feed honours the choice.

A conflict is a value changed in REDCap by hand that the push did not overwrite
(``_push``). Staff resolve it one of two ways, each audited with who, when and why:

* **keep REDCap's value**: it becomes the feed's baseline for that field at once, so
  no later push reports it again or writes over it (a new answer from the participant
  is new data and is sent as usual);
* **send ours**: the next push writes the service's value there, provided REDCap
  still holds the hand-edited one (a value changed by hand once more is a new
  conflict again, never overwritten unseen); ``applied_at`` records when it happened.

Coordinators resolve their sites' conflicts; monitors read them; admins all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from tortoise.transactions import in_transaction

from service.actions.edc._push_state import ConflictView, Slot, conflict_view
from service.actions.errors import Conflict, FieldInvalid, Forbidden, NotFound
from service.db.audit import audit
from service.db.edc_models import EdcConflict, EdcPushSlot
from service.domain.actors import Actor
from service.domain.states import AuditAction, ConflictResolution, ConflictStatus
from service.runtime import Runtime

REASON_MAX = 500


async def _set_baseline(slot: Slot, name: str, value: str, now: datetime) -> None:
    record, event, form, instance = slot
    row = await EdcPushSlot.get_or_none(record=record, event=event, form=form, instance=instance)
    if row is not None:
        row.sent = {**row.sent, name: value}
        row.pushed_at = now
        await row.save(update_fields=["sent", "pushed_at"])


async def resolve_conflict(
    rt: Runtime, actor: Actor, conflict_id: int, choice: str, reason: str | None = None
) -> ConflictView:
    """Record a choice for an open conflict of the actor's sites (404 otherwise)."""
    if not actor.can_write:
        raise Forbidden("this role may read but not resolve conflicts")
    try:
        resolution = ConflictResolution(choice)
    except ValueError:
        raise FieldInvalid("choice must be keep_redcap or send_ours", field="choice") from None
    reason = (reason or "").strip() or None
    if reason and len(reason) > REASON_MAX:
        raise FieldInvalid(f"reason is longer than {REASON_MAX} characters", field="reason")
    row = await EdcConflict.get_or_none(id=conflict_id)
    if row is None or not actor.can_see_site(row.site_code):
        raise NotFound(f"no conflict {conflict_id}")
    now = rt.clock.now()
    async with in_transaction():
        taken = await EdcConflict.filter(id=row.id, status=ConflictStatus.OPEN).update(
            status=ConflictStatus.RESOLVED,
            resolution=resolution,
            resolved_by=actor.label,
            resolved_at=now,
            applied_at=now if resolution is ConflictResolution.KEEP_REDCAP else None,
        )
        if not taken:
            raise Conflict("this conflict was resolved a moment ago", field="choice")
        if resolution is ConflictResolution.KEEP_REDCAP:
            slot = (row.record, row.event, row.form, row.instance)
            await _set_baseline(slot, row.field_name, row.theirs, now)
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.EDC_CONFLICT_RESOLVE,
            entity="edc_conflict",
            entity_id=row.id,
            changes={
                "record": row.record,
                "field": row.field_name,
                "choice": resolution.value,
                "value": [row.theirs, row.ours]
                if resolution is ConflictResolution.SEND_OURS
                else [row.ours, row.theirs],
            },
            reason=reason,
        )
    return conflict_view(await EdcConflict.get(id=row.id))


async def resolved_conflicts(sites: Sequence[str] | None, limit: int = 20) -> list[ConflictView]:
    """The latest resolved conflicts of these sites (None: all), newest first."""
    query = EdcConflict.filter(status=ConflictStatus.RESOLVED)
    if sites is not None:
        query = query.filter(site_code__in=list(sites))
    return [conflict_view(r) for r in await query.order_by("-resolved_at", "-id").limit(limit)]


async def chosen_to_send() -> list[ConflictView]:
    """ "Send ours" choices the push has not written yet, oldest first."""
    rows = await EdcConflict.filter(
        resolution=ConflictResolution.SEND_OURS, applied_at=None
    ).order_by("id")
    return [conflict_view(r) for r in rows]


async def record_chosen(
    *,
    now: datetime,
    actor: str,
    written: Iterable[tuple[ConflictView, str]],  # and the value of ours REDCap now holds
    changed_again: Iterable[tuple[ConflictView, str]],
) -> None:
    """After REDCap took the chosen values: baselines, ``applied_at``, audit; a value
    changed by hand once more opens the conflict again, with REDCap's new value."""
    async with in_transaction():
        for c, value in written:
            await EdcConflict.filter(id=c.id).update(applied_at=now)
            await _set_baseline((c.record, c.event, c.form, c.instance), c.field, value, now)
            await audit(
                at=now,
                actor=actor,
                action=AuditAction.EDC_REDCAP_PUSH,
                entity="edc_conflict",
                entity_id=c.id,
                changes={"record": c.record, "field": c.field, "value": [c.theirs, value]},
                reason="the chosen value (send ours) was written to REDCap",
            )
        for c, theirs in changed_again:
            # Changed by hand once more: never overwritten unseen; open again, new value.
            await EdcConflict.filter(id=c.id).update(
                status=ConflictStatus.OPEN, theirs=theirs, resolution=None, resolved_by=None,
                resolved_at=None, detected_at=now,
            )  # fmt: skip
            await audit(
                at=now,
                actor=actor,
                action=AuditAction.EDC_REDCAP_PUSH,
                entity="edc_conflict",
                entity_id=c.id,
                changes={"record": c.record, "field": c.field, "redcap": [c.theirs, theirs]},
                reason="REDCap's value was changed by hand again: the conflict is open again",
            )
