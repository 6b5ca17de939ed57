"""Who did something, in words: the audit log's actor labels as people read them.

The log keeps labels such as ``staff:ana@uandes.cl`` or ``participant:DEMO-001``
(stable, machine-readable, the ODM's user OIDs are built from them); a page or a
download shows "ana@uandes.cl", "el participante DEMO-001", "el sistema". The prefix
itself is never shown. Labels are taken apart by ``service.domain.actors.actor_name``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from service.domain.actors import actor_name


def N_(message: str) -> str:  # marks a msgid (render.py, which uses this module, has its twin)
    return message


# (kind, name given?) -> words; %(name)s is what followed the prefix.
_WORDS: Final = {
    ("participant", True): N_("the participant %(name)s"),
    ("system", False): N_("the system"),
    ("system", True): N_("the system (%(name)s)"),
    ("twilio", False): N_("Twilio (the SMS provider)"),
    ("apikey", True): N_("the EDC key “%(name)s”"),
    ("anonymous", True): N_("someone not signed in (%(name)s)"),
    ("sms", True): N_("an unknown number"),
}
_SYSTEM_PARTS: Final = {
    "cli": N_("command line"),
    "scheduler": N_("scheduler"),
    "demo": N_("demo data"),
    "dashboard": N_("dashboard sign-in"),
    "api": N_("API sign-in"),
}


def actor_words(label: str | None, gettext: Callable[[str], str]) -> str:
    """``staff:ana@uandes.cl`` -> "ana@uandes.cl"; ``participant:DEMO-001`` -> "el
    participante DEMO-001"; ``system`` -> "el sistema"; unknown kinds as their name.
    ``gettext`` is the dashboard catalog of the page's language."""
    found = actor_name(label)
    if found.kind == "staff" and found.name:
        return found.name
    words = _WORDS.get((found.kind, bool(found.name)))
    if words is None:
        return found.name or found.kind
    name = gettext(_SYSTEM_PARTS[found.name]) if found.name in _SYSTEM_PARTS else found.name
    return gettext(words) % {"name": name}
