"""Participant app sessions: long-lived, sliding, revocable.

A 12-hour token meant a code by SMS twice a day. A participant's phone is a
personal device the app already unlocks, so the session slides instead: it lasts
``SESSION_IDLE`` (30 days) from its last use, and never longer than
``SESSION_MAX`` (180 days) from sign-in, after which a new code is needed.

It stops working *at once*, whoever changed what:

* on withdrawal, a phone change, or a coordinator's revocation, the session rows
  are revoked (``revoked_at``, ``revoked_reason``, audited);
* independently, every use checks the participant is still active, not opted out,
  and still has the phone the session was issued to (its keyed hash is stored with
  the session), so no path that changes those can leave a working session behind.

Only keyed hashes of the token and of the phone are stored. Extending a session is
bookkeeping (like a conversation's ``updated_at``): it is written at most once per
``TOUCH_EVERY`` and not audited; sign-in and revocation are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from tortoise.transactions import in_transaction

from service.db.access_models import ParticipantSession
from service.db.audit import audit
from service.db.models import Participant
from service.domain.actors import Actor, participant_actor, participant_label
from service.domain.states import AuditAction, SessionEnd
from service.runtime import Runtime
from service.security import keyed_hash, new_secret

SESSION_IDLE: Final = timedelta(days=30)
SESSION_MAX: Final = timedelta(days=180)
TOUCH_EVERY: Final = timedelta(hours=1)
TOKEN_PREFIX: Final = "fp_"  # noqa: S105  # tells session tokens apart, not a secret


def _phone_hash(rt: Runtime, phone: str) -> str:
    return keyed_hash(rt.settings.secret_key, f"session-phone:{phone}")


def _usable(participant: Participant) -> bool:
    return participant.active and not participant.opted_out


async def start_session(rt: Runtime, participant: Participant) -> str:
    """A new session for a participant who just proved the phone; returns the token once."""
    now = rt.clock.now()
    token = new_secret(TOKEN_PREFIX)
    async with in_transaction():
        row = await ParticipantSession.create(
            token_hash=keyed_hash(rt.settings.secret_key, token),
            participant=participant,
            phone_hash=_phone_hash(rt, participant.phone),
            created_at=now,
            last_used_at=now,
            expires_at=now + SESSION_IDLE,
        )
        await audit(
            at=now,
            actor=participant_label(participant.study_id),
            action=AuditAction.SESSION_START,
            entity="participant_session",
            entity_id=row.id,
            changes={"study_id": participant.study_id, "expires_at": row.expires_at},
        )
    return token


async def participant_for_session(rt: Runtime, token: str) -> Actor | None:
    """The participant a live session token opens, sliding its expiry; else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = rt.clock.now()
    row = await ParticipantSession.get_or_none(
        token_hash=keyed_hash(rt.settings.secret_key, token), revoked_at=None
    )
    if row is None or row.expires_at <= now or row.created_at + SESSION_MAX <= now:
        return None
    participant = await Participant.get_or_none(id=row.participant_id)
    if participant is None or not _usable(participant):
        return None
    if row.phone_hash != _phone_hash(rt, participant.phone):
        return None
    if now - row.last_used_at >= TOUCH_EVERY:
        expires = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
        await ParticipantSession.filter(id=row.id, revoked_at=None).update(
            last_used_at=now, expires_at=expires
        )
    return participant_actor(participant.study_id, participant.id, participant.language)


async def revoke_sessions(
    rt: Runtime, participant: Participant, *, reason: SessionEnd, actor_label: str
) -> int:
    """End every live session of ``participant``; returns how many. Call inside the
    caller's transaction when it has one (withdrawal, phone change)."""
    now = rt.clock.now()
    revoked = await ParticipantSession.filter(
        participant_id=participant.id, revoked_at=None
    ).update(revoked_at=now, revoked_reason=reason)
    if revoked:
        await audit(
            at=now,
            actor=actor_label,
            action=AuditAction.SESSION_REVOKE,
            entity="participant",
            entity_id=participant.study_id,
            changes={"sessions": revoked, "reason": reason},
        )
    return revoked


async def end_participant_session(rt: Runtime, token: str) -> None:
    """The participant signs out: this session, and only it, stops working."""
    if not token.startswith(TOKEN_PREFIX):
        return
    now = rt.clock.now()
    row = await ParticipantSession.get_or_none(
        token_hash=keyed_hash(rt.settings.secret_key, token), revoked_at=None
    )
    if row is None:
        return
    participant = await Participant.get(id=row.participant_id)
    async with in_transaction():
        await ParticipantSession.filter(id=row.id, revoked_at=None).update(
            revoked_at=now, revoked_reason=SessionEnd.SIGNED_OUT
        )
        await audit(
            at=now,
            actor=participant_label(participant.study_id),
            action=AuditAction.SESSION_REVOKE,
            entity="participant_session",
            entity_id=row.id,
            changes={"sessions": 1, "reason": SessionEnd.SIGNED_OUT},
        )


async def revoke_by_staff(rt: Runtime, participant: Participant, actor: Actor) -> int:
    """A coordinator ends the participant's app sessions (a lost phone, a shared one)."""
    async with in_transaction():
        return await revoke_sessions(
            rt, participant, reason=SessionEnd.STAFF, actor_label=actor.label
        )
