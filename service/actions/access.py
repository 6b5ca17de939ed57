"""Looking participants up through the actor's site scope.

A participant outside the actor's sites is reported as not found, not forbidden:
a coordinator must not even learn that a study id exists at the other site.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from tortoise.queryset import QuerySet

from service.actions.actors import Actor
from service.actions.errors import NotFound
from service.db.models import Participant
from service.runtime import Runtime


async def participant_for(actor: Actor, study_id: str) -> Participant:
    participant = await Participant.get_or_none(study_id=study_id)
    if participant is None or not _visible(actor, participant):
        raise NotFound(f"no participant {study_id!r}")
    return participant


def _visible(actor: Actor, participant: Participant) -> bool:
    if actor.kind == "participant":
        return actor.participant_id == participant.id
    return actor.can_see_site(participant.site_id)  # type: ignore[attr-defined]  # FK id attr


def scoped_participants(actor: Actor) -> QuerySet[Participant]:
    query = Participant.all()
    if not actor.all_sites:
        query = query.filter(site_id__in=list(actor.sites))
    return query


def local_today(rt: Runtime, participant: Participant) -> date:
    return rt.clock.now().astimezone(ZoneInfo(participant.timezone)).date()
