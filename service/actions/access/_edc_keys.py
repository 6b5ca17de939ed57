"""EDC keys: who is pulling, and which sites they may see.

A key is stored only as its keyed hash (``followup apikey add NAME --scope edc``). A
key given ``--site`` codes sees those sites alone; a key without sites sees every
site. Keys read and never write, so they act as a monitor would.
"""

from __future__ import annotations

from service.db.access_models import ApiKey
from service.domain.actors import Actor
from service.domain.states import ActorKind, StaffRole
from service.runtime import Runtime
from service.security import keyed_hash

__all__ = ["actor_for_edc_key"]


async def actor_for_edc_key(rt: Runtime, key: str) -> Actor | None:
    row = await ApiKey.get_or_none(key_hash=keyed_hash(rt.settings.secret_key, key))
    if row is None or row.scope != "edc":
        return None
    return Actor(
        kind=ActorKind.APIKEY,
        label=f"{ActorKind.APIKEY}:{row.name}",
        role=StaffRole.MONITOR,
        sites=tuple(row.sites or ()),
    )
