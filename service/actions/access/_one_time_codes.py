"""Signing in to the mobile app with a one-time code sent by SMS.

What the rules protect against, and how:

* **Enumeration.** ``request_code`` behaves the same for every number: a number that
  is not an active, consenting participant still gets a code row (whose hash is of a
  random secret nobody holds), so a later ``verify_code`` answers "wrong code",
  counts attempts and expires exactly as for a real one. Only the SMS differs, and
  the web layer runs this action after the 202 has gone out, so not even the
  response time tells them apart.
* **A stolen database.** The code is stored only as an HMAC under SECRET_KEY over the
  phone and the code; the SMS row keeps a placeholder body and no parameters (the
  text is rendered here and handed to the outbox's one-time send path). The ``phone`` column of
  ``one_time_code`` holds a keyed pseudonym of the number, not the number, so people
  who typed their number into the app but are not in the trial leave nothing
  readable behind.
* **Guessing.** Six digits from ``secrets``, ten minutes, five attempts per code (an
  attempt is reserved atomically before comparing, so parallel guesses cannot exceed
  it), and at most one code a minute and five an hour per number, twenty an hour per
  client address. A newer code retires the older ones.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from service.actions import outbox
from service.actions.access._participant_sessions import start_session
from service.actions.errors import FieldInvalid
from service.actions.outbox import render_text
from service.adapters.phones import InvalidPhone, normalize_any
from service.adapters.redaction import mask_phone
from service.db.access_models import OneTimeCode
from service.db.audit import audit
from service.db.models import OutboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.states import SENT, AuditAction, ParticipantStatus
from service.runtime import Runtime
from service.security import keyed_hash

__all__ = [
    "CODE_TTL",
    "IP_MAX_PER_HOUR",
    "MAX_ATTEMPTS",
    "OTP_BODY_PLACEHOLDER",
    "PHONE_MAX_PER_HOUR",
    "PHONE_MIN_INTERVAL",
    "CodeRejected",
    "purge_stale_codes",
    "request_code",
    "verify_code",
]

log = logging.getLogger("service.mobile_auth")

CODE_DIGITS: Final = 6
CODE_TTL: Final = timedelta(minutes=10)
MAX_ATTEMPTS: Final = 5
PHONE_MIN_INTERVAL: Final = timedelta(seconds=60)
PHONE_MAX_PER_HOUR: Final = 5
IP_MAX_PER_HOUR: Final = 20
OTP_BODY_PLACEHOLDER: Final = "(one-time code)"
CODE_RETENTION: Final = timedelta(days=1)
_HOUR: Final = timedelta(hours=1)
_ANONYMOUS: Final = "anonymous"

_WRONG: Final = "the code is not right"
_EXPIRED: Final = ("the code has expired; request a new one", "code_expired")


class CodeRejected(FieldInvalid):
    """A code that does not sign anyone in (always names the field ``code``).

    ``code`` is one of ``code_format``, ``code_wrong`` (attempts remain),
    ``too_many_attempts`` (this code is spent) or ``code_expired`` (none alive): the
    same for a number nobody has, so the codes tell a caller nothing about who is
    enrolled."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, field="code", code=code)


_Refusal = tuple[str, str]  # (message, code)
_SPENT: Final = ("the code was tried too many times; request a new one", "too_many_attempts")


@dataclass(frozen=True, slots=True)
class _Pending:
    """An SMS to hand to the gateway once the transaction has committed."""

    participant: Participant
    message: OutboundMessage
    code: str


def _normalized(phone_raw: str) -> str:
    """E.164 when it parses; otherwise the trimmed text, hashed and limited all the same."""
    try:
        return normalize_any(phone_raw)
    except InvalidPhone:
        return phone_raw.strip()


def _phone_key(rt: Runtime, phone: str) -> str:
    # 80 bits of a keyed hash: unique enough to key rate limits, fits the 20-char column.
    return keyed_hash(rt.settings.secret_key, f"otp-phone:{phone}")[:20]


