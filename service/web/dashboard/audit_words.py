"""The audit trail in words: what each action is, and what changed from what to what.

The log stores codes (``participant.update``, ``{"phone": ["(old)", "(new)"]}``); a
reviewer reads "Datos del participante modificados" and "teléfono: (anterior) →
(nuevo)". An action or field without words here is shown as its code rather than
hidden: the log outlives the code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from service.domain.states import AuditAction as A
from service.web.dashboard.render import N_

ACTION_WORDS: Final = {
    A.AUTH_TOKEN: N_("API token issued"),
    A.AUTH_LOGIN_FAILED: N_("Failed sign-in"),
    A.AUTH_LOGIN_THROTTLED: N_("Sign-in blocked for too many failures"),
    A.STAFF_ADD: N_("Staff account added"),
    A.STAFF_ENABLE: N_("Staff account enabled"),
    A.STAFF_DISABLE: N_("Staff account disabled"),
    A.STAFF_UPDATE: N_("Staff role or sites changed"),
    A.STAFF_PASSWORD: N_("Staff password set"),
    A.APIKEY_ADD: N_("EDC key added"),
    A.SESSION_START: N_("App session started"),
    A.SESSION_REVOKE: N_("App session ended"),
    A.DASHBOARD_SESSION_START: N_("Signed in to the dashboard"),
    A.DASHBOARD_SESSION_END: N_("Signed out of the dashboard"),
    A.DASHBOARD_SESSION_LOCALE: N_("Dashboard language changed"),
    A.MOBILE_CODE_REQUEST: N_("App sign-in code requested"),
    A.MOBILE_CODE_VERIFY: N_("App sign-in code checked"),
    A.SITE_SYNC: N_("Site updated from the protocol file"),
    A.SITE_ON_CALL: N_("On-call numbers set"),
    A.PARTICIPANT_ENROLL: N_("Participant enrolled"),
    A.PARTICIPANT_UPDATE: N_("Participant details changed"),
    A.PARTICIPANT_PREFERENCES: N_("Participant changed their preferences"),
    A.PARTICIPANT_WITHDRAW: N_("Participant withdrawn"),
    A.PARTICIPANT_SMS_BLOCKED: N_("Number blocked by the provider"),
    A.INFUSION_RECORD: N_("Infusion date recorded"),
    A.VISIT_RECORD: N_("Visit outcome recorded"),
    A.VISIT_CONFIRM: N_("Visit confirmed"),
    A.CHECKIN_SUBMIT: N_("Check-in answered"),
    A.CHECKIN_RESUBMIT: N_("Check-in corrected"),
    A.SMS_INBOUND: N_("SMS received"),
    A.INBOX_CLOSE: N_("Queue item closed"),
    A.ALERT_RAISE: N_("Safety alert raised"),
    A.ALERT_NOTIFY: N_("On-call phone texted"),
    A.ALERT_ESCALATE: N_("Alert escalated"),
    A.ALERT_ACKNOWLEDGE: N_("Alert acknowledged"),
    A.MESSAGES_REPLAN: N_("Messages planned again"),
    A.MESSAGES_EXPIRE: N_("Messages expired"),
    A.MESSAGE_SENT: N_("Message sent"),
    A.MESSAGE_UNDELIVERED: N_("Message not delivered"),
    A.MESSAGE_FAILED: N_("Message failed"),
    A.MESSAGE_FALLBACK: N_("Message sent by SMS after WhatsApp refused it"),
    A.MESSAGE_EXPIRED: N_("Message expired"),
    A.EDC_ODM_METADATA: N_("EDC metadata read"),
    A.EDC_ODM_PULL: N_("EDC data pulled (ODM)"),
    A.EDC_REDCAP_PUSH: N_("Data written to REDCap"),
    A.EDC_REDCAP_PUSH_RUN: N_("REDCap push run"),
    A.EDC_CONFLICT_RESOLVE: N_("REDCap conflict resolved"),
}
FIELD_WORDS: Final = {
    "phone": N_("phone"),
    "language": N_("language"),
    "timezone": N_("time zone"),
    "can_become_pregnant": N_("can become pregnant"),
    "sms_consent": N_("SMS consent"),
    "preferred_time": N_("preferred time"),
    "paused": N_("reminders paused"),
    "status": N_("status"),
    "site": N_("site"),
    "baseline_infusion_date": N_("baseline infusion"),
    "second_infusion_date": N_("second infusion"),
    "number": N_("infusion"),
    "visit": N_("visit"),
    "date": N_("date"),
    "role": N_("role"),
    "sites": N_("sites"),
    "active": N_("can sign in"),
    "password": N_("password"),
    "tokens_revoked": N_("API tokens ended"),
    "sessions_ended": N_("sessions ended"),
    "choice": N_("choice"),
    "record": N_("record"),
    "field": N_("field"),
    "value": N_("value"),
    "redcap": N_("value in REDCap"),
    "primary": N_("on-call primary"),
    "backup": N_("on-call backup"),
    "locale": N_("language"),
    "note": N_("note"),
    "reason": N_("reason"),
}
VALUE_WORDS: Final = {
    "(set)": N_("(set)"),
    "(old)": N_("(previous)"),
    "(new)": N_("(new)"),
    "keep_redcap": N_("keep REDCap's value"),
    "send_ours": N_("send ours"),
    "attended": N_("attended"),
    "missed": N_("missed"),
    "active": N_("active"),
    "withdrawn": N_("withdrawn"),
}


def value_words(value: Any, say: Callable[[str], str]) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return say(N_("yes")) if value else say(N_("no"))
    if isinstance(value, list):
        return ", ".join(value_words(v, say) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_words(v, say)}" for k, v in value.items())
    text = str(value)
    return say(VALUE_WORDS[text]) if text in VALUE_WORDS else text


def change_lines(changes: dict[str, Any], say: Callable[[str], str]) -> list[str]:
    """``{"phone": ["(old)", "(new)"], "site": "CUA"}`` -> ["teléfono: (anterior) →
    (nuevo)", "centro: CUA"]: a two-item list is a change from one value to another."""
    lines = []
    for name, value in changes.items():
        label = say(FIELD_WORDS[name]) if name in FIELD_WORDS else name
        pair = isinstance(value, list) and len(value) == 2
        if pair and (name != "sites" or all(isinstance(v, list) for v in value)):
            before, after = (value_words(v, say) for v in value)
            lines.append(f"{label}: {before} → {after}")
        else:
            lines.append(f"{label}: {value_words(value, say)}")
    return lines


def action_words(action: str, say: Callable[[str], str]) -> str:
    try:
        return say(ACTION_WORDS[A(action)])
    except (ValueError, KeyError):
        return action
