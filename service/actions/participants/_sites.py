"""Sites come from the protocol file; only their on-call numbers live in the database."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from service.actions.errors import FieldInvalid, Forbidden, NotFound
from service.actions.participants._records import SiteRecord, sites_by_code
from service.adapters.phones import InvalidPhone, normalize_mobile
from service.db.audit import audit
from service.db.models import Site
from service.domain.actors import SYSTEM, Actor
from service.domain.states import AuditAction, StaffRole
from service.runtime import Runtime


async def visible_sites(actor: Actor) -> list[SiteRecord]:
    """The sites the actor may see, in code order, with their on-call numbers."""
    return [site for site in await sites_by_code() if actor.can_see_site(site.code)]


async def sync_sites(rt: Runtime) -> int:
    """Make the site table match the protocol file; returns how many rows changed."""
    changed = 0
    async with in_transaction():
        for site in rt.protocol.sites:
            row = await Site.get_or_none(code=site.code)
            values = {"name": site.name, "timezone": site.timezone, "help_line": site.help_line}
            if row is None:
                await Site.create(
                    code=site.code, name=site.name, timezone=site.timezone, help_line=site.help_line
                )
            elif any(getattr(row, k) != v for k, v in values.items()):
                await row.update_from_dict(values).save()
            else:
                continue
            changed += 1
            await audit(
                at=rt.clock.now(),
                actor=SYSTEM.label,
                action=AuditAction.SITE_SYNC,
                entity="site",
                entity_id=site.code,
                changes=values,
                reason=f"protocol revision {rt.protocol.revision[:12]}",
            )
    return changed


async def set_on_call(
    rt: Runtime, actor: Actor, code: str, primary: str, backup: str | None
) -> Site:
    if actor.role is not StaffRole.ADMIN:
        raise Forbidden("only an admin sets on-call numbers")
    site = await Site.get_or_none(code=code)
    if site is None:
        raise NotFound(f"no site {code!r}")
    numbers: dict[str, str | None] = {}
    for field, raw in (("primary", primary), ("backup", backup)):
        if raw is None:
            numbers[field] = None
            continue
        try:
            numbers[field] = normalize_mobile(raw)
        except InvalidPhone as exc:
            raise FieldInvalid(f"{field} {exc}", field=field) from None
    async with in_transaction():
        site.on_call_primary = numbers["primary"]
        site.on_call_backup = numbers["backup"]
        await site.save()
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.SITE_ON_CALL,
            entity="site",
            entity_id=code,
            changes={"primary": "(set)", "backup": "(set)" if backup else None},
        )
    return site
