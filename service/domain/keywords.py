"""SMS keywords: opt-out, opt-in, help, yes, no, "none", SINTOMAS and CANCELAR.

Participants type on cheap phones, in Chilean Spanish, with or without accents,
capitals and punctuation ("Sí.", " SI ", "¡Alto!", "Baja, gracias"). Every reply is
first brought to one canonical form by :func:`normalize_reply`, then split into
plain ASCII words; keywords are matched on those words, never on the raw text.

The matching rule (one rule for every keyword, so the behaviour is predictable):

* The first word must be a keyword, and the message has at most
  ``MAX_KEYWORD_WORDS`` (4) words.
* Every other word must be politeness ("gracias", "por favor", "porfa", "ok",
  "ya", "altiro", "saludos", "please", "thanks" ...) or a keyword of the same kind
  ("si si", "stop baja").
* So "Baja, gracias", "STOP please", "ayuda por favor" and "no gracias" are
  keywords; "cancelar la cita", "alto dolor de pecho", "necesito ayuda" and
  "si no" are not. A message that is not a keyword goes to the conversation (or to
  the coordinators), which is the safe side: we never unsubscribe someone from
  safety follow-up on a guess.

Twilio's ``OptOutType`` form field (``STOP`` / ``START`` / ``HELP``) wins whenever
it is present: Twilio has already blocked or unblocked the number, and our records
must agree with the carrier's. One exception: ``START`` for a participant who is
not opted out (the caller passes ``subscribed=True``) changed nothing at Twilio, and
YES is one of Twilio's default opt-in words, so an English "YES" answering a
question would otherwise be swallowed as opt-in; then the text is read on its own.

"YES"/"SI" is *not* opt-in here, although Twilio's defaults make YES an opt-in word:
in this service "SI" answers questions (visit confirmation, pregnancy). Opt-in is
START, UNSTOP, ALTA, INICIAR.

ALTO, ALTA and BAJA are also everyday words for "high" and "low". No question
offers or accepts them as answers (severity is 1/2/3, leve/moderado/grave), but
while a conversation waits for a severity answer the caller passes
``awaiting_severity=True`` and those three words are then *ambiguous*: neither a
keyword nor an answer, so the participant is asked again (and, after two tries,
handed to the coordinators). STOP, PARAR ... still opt out, and
``OptOutType`` STOP still wins (Twilio has blocked the number already).

The opt-out words are those that cannot mean anything else. CANCELAR is not one:
someone who answers a visit reminder with "cancelar" most likely means the visit, so
it is ``CANCEL_VISIT``, which the inbound dialogue turns into a request to reschedule
in the coordinators' queue (and, with no visit reminder to answer, free text for the
queue like any other). Twilio's own default CANCEL stays an opt-out: Twilio blocks the
number on it whatever we decide, and our records must agree.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    YES = "yes"
    NO = "no"
    NONE = "none"  # "0", "ninguno": no symptom at all
    SYMPTOMS = "symptoms"  # "SINTOMAS": start a symptom check-in now, unasked
    CANCEL_VISIT = "cancel_visit"  # "CANCELAR": after a visit reminder, reschedule it


MAX_KEYWORD_WORDS: Final = 4

# Stripped from both ends of a reply; inner punctuation ("1,4", "38,5") is kept.
_EDGE_CHARS: Final = " \t\r\n.,;:!?¡¿…'\"«»“”‘’()[]{}*~_-"

_WORDS: Final[dict[str, Keyword]] = {
    # Twilio's default opt-out words, then the Spanish ones.
    **dict.fromkeys(
        (
            "stop",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "baja",
            "parar",
            "alto",
        ),
        Keyword.OPT_OUT,
    ),
    **dict.fromkeys(("start", "unstop", "alta", "iniciar"), Keyword.OPT_IN),
    **dict.fromkeys(("ayuda", "help", "info"), Keyword.HELP),
    **dict.fromkeys(("si", "s", "yes", "y"), Keyword.YES),
    **dict.fromkeys(("no", "n"), Keyword.NO),
    **dict.fromkeys(
        ("0", "ninguno", "ninguna", "ningunos", "ningunas", "nada"),
        Keyword.NONE,
    ),
    **dict.fromkeys(("sintomas", "sintoma", "symptoms"), Keyword.SYMPTOMS),
    **dict.fromkeys(("cancelar", "cancelo", "reagendar"), Keyword.CANCEL_VISIT),
}

KEYWORD_WORDS: Final = frozenset(_WORDS)
"""Every word the service itself reads as a keyword (for the answer/keyword test)."""

# Drawn-out "siii" / "noo" are common and unambiguous.
_YES_RE: Final = re.compile(r"si+")
_NO_RE: Final = re.compile(r"no+")

POLITENESS_WORDS: Final = frozenset(
    {
        "gracias",
        "muchas",
        "mil",
        "por",
        "favor",
        "porfa",
        "porfavor",
        "pf",
        "plis",
        "pls",
        "please",
        "thanks",
        "thank",
        "you",
        "ok",
        "okay",
        "oki",
        "ya",
        "altiro",
        "saludos",
        "bendiciones",
    }
)

# "High"/"low" words: ambiguous (neither keyword nor answer) while severity is asked.
LEVEL_WORDS: Final = frozenset({"alto", "alta", "baja"})

_TWILIO_OPT_OUT_TYPES: Final[dict[str, Keyword]] = {
    "STOP": Keyword.OPT_OUT,
    "START": Keyword.OPT_IN,
    "HELP": Keyword.HELP,
}

_WORD_RE: Final = re.compile(r"[a-z0-9]+")


def normalize_reply(text: str) -> str:
    """Canonical form of a reply: no accents, casefolded, single spaces, no edge punctuation.

    NFKD also turns full-width digits and the ordinal sign "º" (often typed for the
    degree sign) into plain "1" and "o", which the parsers rely on.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    collapsed = " ".join(bare.casefold().split())
    return collapsed.strip(_EDGE_CHARS)


def reply_words(text: str) -> list[str]:
    """The ASCII words and numbers of a reply, in order; everything else is dropped."""
    return _WORD_RE.findall(normalize_reply(text))


def word_keyword(word: str) -> Keyword | None:
    """The keyword a single normalized word stands for, if any."""
    found = _WORDS.get(word)
    if found is not None:
        return found
    if _YES_RE.fullmatch(word):
        return Keyword.YES
    if _NO_RE.fullmatch(word):
        return Keyword.NO
    return None


def classify_keyword(
    text: str,
    opt_out_type: str | None = None,
    *,
    awaiting_severity: bool = False,
    subscribed: bool = False,
) -> Keyword | None:
    """The keyword a whole message is, or None when it is anything else.

    See the module docstring for the rule. ``opt_out_type`` is Twilio's
    ``OptOutType`` form field; unknown values are ignored. ``subscribed`` says the
    participant is not opted out, so a Twilio START changed nothing (module docstring).
    """
    if opt_out_type:
        forced = _TWILIO_OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if forced is not None and not (subscribed and forced is Keyword.OPT_IN):
            return forced
    words = reply_words(text)
    if not words or len(words) > MAX_KEYWORD_WORDS:
        return None
    first = word_keyword(words[0])
    if first is None or (awaiting_severity and words[0] in LEVEL_WORDS):
        return None
    for word in words[1:]:
        if word in POLITENESS_WORDS or word_keyword(word) is first:
            continue
        return None
    return first
