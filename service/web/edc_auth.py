"""The EDC routes' authentication: ``Authorization: Bearer <EDC key>``.

Kept apart from the staff and participant tokens (service.web.auth): an EDC key is
not a session, never expires by itself, and opens only the ``/edc/v1`` routes.
"""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from service.actions.access import actor_for_edc_key
from service.domain.actors import Actor
from service.web.auth import runtime_of


async def provide_edc_key(request: Request) -> Actor:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException("missing EDC key", headers={"WWW-Authenticate": "Bearer"})
    actor = await actor_for_edc_key(runtime_of(request), key.strip())
    if actor is None:
        raise NotAuthorizedException("invalid EDC key", headers={"WWW-Authenticate": "Bearer"})
    return actor
