"""Who is acting: the audit log's "who" and the site scope of every query.

One builder for each kind of actor label, so the audit log spells them one way:
``participant:<study id>``, ``staff:<email>``, ``apikey:<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.domain.states import ActorKind, StaffRole

__all__ = [
    "SYSTEM",
    "TWILIO",
    "Actor",
    "ActorName",
    "actor_name",
    "participant_actor",
    "participant_label",
    "person_of",
    "staff_label",
]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    label: str  # what the audit log shows, e.g. "staff:ana@uandes.cl"
    role: StaffRole | None = None
    sites: tuple[str, ...] = field(default_factory=tuple)
    participant_id: int | None = None
    language: str | None = None  # a participant's, for words shown to them (errors)

    @property
    def all_sites(self) -> bool:
        """Admins see every site; so do monitors and keys given no site list."""
        return self.role is StaffRole.ADMIN or (self.role is StaffRole.MONITOR and not self.sites)

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
        return self.role in {StaffRole.ADMIN, StaffRole.COORDINATOR}

    @property
    def is_staff(self) -> bool:
        """Study staff: a signed-in person or an EDC key (both read alerts and lists)."""
        return self.kind in (ActorKind.STAFF, ActorKind.APIKEY)


def participant_label(study_id: str) -> str:
    """The audit log's name for a participant acting on their own behalf."""
    return f"{ActorKind.PARTICIPANT}:{study_id}"


def staff_label(email: str) -> str:
    return f"{ActorKind.STAFF}:{email}"


def participant_actor(study_id: str, participant_id: int, language: str | None = None) -> Actor:
    """A participant acting for themselves (an SMS, the app, a session)."""
    return Actor(
        kind=ActorKind.PARTICIPANT,
        label=participant_label(study_id),
        participant_id=participant_id,
        language=language,
    )


SYSTEM = Actor(kind=ActorKind.SYSTEM, label="system")
TWILIO = Actor(kind=ActorKind.TWILIO, label="twilio")


@dataclass(frozen=True, slots=True)
class ActorName:
    """An audit label taken apart for people to read: ``kind`` says how to word it
    ("staff", "participant", "system", "twilio", "apikey", "anonymous", "sms"),
    ``name`` is what follows the prefix (an email, a study id, "cli", a key's name).
    Pages, exports and the ODM's ``LoginName`` word it; the prefix itself is never shown."""

    kind: str
    name: str


def actor_name(label: str | None) -> ActorName:
    """``"staff:ana@uandes.cl"`` -> ActorName("staff", "ana@uandes.cl"); an unprefixed
    label (``"system"``, ``"twilio"``) is its own kind with no name."""
    kind, _, name = (label or "system").partition(":")
    return ActorName(kind=kind, name=name)


def person_of(label: str) -> str:
    """The human-readable part of a staff label (its email); other labels unchanged.
    For places that show a login rather than a sentence (the ODM's ``LoginName``)."""
    found = actor_name(label)
    return found.name if found.kind == ActorKind.STAFF and found.name else label
