"""Words for the codes the participant page shows (statuses, kinds, reasons) and the
messages of its forms, marked for the dashboard catalog; templates translate them.

Codes come from the data (visit statuses, outbox statuses, ``skip_reason`` codes of
domain/not_sent.py); an unknown code is shown as itself rather than as nothing.
"""

from __future__ import annotations

from typing import Final

from service.web.dashboard.render import N_

VISIT_STATUS: Final = {
    "upcoming": N_("Upcoming"),
    "due": N_("Due now"),
    "attended_in_window": N_("Attended in window"),
    "attended_out_of_window": N_("Attended out of window"),
    "missed": N_("Missed"),
    "cancelled": N_("Cancelled (withdrawn)"),
}

MESSAGE_STATUS: Final = {
    "planned": N_("Planned"),
    "in_app": N_("In the app only"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "undelivered": N_("Not delivered"),
    "failed": N_("Failed"),
    "cancelled": N_("Not sent"),
    "expired": N_("Expired"),
}

MESSAGE_KIND: Final = {
    "reminder": N_("Visit reminder"),
    "checkin": N_("Check-in question"),
    "reply": N_("Reply"),
    "alert": N_("Safety alert"),
    "otp": N_("Sign-in code"),
    "sms": N_("Received SMS"),
}

NOT_SENT: Final = {
    "withdrawn": N_("Withdrawn from follow-up"),
    "no_consent": N_("No SMS consent"),
    "opted_out": N_("Opted out (STOP)"),
    "paused": N_("Reminders paused"),
    "blocked": N_("Number blocked by the provider"),
    "budget": N_("Daily message budget full"),
    "quiet_hours": N_("Quiet hours, then too late"),
    "expired": N_("Its moment passed before it could be sent"),
    "not_needed": N_("No longer needed"),
    "no_recipient": N_("No phone number"),
}

CHANNEL: Final = {"sms": N_("SMS"), "app": N_("App"), "whatsapp": N_("WhatsApp"), "web": N_("Web")}
# Why a WhatsApp participant's message went by SMS (domain/whatsapp.py).
FALLBACK: Final = {
    "no_template": N_("outside WhatsApp's 24-hour window, and no approved template carries it"),
    "whatsapp_off": N_("no WhatsApp sender is configured"),
    "refused": N_("WhatsApp refused it"),
}
# How the participant agreed to WhatsApp (domain/whatsapp.py OPT_IN_METHODS).
OPT_IN_METHOD: Final = {
    "written": N_("in writing, on the consent form"),
    "verbal": N_("aloud, to a coordinator"),
    "app": N_("in the app"),
}
QUESTIONNAIRE: Final = {"symptoms": N_("Symptoms"), "pregnancy": N_("Pregnancy")}
ALERT_STATUS: Final = {"open": N_("Open"), "acknowledged": N_("Acknowledged")}
LANGUAGE: Final = {"es": N_("Spanish"), "en": N_("English")}

SAVED: Final = {
    "enrolled": N_("The participant was enrolled; the calendar and the messages are planned."),
    "visit": N_("The visit outcome was recorded."),
    "infusion": N_("The infusion date was recorded; the calendar follows it."),
    "paused": N_("Reminders are paused."),
    "resumed": N_("Reminders are on again."),
    "withdrawn": N_("The participant was withdrawn; nothing more will be sent."),
    "contact": N_("The contact details were saved."),
    "channel": N_("The channel was saved; the next messages follow it."),
}

# (form, field) -> what to tell the coordinator, next to the field.
FIELD_ERRORS: Final = {
    ("visit", "visit_code"): N_("Choose a visit of the protocol."),
    ("visit", "status"): N_("Choose attended or missed."),
    ("visit", "date"): N_(
        "Enter the date of the visit: not in the future and not long before the baseline infusion."
    ),
    ("infusion", "number"): N_("Choose the first or the second infusion."),
    ("infusion", "date"): N_(
        "Enter the date the infusion took place: not in the future; the second one 60 to 365 "
        "days after the first."
    ),
    ("pause", "paused"): N_("Choose whether reminders are paused."),
    ("withdraw", "reason"): N_("Say why the participant withdraws (at most 500 characters)."),
    ("contact", "phone"): N_("Enter a Chilean mobile number, e.g. +56 9 1234 5678."),
    ("contact", "language"): N_("Choose Spanish or English."),
    ("contact", "preferred_time"): N_(
        "Enter a time of day as HH:MM, e.g. 10:30, or leave it empty."
    ),
    ("channel", "channel"): N_("Choose SMS or WhatsApp."),
    ("channel", "whatsapp_opt_in"): N_(
        "WhatsApp needs the participant's agreement to the statement shown: say how they gave it."
    ),
}
# How a coordinator records the WhatsApp opt-in ("" keeps the one on record).
OPT_IN_CHOICES: Final = (
    ("", N_("Keep what is on record")),
    ("written", N_("In writing, on the consent form")),
    ("verbal", N_("Aloud, to me")),
)
PHONE_TAKEN: Final = N_("This number belongs to another participant.")
UNREADABLE_DATE: Final = N_("Enter a date as day, month and year.")
WITHDRAWN_ALREADY: Final = N_("The participant has withdrawn; this can no longer change.")
FORM_PROBLEM: Final = N_("Please correct the marked field; nothing was saved.")
