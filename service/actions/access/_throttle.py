"""Throttle staff sign-in per account and per client address.

Without it, 30 wrong passwords took 2.2 s and the right one still got in. Now every
attempt is a ``login_attempt`` row, written *before* the password is checked and
counted with itself, so parallel guesses from several processes cannot slip past the
limit together (each one sees at least every attempt committed before its own).

* per account: ``ACCOUNT_MAX_FAILURES`` failures since the account's last success,
  inside ``WINDOW``;
* per address: ``ADDRESS_MAX_FAILURES`` failures inside ``WINDOW``, whichever accounts.

A throttled attempt is refused whatever the password (429 with ``Retry-After``), is
audited, and does not itself extend the lock: an attacker can keep an account locked
only by spending one attempt per ``WINDOW / ACCOUNT_MAX_FAILURES``, the usual
trade-off of account lock-outs, which the per-address limit makes costly.

Any sign-in (the API's token route today, the dashboard's form tomorrow) calls
``begin_attempt`` then ``finish_attempt``; ``service.actions.access.authenticate_staff``
does both around the password check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tortoise.transactions import in_transaction

from service.actions.errors import ActionError
from service.db.access_models import LoginAttempt
from service.db.audit import audit
from service.domain.states import AuditAction, LoginOutcome
from service.runtime import Runtime
from service.security import keyed_hash

WINDOW: Final = timedelta(minutes=15)
ACCOUNT_MAX_FAILURES: Final = 5
ADDRESS_MAX_FAILURES: Final = 20
RETENTION: Final = timedelta(days=1)
_COUNTED: Final = (LoginOutcome.PENDING, LoginOutcome.FAILED)


class LoginThrottled(ActionError):
    status_code = 429

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after_s} seconds", field="email"
        )
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    account_key: str


def account_key(rt: Runtime, email: str) -> str:
    return keyed_hash(rt.settings.secret_key, f"staff-login:{email.strip().lower()}")[:20]


def _address(address: str | None) -> str:
    return (address or "unknown")[:64]


def _retry_after(rows: list[LoginAttempt], limit: int, now: datetime) -> int | None:
    """Seconds until enough counted failures leave the window to allow one more, or
    None when the count (this attempt included) is within ``limit``."""
    if len(rows) <= limit:
        return None
    times = sorted(row.at for row in rows)
    freed_at = times[len(times) - limit - 1] + WINDOW
    return max(1, math.ceil((freed_at - now).total_seconds()))


async def begin_attempt(rt: Runtime, email: str, address: str | None, *, channel: str) -> Attempt:
    """Record the attempt, then refuse it if it breaks a limit (raises LoginThrottled)."""
    now = rt.clock.now()
    key = account_key(rt, email)
    where = _address(address)
    attempt = await LoginAttempt.create(
        account_key=key, address=where, outcome=LoginOutcome.PENDING, at=now
    )
    since = now - WINDOW
    last_success = (
        await LoginAttempt.filter(account_key=key, outcome=LoginOutcome.SUCCEEDED, at__gt=since)
        .order_by("-at")
        .first()
    )
    account_since = max(since, last_success.at) if last_success else since
    by_account = await LoginAttempt.filter(
        account_key=key, outcome__in=_COUNTED, at__gt=account_since, id__lte=attempt.id
    )
    by_address = await LoginAttempt.filter(
        address=where, outcome__in=_COUNTED, at__gt=since, id__lte=attempt.id
    )
    account_wait = _retry_after(by_account, ACCOUNT_MAX_FAILURES, now)
    address_wait = _retry_after(by_address, ADDRESS_MAX_FAILURES, now)
    if account_wait is not None or address_wait is not None:
        async with in_transaction():
            await LoginAttempt.filter(id=attempt.id).update(outcome=LoginOutcome.THROTTLED)
            await audit(
                at=now,
                actor=f"anonymous:{channel}",
                action=AuditAction.AUTH_LOGIN_THROTTLED,
                entity="login_attempt",
                entity_id=attempt.id,
                changes={
                    "limit": "account" if account_wait is not None else "address",
                    "account": key,
                },
            )
        raise LoginThrottled(max(w for w in (account_wait, address_wait) if w is not None))
    return Attempt(id=attempt.id, account_key=key)


async def finish_attempt(rt: Runtime, attempt: Attempt, *, succeeded: bool, channel: str) -> None:
    outcome = LoginOutcome.SUCCEEDED if succeeded else LoginOutcome.FAILED
    async with in_transaction():
        await LoginAttempt.filter(id=attempt.id).update(outcome=outcome)
        if not succeeded:
            await audit(
                at=rt.clock.now(),
                actor=f"anonymous:{channel}",
                action=AuditAction.AUTH_LOGIN_FAILED,
                entity="login_attempt",
                entity_id=attempt.id,
                changes={"account": attempt.account_key},
            )


async def purge_old_attempts(rt: Runtime) -> int:
    return await LoginAttempt.filter(at__lt=rt.clock.now() - RETENTION).delete()
