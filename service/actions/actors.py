"""Who is acting: the audit log's "who" and the site scope of every query."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # staff | participant | system | twilio | apikey
    label: str  # what the audit log shows, e.g. "staff:ana@uandes.cl"
    role: Role | None = None
    sites: tuple[str, ...] = field(default_factory=tuple)
    participant_id: int | None = None

    @property
    def all_sites(self) -> bool:
        """Admins see every site; so do monitors and keys given no site list."""
        return self.role is Role.ADMIN or (self.role is Role.MONITOR and not self.sites)

    def can_see_site(self, site_code: str | None) -> bool:
        """The one site-scope rule for a single row (a participant, an alert, a queue
        item, a site). ``None``, a message from an unknown number, belongs to no site:
        only those who see every site see it. Queries apply the same rule through
        :attr:`site_scope` (``service.actions.access.in_site_scope``)."""
        return self.all_sites or (site_code is not None and site_code in self.sites)

    @property
    def site_scope(self) -> tuple[str, ...] | None:
        """The sites a query is limited to; None: every site."""
        return None if self.all_sites else self.sites

    @property
    def can_write(self) -> bool:
        return self.role in {Role.ADMIN, Role.COORDINATOR}


SYSTEM = Actor(kind="system", label="system")
TWILIO = Actor(kind="twilio", label="twilio")
