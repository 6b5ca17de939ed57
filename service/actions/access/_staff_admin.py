"""Staff accounts as an admin manages them from the dashboard: list, add, change role
and sites, disable or enable, set a new password. One transaction each, audited.

No lock-out: an admin cannot disable their own account or take away their own admin
role, and the last active admin can be neither disabled nor demoted, so the study is
never left without someone who can manage accounts from the dashboard. (The command
line, run on the server, stays the way back in: ``followup user add|enable``.)

A new password ends the account's bearer tokens and dashboard sessions (whoever held
the old one is out), except the session of the admin who set their own password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from service.actions.access._auth import add_staff_user, set_staff_active
from service.actions.access._staff_sessions import session_hash
from service.actions.errors import Conflict, FieldInvalid, Forbidden, NotFound
from service.db.access_models import AuthToken, StaffSession, StaffUser
from service.db.audit import audit
from service.domain.actors import Actor
from service.domain.states import AuditAction, StaffRole
from service.runtime import Runtime
from service.security import hash_password

MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class StaffAccount:
    email: str
    role: str
    sites: tuple[str, ...]
    active: bool
    created_at: datetime


def _require_admin(actor: Actor) -> None:
    if actor.role is not StaffRole.ADMIN:
        raise Forbidden("only an admin manages staff accounts")


def _own(actor: Actor, email: str) -> bool:
    return actor.label == f"staff:{email}"


async def staff_accounts(actor: Actor) -> list[StaffAccount]:
    """Every account, by email (one statement)."""
    _require_admin(actor)
    rows = await StaffUser.all().order_by("email")
    return [
        StaffAccount(r.email, r.role, tuple(r.sites or ()), r.active, r.created_at) for r in rows
    ]


def _clean_sites(rt: Runtime, role: str, sites: list[str]) -> list[str]:
    if role not in set(StaffRole):
        raise FieldInvalid("role must be admin, coordinator or monitor", field="role")
    known = [s.code for s in rt.protocol.sites]
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise FieldInvalid(f"unknown site(s): {', '.join(unknown)}", field="sites")
    if role == StaffRole.COORDINATOR and not sites:
        raise FieldInvalid("a coordinator needs at least one site", field="sites")
    return [] if role == StaffRole.ADMIN else [s for s in known if s in sites]


async def add_staff(
    rt: Runtime, actor: Actor, email: str, role: str, sites: list[str], password: str
) -> StaffUser:
    _require_admin(actor)
    return await add_staff_user(
        rt, email, role, _clean_sites(rt, role, sites), password, actor_label=actor.label
    )


async def _account(email: str) -> StaffUser:
    user = await StaffUser.get_or_none(email=email.strip().lower())
    if user is None:
        raise NotFound(f"no staff account {email}", field="email")
    return user


async def _other_active_admins(user: StaffUser) -> int:
    return await StaffUser.filter(role=StaffRole.ADMIN, active=True).exclude(id=user.id).count()


async def change_staff(
    rt: Runtime, actor: Actor, email: str, role: str, sites: list[str]
) -> StaffUser:
    """A new role and site list; refused if it would leave no admin (or demote oneself)."""
    _require_admin(actor)
    user = await _account(email)
    clean = _clean_sites(rt, role, sites)
    if user.role == StaffRole.ADMIN and role != StaffRole.ADMIN:
        if _own(actor, user.email):
            raise Conflict("you cannot take away your own admin role", field="role")
        if user.active and not await _other_active_admins(user):
            raise Conflict("the last active admin cannot lose the role", field="role")
    before = {"role": user.role, "sites": list(user.sites or [])}
    after = {"role": role, "sites": clean}
    if before == after:
        return user
    async with in_transaction():
        await StaffUser.filter(id=user.id).update(role=role, sites=clean)
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.STAFF_UPDATE,
            entity="staff_user",
            entity_id=user.email,
            changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
        )
    user.role, user.sites = role, clean
    return user


async def set_staff_active_by(rt: Runtime, actor: Actor, email: str, *, active: bool) -> None:
    """Disable or enable from the dashboard (the CLI's action, with the lock-out rules)."""
    _require_admin(actor)
    user = await _account(email)
    if not active and _own(actor, user.email):
        raise Conflict("you cannot disable your own account", field="active")
    if not active and user.role == StaffRole.ADMIN and not await _other_active_admins(user):
        raise Conflict("the last active admin cannot be disabled", field="active")
    if user.active != active:
        await set_staff_active(rt, user.email, active=active, actor=actor.label)


async def set_staff_password(
    rt: Runtime, actor: Actor, email: str, password: str, *, current_session: str | None = None
) -> None:
    """A new password; ends the account's tokens and sessions (but the admin's own
    current one when they set their own). Audited without the password or its hash."""
    _require_admin(actor)
    user = await _account(email)
    if len(password) < MIN_PASSWORD:
        raise FieldInvalid(f"password must be at least {MIN_PASSWORD} characters", field="password")
    now = rt.clock.now()
    keep = session_hash(rt, current_session) if current_session and _own(actor, email) else ""
    async with in_transaction():
        await StaffUser.filter(id=user.id).update(
            password_hash=hash_password(password, rt.settings.password_hash_cost)
        )
        tokens = await AuthToken.filter(staff_id=user.id).delete()
        sessions = (
            await StaffSession.filter(staff_id=user.id, revoked_at=None)
            .exclude(token_hash=keep)
            .update(revoked_at=now)
        )
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.STAFF_PASSWORD,
            entity="staff_user",
            entity_id=user.email,
            changes={"password": "(new)", "tokens_revoked": tokens, "sessions_ended": sessions},
        )
