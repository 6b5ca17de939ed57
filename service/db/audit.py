"""The append-only audit log; every action that writes calls :func:`audit` in its transaction.

``action`` is an :class:`~service.domain.states.AuditAction`; the column stays a plain
VARCHAR (not an enum field) because the log outlives the code: an action that is
retired one day must still read back from the rows that recorded it."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from service.db.hot_rows import insert_row
from service.db.models import AuditEntry
from service.domain.states import AuditAction


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


async def audit(
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    entity: str,
    entity_id: str | int,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    # One cached INSERT (hot_rows): building a model instance and its query cost more
    # than the insert on the inbox's path (decision 0113); the row is the same.
    await insert_row(
        AuditEntry,
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "changes": _jsonable(changes or {}),
            "reason": reason,
        },
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: [old, new]} for the fields that changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