def _code_hash(rt: Runtime, phone: str, code: str) -> str:
    return keyed_hash(rt.settings.secret_key, f"otp-code:{phone}:{code}")


async def _eligible_participant(phone: str) -> Participant | None:
    """Who may receive a code: enrolled, active, consenting, not opted out or blocked.

    Locks the row (PostgreSQL) so two parallel requests for one participant count
    each other in the rate limits; paused participants still sign in, because the
    app is where they unpause.
    """
    participant = await Participant.select_for_update(no_key=True).get_or_none(phone=phone)
    if (
        participant is None
        or not participant.active
        or not participant.sms_consent
        or participant.opted_out
        or participant.sms_blocked_code is not None
    ):
        return None
    return participant


async def _rate_limited(phone_key: str, ip: str | None, now: datetime) -> str | None:
    """Which limit a new request would break, or None."""
    recent = OneTimeCode.filter(phone=phone_key, created_at__gt=now - _HOUR)
    if await recent.filter(created_at__gt=now - PHONE_MIN_INTERVAL).exists():
        return "phone_interval"
    if await recent.count() >= PHONE_MAX_PER_HOUR:
        return "phone_hourly"
    if ip is not None:
        per_ip = OneTimeCode.filter(requester_ip=ip, created_at__gt=now - _HOUR)
        if await per_ip.count() >= IP_MAX_PER_HOUR:
            return "ip_hourly"
    return None


