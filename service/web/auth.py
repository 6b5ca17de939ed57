"""Bearer-token authentication as Litestar dependencies."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from service.actions.access import actor_for_token, participant_for_session
from service.domain.actors import Actor
from service.runtime import Runtime
from service.web.participant_language import remember_language


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _bearer_actor(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    rt = runtime_of(request)
    actor = await actor_for_token(rt, token.strip()) or await participant_for_session(
        rt, token.strip()
    )
    if actor is None:
        raise NotAuthorizedException(
            "invalid or expired token", headers={"WWW-Authenticate": "Bearer"}
        )
    return actor


async def provide_staff(request: Request) -> Actor:
    actor = await _bearer_actor(request)
    if actor.kind != "staff":
        raise PermissionDeniedException("a staff token is required")
    return actor


async def provide_participant(request: Request) -> Actor:
    actor = await _bearer_actor(request)
    if actor.kind != "participant":
        raise PermissionDeniedException("a participant token is required")
    remember_language(request, actor.language)
    return actor


async def provide_runtime(request: Request) -> Runtime:
    return runtime_of(request)
