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
    access_token: str
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
