"""The site-scope rule every site-scoped read goes through (``Actor``)."""

from __future__ import annotations

import pytest

from service.actions.actors import Actor, Role


def staff(role: Role, *sites: str) -> Actor:
    return Actor(kind="staff", label="staff:x", role=role, sites=sites)


@pytest.mark.parametrize(
    ("actor", "visible", "scope"),
    [
        (staff(Role.ADMIN), {"CUA", "HBLT", None}, None),
        (staff(Role.ADMIN, "CUA"), {"CUA", "HBLT", None}, None),
        (staff(Role.MONITOR), {"CUA", "HBLT", None}, None),
        (staff(Role.MONITOR, "HBLT"), {"HBLT"}, ("HBLT",)),
        (staff(Role.COORDINATOR, "CUA"), {"CUA"}, ("CUA",)),
        (staff(Role.COORDINATOR), set(), ()),
    ],
)
def test_one_rule_for_rows_and_queries(
    actor: Actor, visible: set[str | None], scope: tuple[str, ...] | None
) -> None:
    assert {s for s in ("CUA", "HBLT", None) if actor.can_see_site(s)} == visible
    assert actor.site_scope == scope
    if scope is not None:  # a query limited to the scope finds exactly the visible sites
        assert set(scope) == visible - {None}
