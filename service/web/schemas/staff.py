"""Staff sign-in and sites: the token exchange, a site and its on-call numbers."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from service.web.schemas.base import StrictBody


class TokenRequest(StrictBody):
    email: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class TokenResponse(msgspec.Struct):
    """RFC 6749 §5.1: ``expires_in`` is the token's lifetime in seconds from now (for a
    participant's sliding session, how long it lives if it is not used again)."""

    access_token: str
    expires_in: Annotated[int, Meta(ge=1, description="seconds until the token expires")]
    token_type: str = "bearer"  # noqa: S105  # the OAuth token type, not a secret


class SiteOut(msgspec.Struct):
    code: str
    name: str
    timezone: str
    help_line: str
    on_call_primary: str | None
    on_call_backup: str | None


class OnCallIn(StrictBody):
    primary: str
    backup: str | None = None
