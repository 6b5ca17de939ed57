"""Looking rows up through the actor's site scope.

A participant outside the actor's sites is reported as not found, not forbidden:
a coordinator must not even learn that a study id exists at the other site. The
rule itself is ``Actor.can_see_site`` (one row) and ``Actor.site_scope`` (a query,
through :func:`in_site_scope`); every site-scoped read goes through one of them.
"""

from __future__ import annotations

from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from service.actions.errors import NotFound
from service.db.models import Participant
from service.domain.actors import Actor
from service.domain.states import ActorKind

__all__ = ["in_site_scope", "participant_for", "scoped_participants"]

M = TypeVar("M", bound=Model)


async def participant_for(actor: Actor, study_id: str) -> Participant:
    participant = await Participant.get_or_none(study_id=study_id)
    if participant is None or not _visible(actor, participant):
        raise NotFound(f"no participant {study_id!r}")
    return participant


def _visible(actor: Actor, participant: Participant) -> bool:
    if actor.kind == ActorKind.PARTICIPANT:
        return actor.participant_id == participant.id
    return actor.can_see_site(participant.site_id)


def in_site_scope(query: QuerySet[M], actor: Actor) -> QuerySet[M]:
    """``query`` (of rows with a ``site`` foreign key) limited to the actor's sites."""
    scope = actor.site_scope
    return query if scope is None else query.filter(site_id__in=list(scope))


def scoped_participants(
    actor: Actor, *, site: str | None = None, status: str | None = None
) -> QuerySet[Participant]:
    """The participants of the actor's sites, optionally of one site (another site's
    code simply finds nothing) or one status; a query, so callers page and order it."""
    query = in_site_scope(Participant.all(), actor)
    if site:
        query = query.filter(site_id=site)
    if status:
        query = query.filter(status=status)
    return query
