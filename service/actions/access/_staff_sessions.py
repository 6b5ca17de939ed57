"""Dashboard sessions: a cookie token for a signed-in staff member.

Why server-side rows rather than a signed cookie: logout and disabling an account must
end a session at once, and only a row the server can revoke does that. The cookie
holds a random token; the row holds its keyed hash (HMAC under SECRET_KEY), so a copy
of the database cannot be replayed as a cookie.

A session ends when revoked (logout, account disabled), after
``DASHBOARD_IDLE_MINUTES`` without a request, or ``DASHBOARD_SESSION_HOURS`` after
sign-in, whichever comes first. ``last_seen_at`` is written at most once a minute, so
reading pages does not turn every GET into a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from service.actions.access._auth import staff_actor
from service.db.access_models import StaffSession, StaffUser
from service.db.audit import audit
from service.domain.actors import Actor, staff_label
from service.domain.languages import DEFAULT_LANGUAGE, LANGUAGES
from service.domain.states import AuditAction
from service.runtime import Runtime
from service.security import keyed_hash, new_secret

TOUCH_EVERY: Final = timedelta(minutes=1)
# Ended sessions are kept a day for whoever looks into a sign-in, then deleted (the
# audit log keeps the start and the end).
RETENTION: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What a valid session cookie stands for."""

    actor: Actor
    email: str
    locale: str


def session_hash(rt: Runtime, token: str) -> str:
    """What the session row stores for a cookie token (its keyed hash)."""
    return keyed_hash(rt.settings.secret_key, "dashboard:" + token)


def normal_locale(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


async def start_dashboard_session(rt: Runtime, user: StaffUser, locale: str | None) -> str:
    """A new session for ``user`` (already authenticated); returns the cookie token."""
    now = rt.clock.now()
    token = new_secret("fud_")
    async with in_transaction():
        await StaffSession.create(
            token_hash=session_hash(rt, token),
            staff=user,
            locale=normal_locale(locale),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=rt.settings.dashboard_session_hours),
        )
        await audit(
            at=now,
            actor=staff_label(user.email),
            action=AuditAction.DASHBOARD_SESSION_START,
            entity="staff_user",
            entity_id=user.email,
        )
    return token


async def signed_in(rt: Runtime, token: str) -> SignedIn | None:
    """The session's staff member, or None when it is unknown, revoked, idle or old.

    One query to read (session and account together); a write only when the last
    recorded activity is over a minute old.
    """
    if not token:
        return None
    row = await StaffSession.get_or_none(token_hash=session_hash(rt, token)).select_related("staff")
    now = rt.clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at >= timedelta(minutes=rt.settings.dashboard_idle_minutes):
        return None
    user: StaffUser = row.staff
    if not user.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        await StaffSession.filter(id=row.id).update(last_seen_at=now)
    return SignedIn(actor=staff_actor(user), email=user.email, locale=normal_locale(row.locale))


async def end_session(rt: Runtime, token: str) -> bool:
    """Log out: the row is revoked, so the old cookie opens nothing afterwards."""
    now = rt.clock.now()
    row = await StaffSession.get_or_none(token_hash=session_hash(rt, token)).select_related("staff")
    if row is None or row.revoked_at is not None:
        return False
    async with in_transaction():
        await StaffSession.filter(id=row.id).update(revoked_at=now)
        await audit(
            at=now,
            actor=staff_label(row.staff.email),
            action=AuditAction.DASHBOARD_SESSION_END,
            entity="staff_user",
            entity_id=row.staff.email,
            changes={"reason": "logout"},
        )
    return True


async def set_session_locale(rt: Runtime, token: str, locale: str, *, email: str) -> None:
    """Remember the language the person chose (``?lang=``) for the rest of the session."""
    async with in_transaction():
        changed = await StaffSession.filter(
            token_hash=session_hash(rt, token), revoked_at=None
        ).update(locale=normal_locale(locale))
        if changed:
            await audit(
                at=rt.clock.now(),
                actor=staff_label(email),
                action=AuditAction.DASHBOARD_SESSION_LOCALE,
                entity="staff_user",
                entity_id=email,
                changes={"locale": normal_locale(locale)},
            )


async def purge_ended_sessions(rt: Runtime) -> int:
    """Delete sessions past their lifetime, idle or revoked for over ``RETENTION``."""
    now = rt.clock.now()
    idle = timedelta(minutes=rt.settings.dashboard_idle_minutes)
    cutoff = now - RETENTION
    return await StaffSession.filter(
        Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff) | Q(last_seen_at__lt=cutoff - idle)
    ).delete()
