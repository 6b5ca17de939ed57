"""Passwords, bearer tokens and API keys: only hashes ever reach the database.

Passwords use scrypt (memory-hard, in the standard library, so no native wheel to
install); its cost N = 2**cost is the ``PASSWORD_HASH_COST`` setting (14 by default:
16 MiB and some tens of milliseconds a hash). Each hash records its own parameters, so
verifying never depends on the current setting and raising it later keeps old
passwords valid. Tokens and API keys are long random strings; we store their HMAC-SHA256
under SECRET_KEY, so a copy of the database alone cannot be replayed as a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

DEFAULT_PASSWORD_HASH_COST = 14
_SCRYPT_R, _SCRYPT_P = 8, 1


def _maxmem(n: int, r: int) -> int:
    """scrypt needs 128 * r * N bytes; OpenSSL's default cap (32 MiB) stops at N = 2**14."""
    return 2 * 128 * r * n + 2**20


def hash_password(password: str, cost: int = DEFAULT_PASSWORD_HASH_COST) -> str:
    n = 2**cost
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=_SCRYPT_R, p=_SCRYPT_P, maxmem=_maxmem(n, _SCRYPT_R)
    )
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return "$".join(["scrypt", str(n), str(_SCRYPT_R), str(_SCRYPT_P), *encoded])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt_b64),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=_maxmem(int(n), int(r)),
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def new_secret(prefix: str = "") -> str:
    """A fresh token or key; the prefix lets a leaked one be recognised in a scan."""
    return prefix + secrets.token_urlsafe(32)


def keyed_hash(secret_key: str, value: str) -> str:
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
