"""Staff login, bearer tokens and EDC API keys."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from tortoise.transactions import in_transaction

from service.actions.access._throttle import begin_attempt, finish_attempt
from service.actions.errors import ActionError, Conflict, FieldInvalid, NotFound
from service.db.access_models import ApiKey, AuthToken, StaffSession, StaffUser
from service.db.audit import audit
from service.db.models import Participant
from service.domain.actors import Actor, participant_actor, participant_label, staff_label
from service.domain.states import ActorKind, AuditAction, StaffRole
from service.runtime import Runtime
from service.security import hash_password, keyed_hash, new_secret, verify_password


@cache
def _dummy_hash(cost: int) -> str:
    """Checked against when the email is unknown, so both paths take the same time."""
    return hash_password("not-a-real-password", cost)


class BadCredentials(ActionError):
    status_code = 401


def staff_actor(user: StaffUser) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        label=staff_label(user.email),
        role=StaffRole(user.role),
        sites=tuple(user.sites or ()),
    )


async def authenticate_staff(
    rt: Runtime, email: str, password: str, address: str | None, *, channel: str
) -> StaffUser:
    """Check a staff sign-in, throttled per account and per address.

    The one entry point for every staff login (``channel`` is "api" for the token
    route, "dashboard" for the dashboard's form): raises ``LoginThrottled`` (429)
    before the password is even checked once a limit is reached, ``BadCredentials``
    (401) for a wrong email or password or a disabled account, alike.
    """
    attempt = await begin_attempt(rt, email, address, channel=channel)
    user = await StaffUser.get_or_none(email=email.strip().lower(), active=True)
    stored = user.password_hash if user else _dummy_hash(rt.settings.password_hash_cost)
    ok = verify_password(password, stored) and user
    await finish_attempt(rt, attempt, succeeded=bool(ok), channel=channel)
    if not ok or user is None:
        raise BadCredentials("email or password is wrong")
    return user


async def login(rt: Runtime, email: str, password: str, address: str | None = None) -> str:
    user = await authenticate_staff(rt, email, password, address, channel="api")
    return await issue_token(rt, staff=user)


def _token_owner(staff: StaffUser | None, participant: Participant | None) -> str:
    if staff is not None:
        return staff_label(staff.email)
    if participant is None:
        raise ValueError("a token is for a staff user or a participant")
    return participant_label(participant.study_id)


async def issue_token(
    rt: Runtime, *, staff: StaffUser | None = None, participant: Participant | None = None
) -> str:
    now = rt.clock.now()
    token = new_secret("fu_")
    async with in_transaction():
        await AuthToken.create(
            token_hash=keyed_hash(rt.settings.secret_key, token),
            staff=staff,
            participant=participant,
            created_at=now,
            expires_at=now + timedelta(hours=rt.settings.token_ttl_hours),
        )
        who = _token_owner(staff, participant)
        await audit(
            at=now, actor=who, action=AuditAction.AUTH_TOKEN, entity="auth_token", entity_id=who
        )
    return token


async def actor_for_token(rt: Runtime, token: str) -> Actor | None:
    row = await AuthToken.get_or_none(token_hash=keyed_hash(rt.settings.secret_key, token))
    if row is None or row.expires_at <= rt.clock.now():
        return None
    if row.staff_id is not None:
        user = await StaffUser.get_or_none(id=row.staff_id, active=True)
        return staff_actor(user) if user else None
    participant = await Participant.get_or_none(id=row.participant_id)
    if participant is None or not participant.active or participant.opted_out:
        return None  # a pre-session participant token ends with follow-up or an opt-out
    return participant_actor(participant.study_id, participant.id, participant.language)


async def add_staff_user(
    rt: Runtime,
    email: str,
    role: str,
    sites: list[str],
    password: str,
    *,
    actor_label: str = "system:cli",
) -> StaffUser:
    email = email.strip().lower()
    if "@" not in email:
        raise FieldInvalid("email is not an email address", field="email")
    if role not in set(StaffRole):
        raise FieldInvalid("role must be admin, coordinator or monitor", field="role")
    known = {s.code for s in rt.protocol.sites}
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise FieldInvalid(f"unknown site(s): {', '.join(unknown)}", field="site")
    if role == StaffRole.COORDINATOR and not sites:
        raise FieldInvalid("a coordinator needs at least one --site", field="site")
    if len(password) < 10:
        raise FieldInvalid("password must be at least 10 characters", field="password")
    if await StaffUser.filter(email=email).exists():
        raise Conflict(f"{email} already has an account", field="email")
    async with in_transaction():
        user = await StaffUser.create(
            email=email,
            role=role,
            sites=sites,
            password_hash=hash_password(password, rt.settings.password_hash_cost),
        )
        await audit(
            at=rt.clock.now(),
            actor=actor_label,
            action=AuditAction.STAFF_ADD,
            entity="staff_user",
            entity_id=email,
            changes={"role": role, "sites": sites},
        )
    return user


async def set_staff_active(rt: Runtime, email: str, *, active: bool, actor: str) -> StaffUser:
    """Disable (or enable again) a staff account.

    Disabling ends every session at once: ``actor_for_token`` reads ``active`` on
    each request, and the account's tokens are deleted and its dashboard sessions
    revoked in the same transaction, so enabling the account later does not bring old
    tokens or cookies back to life.
    """
    email = email.strip().lower()
    user = await StaffUser.get_or_none(email=email)
    if user is None:
        raise NotFound(f"no staff account {email}", field="email")
    async with in_transaction():
        revoked = sessions = 0
        if not active:
            revoked = await AuthToken.filter(staff_id=user.id).delete()
            sessions = await StaffSession.filter(staff_id=user.id, revoked_at=None).update(
                revoked_at=rt.clock.now()
            )
        await StaffUser.filter(id=user.id).update(active=active)
        await audit(
            at=rt.clock.now(),
            actor=actor,
            action=AuditAction.STAFF_ENABLE if active else AuditAction.STAFF_DISABLE,
            entity="staff_user",
            entity_id=email,
            changes={"active": active, "tokens_revoked": revoked, "sessions_ended": sessions},
        )
    user.active = active
    return user


async def add_api_key(rt: Runtime, name: str, scope: str, sites: list[str]) -> str:
    if scope != "edc":
        raise FieldInvalid("scope must be edc", field="scope")
    if await ApiKey.filter(name=name).exists():
        raise Conflict(f"an API key named {name!r} exists", field="name")
    key = new_secret("edc_")
    async with in_transaction():
        await ApiKey.create(
            name=name,
            key_hash=keyed_hash(rt.settings.secret_key, key),
            scope=scope,
            sites=sites,
            created_at=rt.clock.now(),
        )
        await audit(
            at=rt.clock.now(),
            actor="system:cli",
            action=AuditAction.APIKEY_ADD,
            entity="api_key",
            entity_id=name,
            changes={"scope": scope, "sites": sites},
        )
    return key
