"""Tortoise models of access: staff accounts and their bearer tokens, participants'
app sessions, EDC API keys, one-time sign-in codes and the sign-in throttle's attempts.

Secrets are never stored: tokens, keys and codes are keyed hashes (HMAC under
``SECRET_KEY``), passwords scrypt hashes. One of the app's model modules (the
Tortoise configuration in ``service.settings`` lists them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from service.db.columns import enum_column
from service.domain.states import LoginOutcome, SessionEnd

if TYPE_CHECKING:
    from service.db.models import Participant

__all__ = [
    "ApiKey",
    "AuthToken",
    "LoginAttempt",
    "OneTimeCode",
    "ParticipantSession",
    "StaffSession",
    "StaffUser",
]


class StaffUser(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16)
    sites: fields.JSONField[list[str]] = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_user"


class AuthToken(Model):
    # A bearer token; only its keyed hash is stored.

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "followup.StaffUser", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    staff_id: int | None
    participant: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    participant_id: int | None
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "auth_token"


class ParticipantSession(Model):
    # A participant's app session: long-lived, sliding, revocable; only the token's
    # keyed hash is stored, and the hash of the phone it was issued to.

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="sessions", on_delete=fields.CASCADE
    )
    participant_id: int
    phone_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = enum_column(SessionEnd, max_length=32, null=True)

    class Meta:
        table = "participant_session"


class StaffSession(Model):
    # A dashboard sign-in: only the keyed hash of the cookie's token is stored. Idle
    # timeout and absolute lifetime are checked on every request (actions/access).

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "followup.StaffUser", related_name="dashboard_sessions", on_delete=fields.CASCADE
    )
    staff_id: int
    locale = fields.CharField(max_length=8, default="es")
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_session"


class ApiKey(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    scope = fields.CharField(max_length=16)
    sites: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()

    class Meta:
        table = "api_key"


class OneTimeCode(Model):
    # A mobile-app login code; only its keyed hash is stored.
    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=20)
    code_hash = fields.CharField(max_length=64)
    requester_ip = fields.CharField(max_length=64, null=True)
    attempts = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "one_time_code"
        indexes = (("phone", "created_at"), ("requester_ip", "created_at"))


class LoginAttempt(Model):
    # One staff sign-in attempt, kept for the throttle's window (actions/access).
    # The account is a keyed hash of the lower-cased email, so typed-in addresses of
    # people without an account leave nothing readable behind.
    id = fields.IntField(primary_key=True)
    account_key = fields.CharField(max_length=20)
    address = fields.CharField(max_length=64)
    outcome = enum_column(LoginOutcome, max_length=12)
    at = fields.DatetimeField()

    class Meta:
        table = "login_attempt"
        indexes = (("account_key", "at"), ("address", "at"))
