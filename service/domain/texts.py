"""Every sentence a participant or staff member reads, by key.

Why this shape:

* A message is looked up by a stable **key** (``reminder.clinic.day_before``); the
  English text is its gettext ``msgid`` and the key is its ``msgctxt``. The context
  keeps two keys apart even if their English ever coincides, and shows translators
  where a sentence is used. Renderers call ``pgettext(key, MESSAGES[key])``.
* ``NC_`` (GLib's name for a no-op "context + string" marker) only marks the pair for
  ``pybabel extract``; ``locales/babel.cfg`` declares it as ``NC_:1c,2``. Nothing is
  translated at import time.
* Every sentence is whole, with named ``str.format`` placeholders, so a translator can
  move words around; code never glues translated fragments together.
* Spanish texts are written so that GSM-7 folding (á í ó ú -> a i o u) changes
  spelling only, never the word: "te va a llamar", not "te llamará" (-> "llamara",
  another tense). ``tests/unit/test_folding_keeps_spanish.py`` lists every word
  folding changes and fails on one not on its reviewed allow-list.
* SMS texts start with ``MSC-ROLE:`` so the reader knows who writes. Reminders must fit
  two GSM-7 segments after folding (see :mod:`service.domain.sms_encoding`), which the
  catalog tests check with the longest realistic values.
* Symptom numbers in the check-in lists are the SMS answer codes 1..13 (0 = none), in
  the order of ``SYMPTOM_LABEL_KEYS``; each list line is ``"<n> <label in lower case>"``
  and the tests hold the list and the labels together.

Comments starting with ``TRANSLATORS:`` are copied into the catalog for translators.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

PREFIX: Final = "MSC-ROLE:"


def without_prefix(text: str) -> str:
    """A text as a screen shows it: the SMS's sender prefix says nothing inside the
    study's own app, where the advice is read under the study's name."""
    return text.removeprefix(PREFIX).lstrip()


def NC_(key: str, text: str) -> tuple[str, str]:
    """Mark ``text`` (msgid) under context ``key`` for extraction; return the pair."""
    return key, text


_ENTRIES: Final[tuple[tuple[str, str], ...]] = (
    # --- Visit display names (calendar, app, and inside reminders) -----------------
    NC_("visit.screening", "Screening visit"),
    NC_("visit.infusion_1", "Infusion 1"),
    NC_("visit.call_1", "Follow-up call 1"),
    NC_("visit.week_1", "One-week check-up after infusion 1"),
    NC_("visit.month_1", "Month 1 check-up"),
    NC_("visit.month_2", "Month 2 check-up"),
    NC_("visit.month_3", "Month 3 check-up"),
    NC_("visit.month_4", "Month 4 check-up"),
    NC_("visit.month_5", "Month 5 check-up"),
    NC_("visit.infusion_2", "Infusion 2"),
    NC_("visit.call_2", "Follow-up call 2"),
    NC_("visit.week_7", "One-week check-up after infusion 2"),
    NC_("visit.month_7", "Month 7 check-up"),
    NC_("visit.month_8", "Month 8 check-up"),
    NC_("visit.month_9", "Month 9 check-up"),
    NC_("visit.month_10", "Month 10 check-up"),
    NC_("visit.month_11", "Month 11 check-up"),
    NC_("visit.end_of_study", "End-of-study visit (month 12)"),
    # --- Reminders -------------------------------------------------------------------
    # TRANSLATORS: SMS, at most 2 segments. {visit} is a visit name, {date} is like
    # "Wednesday, March 3" / "miércoles 3 de marzo", {site} a hospital name,
    # {help_line} a phone number.
    NC_(
        "reminder.clinic.week_before",
        "MSC-ROLE: Your study visit is in one week: {visit}, {date}, at {site}."
        " If you cannot come, please call {help_line}.",
    ),
    # TRANSLATORS: SMS, at most 2 segments. Must end with the reply keyword that
    # confirms (Spanish: "Responde SI para confirmar").
    NC_(
        "reminder.clinic.day_before",
        "MSC-ROLE: Your study visit is tomorrow: {visit}, {date}, at {site}."
        " If you cannot come, call {help_line}. Reply YES to confirm.",
    ),
    # TRANSLATORS: SMS, at most 2 segments.
    NC_(
        "reminder.infusion.week_before",
        "MSC-ROLE: Your study infusion is in one week: {visit}, {date}, at {site}."
        " It may take several hours, so plan your day."
        " Questions, or cannot come? Call {help_line}.",
    ),
    # TRANSLATORS: SMS, at most 2 segments. Must end with the reply keyword that
    # confirms (Spanish: "Responde SI para confirmar").
    NC_(
        "reminder.infusion.day_before",
        "MSC-ROLE: Your study infusion is tomorrow: {visit}, {date}, at {site}."
        " Bring your ID and your list of medicines. If you cannot come,"
        " call {help_line}. Reply YES to confirm.",
    ),
    # TRANSLATORS: SMS sent the morning of the infusion, at most 2 segments.
    NC_(
        "reminder.infusion.morning",
        "MSC-ROLE: Today, {date}: {visit} at {site}. Follow your team's advice on"
        " fasting and medicines, and bring your ID and your list of medicines. It may"
        " take several hours. Feeling unwell or running late? Call {help_line}.",
    ),
    # TRANSLATORS: SMS, at most 2 segments. {visit} is the name of the phone call.
    NC_(
        "reminder.phone.day_before",
        "MSC-ROLE: Tomorrow, {date}, the study team at {site} will call you ({visit})."
        " Please keep your phone nearby. If that day does not suit you,"
        " call {help_line}.",
    ),
    # --- Check-ins and conversation ----------------------------------------------------
    # TRANSLATORS: SMS. Keep one symptom per line, "<number> <symptom label in lower
    # case>", numbers 1 to 13 in this order; the labels are the symptom.* messages.
    NC_(
        "checkin.symptoms.weekly",
        "MSC-ROLE: Any symptoms this week? Reply with the numbers (e.g. 1 5) or 0 if none.\n"
        "1 fever\n2 chills\n3 shortness of breath\n4 chest pain\n5 skin rash\n"
        "6 swollen legs or face\n7 dark or foamy urine\n8 passing less urine\n"
        "9 nausea or vomiting\n10 diarrhea\n11 cough\n12 burning when urinating\n"
        "13 other",
    ),
    # TRANSLATORS: SMS, same list as the weekly check-in. {day} is 1, 2, 3...
    NC_(
        "checkin.symptoms.post_infusion",
        "MSC-ROLE: Day {day} after infusion. Any symptoms? Reply with the numbers"
        " (e.g. 1 5) or 0 if none.\n"
        "1 fever\n2 chills\n3 shortness of breath\n4 chest pain\n5 skin rash\n"
        "6 swollen legs or face\n7 dark or foamy urine\n8 passing less urine\n"
        "9 nausea or vomiting\n10 diarrhea\n11 cough\n12 burning when urinating\n"
        "13 other",
    ),
    # TRANSLATORS: SMS, same list as the weekly check-in. Sent when the participant
    # texts SINTOMAS to report symptoms on their own, at any time.
    NC_(
        "checkin.symptoms.on_demand",
        "MSC-ROLE: Tell us what you feel. Reply with the numbers (e.g. 1 5).\n"
        "1 fever\n2 chills\n3 shortness of breath\n4 chest pain\n5 skin rash\n"
        "6 swollen legs or face\n7 dark or foamy urine\n8 passing less urine\n"
        "9 nausea or vomiting\n10 diarrhea\n11 cough\n12 burning when urinating\n"
        "13 other",
    ),
    # TRANSLATORS: SMS. {symptom} is a symptom label such as "Fever"; the reply
    # numbers 1, 2, 3 must stay.
    NC_(
        "checkin.symptoms.severity",
        "MSC-ROLE: {symptom}: how bad has it been? Reply 1 mild (you can do your usual"
        " things), 2 moderate (it limits what you do), 3 severe (you cannot do your"
        " usual things).",
    ),
    # TRANSLATORS: SMS. The reply is a number in degrees Celsius, or NO.
    NC_(
        "checkin.symptoms.temperature",
        "MSC-ROLE: What was your highest temperature, in °C? Reply with the number"
        " (e.g. 38.2), or NO if you did not take it.",
    ),
    # TRANSLATORS: SMS. Reply keywords: Spanish SI / NO. Spanish: "¿es posible que
    # estés embarazada?" (é survives GSM-7 folding; "estás" would fold to "estas").
    NC_(
        "checkin.pregnancy.prompt",
        "MSC-ROLE: A routine study question: are you pregnant, or could you be?"
        " Reply YES or NO. Your answer is confidential.",
    ),
    NC_(
        "checkin.clarify.symptoms",
        "MSC-ROLE: Sorry, we did not understand. Reply only with the numbers of your"
        " symptoms (e.g. 1 5), or 0 if you had none.",
    ),
    NC_(
        "checkin.clarify.severity",
        "MSC-ROLE: Sorry, we did not understand. Reply 1 (mild), 2 (moderate) or 3 (severe).",
    ),
    NC_(
        "checkin.clarify.temperature",
        "MSC-ROLE: Sorry, we did not understand. Reply with your temperature in °C"
        " (e.g. 37.5), or NO if you did not take it.",
    ),
    NC_(
        "checkin.clarify.yes_no",
        "MSC-ROLE: Sorry, we did not understand. Please reply YES or NO.",
    ),
    NC_("checkin.thanks", "MSC-ROLE: Thank you! We got your answers."),
    NC_(
        "checkin.late",
        "MSC-ROLE: This questionnaire has closed, so we could not record your answer."
        " If you feel unwell, call your study team.",
    ),
    NC_(
        "inbound.received",
        "MSC-ROLE: We got your message. Your study team will contact you. If it is"
        " urgent, call {help_line}. In an emergency, call 131 (SAMU).",
    ),
    # TRANSLATORS: START and STOP are carrier keywords; keep them in English.
    NC_(
        "optout.confirm",
        "MSC-ROLE: You will get no more messages from us, by SMS or WhatsApp. Your"
        " participation in the study does not change. To get them again, reply START.",
    ),
    NC_(
        "optin.confirm",
        "MSC-ROLE: Done, you will get study messages again. To stop them, reply STOP.",
    ),
    # TRANSLATORS: the statement a participant agrees to before anything goes to them by
    # WhatsApp (shown on the enrolment form and in the app, kept with their opt-in). It
    # must name the study and who writes. BAJA is the stop keyword; keep it.
    NC_(
        "whatsapp.opt_in",
        "MSC-ROLE: I agree to receive my visit reminders and follow-up questions for the"
        " MSC-ROLE study (Universidad de los Andes) by WhatsApp. I can stop them at any time by"
        " replying BAJA.",
    ),
    NC_(
        "help.reply",
        "MSC-ROLE: Messages from the MSC-ROLE study at {site}. To talk to your team,"
        " call {help_line}. Emergency: call 131 (SAMU). To stop messages, reply STOP.",
    ),
    NC_(
        "visit.confirmed",
        "MSC-ROLE: Thank you for confirming! {visit}, {date}. If you need to change"
        " the date, call your team.",
    ),
    NC_(
        "safety.contact_team",
        "MSC-ROLE: Thank you for telling us. We have alerted your study team and they"
        " will contact you. You can also call {help_line}. If you feel very unwell,"
        " call 131 (SAMU) or go to the emergency room.",
    ),
    # TRANSLATORS: 131 is SAMU, Chile's public ambulance number.
    NC_(
        "safety.emergency",
        "MSC-ROLE: What you told us needs urgent care. Call 131 (SAMU) now or go to"
        " the nearest emergency room. Then let your study team know at {help_line}.",
    ),
    # TRANSLATORS: SMS to the on-call clinician. {summary} is a short machine-built
    # description of the event; {study_id} is a code, never a name.
    NC_(
        "alert.oncall",
        "MSC-ROLE: SAFETY ALERT. Participant {study_id}, {site}: {summary}."
        " Please contact the participant and acknowledge the alert on the dashboard.",
    ),
    NC_(
        "alert.escalated",
        "MSC-ROLE: UNACKNOWLEDGED SAFETY ALERT. Participant {study_id}, {site}:"
        " {summary}. Nobody has acknowledged it yet. Please act now and acknowledge"
        " it on the dashboard.",
    ),
    NC_(
        "otp.code",
        "MSC-ROLE: Your code to sign in to the app is {code}. Do not share it with anyone.",
    ),
    # --- Symptom labels (SMS numbers 1..13 in this order) -------------------------------
    NC_("symptom.fever", "Fever"),
    NC_("symptom.chills", "Chills"),
    NC_("symptom.shortness_of_breath", "Shortness of breath"),
    NC_("symptom.chest_pain", "Chest pain"),
    NC_("symptom.rash", "Skin rash"),
    NC_("symptom.swelling", "Swollen legs or face"),
    NC_("symptom.dark_urine", "Dark or foamy urine"),
    NC_("symptom.less_urine", "Passing less urine"),
    NC_("symptom.nausea_vomiting", "Nausea or vomiting"),
    NC_("symptom.diarrhea", "Diarrhea"),
    NC_("symptom.cough", "Cough"),
    NC_("symptom.burning_urination", "Burning when urinating"),
    NC_("symptom.other", "Other"),
    # --- Severity labels --------------------------------------------------------------
    NC_("severity.mild", "Mild"),
    NC_("severity.moderate", "Moderate"),
    NC_("severity.severe", "Severe"),
    # --- Labels of findings that are not one symptom (alerts, dashboard) --------------
    NC_("finding.pregnancy_yes", "Possible pregnancy (answered YES)"),
)


def _build(entries: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    """Refuse a key defined twice: the second would silently win in a dict."""
    table: dict[str, str] = {}
    for key, text in entries:
        if key in table:
            raise ValueError(f"message key defined twice: {key}")
        table[key] = text
    return MappingProxyType(table)


MESSAGES: Final[Mapping[str, str]] = _build(_ENTRIES)
"""key -> English source text (the msgid). Read-only."""

VISIT_NAME_KEYS: Final = tuple(
    k for k in MESSAGES if k.startswith("visit.") and k != "visit.confirmed"
)
REMINDER_KEYS: Final = tuple(k for k in MESSAGES if k.startswith("reminder."))
SYMPTOM_LABEL_KEYS: Final = tuple(k for k in MESSAGES if k.startswith("symptom."))
"""Symptom label keys in SMS order: the label of answer ``n`` is ``SYMPTOM_LABEL_KEYS[n-1]``."""
SEVERITY_LABEL_KEYS: Final = tuple(k for k in MESSAGES if k.startswith("severity."))
FINDING_LABEL_KEYS: Final = tuple(k for k in MESSAGES if k.startswith("finding."))
LABEL_KEYS: Final = frozenset(
    VISIT_NAME_KEYS + SYMPTOM_LABEL_KEYS + SEVERITY_LABEL_KEYS + FINDING_LABEL_KEYS
)
"""Keys that name a thing rather than say a sentence: no placeholders, no prefix."""


def placeholders(text: str) -> frozenset[str]:
    """The named ``str.format`` fields in ``text``.

    Positional fields (``{}`` / ``{0}``) are returned as ``""`` / ``"0"`` so that a
    check can refuse them; ``{a.b}`` / ``{a[0]}`` report their root name ``a``.
    Raises ValueError on malformed braces, as ``str.format`` would.
    """
    names: set[str] = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is None:
            continue
        root = field.split(".", 1)[0].split("[", 1)[0]
        names.add(root)
    return frozenset(names)
