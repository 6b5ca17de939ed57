"""The site-scope rule every site-scoped read goes through (``Actor``)."""

from __future__ import annotations

import pytest

from service.domain.actors import Actor, actor_name, person_of
from service.domain.states import StaffRole


def staff(role: StaffRole, *sites: str) -> Actor:
    return Actor(kind="staff", label="staff:x", role=role, sites=sites)


@pytest.mark.parametrize(
    ("actor", "visible", "scope"),
    [
        (staff(StaffRole.ADMIN), {"CUA", "HBLT", None}, None),
        (staff(StaffRole.ADMIN, "CUA"), {"CUA", "HBLT", None}, None),
        (staff(StaffRole.MONITOR), {"CUA", "HBLT", None}, None),
        (staff(StaffRole.MONITOR, "HBLT"), {"HBLT"}, ("HBLT",)),
        (staff(StaffRole.COORDINATOR, "CUA"), {"CUA"}, ("CUA",)),
        (staff(StaffRole.COORDINATOR), set(), ()),
    ],
)
def test_one_rule_for_rows_and_queries(
    actor: Actor, visible: set[str | None], scope: tuple[str, ...] | None
) -> None:
    assert {s for s in ("CUA", "HBLT", None) if actor.can_see_site(s)} == visible
    assert actor.site_scope == scope
    if scope is not None:  # a query limited to the scope finds exactly the visible sites
        assert set(scope) == visible - {None}


@pytest.mark.parametrize(
    ("label", "kind", "name"),
    [
        ("staff:ana@uandes.cl", "staff", "ana@uandes.cl"),
        ("participant:DEMO-001", "participant", "DEMO-001"),
        ("system", "system", ""),
        ("system:cli", "system", "cli"),
        ("twilio", "twilio", ""),
        ("anonymous:dashboard", "anonymous", "dashboard"),
        (None, "system", ""),
    ],
)
def test_labels_come_apart_for_people_to_read(label: str | None, kind: str, name: str) -> None:
    found = actor_name(label)
    assert (found.kind, found.name) == (kind, name)


def test_a_login_shows_the_email_never_the_prefix() -> None:
    assert person_of("staff:ana@uandes.cl") == "ana@uandes.cl"
    assert person_of("system") == "system"
