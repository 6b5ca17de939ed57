"""Guards and audit lines shared by everything that writes a claimed outbound row."""

from __future__ import annotations

from datetime import datetime

from tortoise.queryset import QuerySet

from service.db.audit import audit
from service.db.models import OutboundMessage
from service.domain.states import AuditAction, MessageStatus

__all__ = ["audit_message", "claimed_by"]


def claimed_by(row_id: int, token: str) -> QuerySet[OutboundMessage]:
    """The row, only while this claim still owns it (a guard on every write after a claim)."""
    return OutboundMessage.filter(id=row_id, claim_token=token, status=MessageStatus.SENDING)


async def audit_message(
    at: datetime, actor: str, action: AuditAction, row: OutboundMessage, **details: object
) -> None:
    """One audit line per message state change: what and why, never to whom or what text."""
    await audit(
        at=at,
        actor=actor,
        action=action,
        entity="outbound_message",
        entity_id=row.id,
        changes={"kind": row.kind, "purpose": row.purpose, "attempts": row.attempts, **details},
    )