async def request_code(rt: Runtime, phone_raw: str, requester_ip: str | None) -> None:
    """Issue a code for ``phone_raw`` and text it if the number belongs to a participant.

    Never raises for anything the caller typed: the outcome is only in the audit log.
    """
    now = rt.clock.now()
    phone = _normalized(phone_raw)
    phone_key = _phone_key(rt, phone)
    ip = requester_ip[:64] if requester_ip else None
    pending: _Pending | None = None
    async with in_transaction():
        participant = await _eligible_participant(phone)
        limit = await _rate_limited(phone_key, ip, now)
        if limit is not None:
            # A refusal writes nothing (not even audit: a flood must not grow the log).
            log.info("one-time code request refused by rate limit %s", limit)
            return
        # A newer code retires every older one still alive.
        await OneTimeCode.filter(phone=phone_key, used_at=None, expires_at__gt=now).update(
            expires_at=now
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        hashed = code if participant else secrets.token_urlsafe(32)  # nobody holds it
        row = await OneTimeCode.create(
            phone=phone_key,
            code_hash=_code_hash(rt, phone, hashed),
            requester_ip=ip,
            attempts=0,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        if participant is not None:
            message = await _record_sms(rt, participant, row, code, now)
            pending = _Pending(participant, message, code)
        outcome = {"outcome": "sent", "study_id": participant.study_id} if participant else {}
        await audit(
            at=now,
            actor=_ANONYMOUS,  # whoever typed the number; only verify proves who it is
            action=AuditAction.MOBILE_CODE_REQUEST,
            entity="one_time_code",
            entity_id=row.id,
            changes={"outcome": "not_eligible", "ip": ip, **outcome},
        )
    if pending is not None:
        await _deliver(rt, pending)


async def _record_sms(
    rt: Runtime, participant: Participant, row: OneTimeCode, code: str, now: datetime
) -> OutboundMessage:
    """The message's row, without the code: placeholder body, no parameters, born
    claimed by this request (the dispatcher renders from ``params``, where the code
    must never be), so only :func:`_deliver` sends it."""
    rendered = render_text(rt, "otp.code", participant.language, {"code": code}, None)
    return await outbox.enqueue_one_time(
        rt,
        participant=participant,
        purpose="otp",
        occurrence=str(row.id),
        message_key="otp.code",
        placeholder=OTP_BODY_PLACEHOLDER,
        encoding=rendered.encoding,
        expires_in=CODE_TTL,  # a late code is a useless code
    )


async def _deliver(rt: Runtime, pending: _Pending) -> None:
    """Hand the text to the outbox's send path; a failure is recorded, never raised."""
    participant, message = pending.participant, pending.message
    text = render_text(rt, "otp.code", participant.language, {"code": pending.code}, None).text
    sent = await outbox.send_one_time(rt, message, participant, text, secret=pending.code)
    if sent.status not in SENT:
        log.warning(
            "one-time code SMS for %s to %s not sent (%s)",
            participant.study_id,
            mask_phone(participant.phone),
            sent.status,
        )


async def verify_code(rt: Runtime, phone_raw: str, code: str) -> str:
    """Exchange a live code for a participant bearer token (only its hash is stored).

    Unknown numbers and real ones fail the same way: "not right" while attempts
    remain, then "expired". Raises :class:`CodeRejected` (400, field ``code``).
    """
    code = code.strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        raise CodeRejected(f"the code is {CODE_DIGITS} digits", "code_format")
    now = rt.clock.now()
    phone = _normalized(phone_raw)
    # One transaction: the reserved attempt, the code's use, its audit entry and the
    # session commit together (a crash cannot leave a used code without its audit or
    # an audited sign-in without its session). A refusal is decided inside and raised
    # after the commit, so the spent attempt and its audit entry stay.
    async with in_transaction():
        refusal, token = await _verify_in_transaction(rt, phone, code, now)
    if token is None:
        raise CodeRejected(*refusal)
    return token


async def _verify_in_transaction(
    rt: Runtime, phone: str, code: str, now: datetime
) -> tuple[_Refusal, str | None]:
    """(refusal, None) or (("", ""), token); the caller holds the transaction."""
    row = (
        await OneTimeCode.filter(phone=_phone_key(rt, phone), used_at=None)
        .order_by("-created_at", "-id")
        .first()
    )
    # Reserve one attempt before comparing: parallel guesses cannot exceed the limit.
    reserved = 0
    if row is not None:
        reserved = await OneTimeCode.filter(
            id=row.id, used_at=None, attempts__lt=MAX_ATTEMPTS, expires_at__gt=now
        ).update(attempts=F("attempts") + 1)
    if row is None or not reserved:  # nothing changed, so nothing to audit
        spent = row is not None and row.attempts >= MAX_ATTEMPTS and row.expires_at > now
        return (_SPENT if spent else _EXPIRED), None
    participant: Participant | None = None
    if hmac.compare_digest(row.code_hash, _code_hash(rt, phone, code)):
        participant = await Participant.get_or_none(phone=phone, status=ParticipantStatus.ACTIVE)
    if participant is None:
        left = MAX_ATTEMPTS - row.attempts - 1
        await _audit_verify(now, _ANONYMOUS, row, "wrong")
        wrong = (f"{_WRONG}; {left} attempt(s) left", "code_wrong")
        return (wrong if left else _SPENT), None
    used = await OneTimeCode.filter(id=row.id, used_at=None).update(used_at=now)
    if not used:  # the same code, verified twice at once: only one wins
        return _EXPIRED, None
    await _audit_verify(now, participant_label(participant.study_id), row, "ok")
    return ("", ""), await start_session(rt, participant)


async def _audit_verify(now: datetime, actor: str, row: OneTimeCode, outcome: str) -> None:
    await audit(
        at=now,
        actor=actor,
        action=AuditAction.MOBILE_CODE_VERIFY,
        entity="one_time_code",
        entity_id=row.id,
        changes={"outcome": outcome},
    )


async def purge_stale_codes(rt: Runtime, *, older_than: timedelta = CODE_RETENTION) -> int:
    """Delete code rows nobody needs any more; returns how many (for a periodic job).

    A row matters for its ten minutes and for the rate limits' hour; after that it
    is only a trace of who typed which number, and the audit log keeps the history.
    """
    return await OneTimeCode.filter(created_at__lt=rt.clock.now() - older_than).delete()
