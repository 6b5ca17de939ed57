"""Check-ins: one record whatever the channel (SMS dialogue, the app, a report made
unasked), versioned, judged by the safety rules in the same transaction.

Private modules: ``_submit`` (validation, storage, the alert), ``_advice`` (the
safety advice sent back), ``_due`` (which prompts may be answered now, or late),
``_app`` (the app's check-in use case), ``_records`` (stored check-ins as plain
values for pages and the app), ``_questionnaire`` (what a participant can report).
"""

from service.actions.checkins._advice import ADVICE_TTL, advise_participant, enqueue_advice
from service.actions.checkins._app import (
    REASON_MAX,
    AppCheckin,
    app_report_key,
    correct_from_app,
    submit_from_app,
)
from service.actions.checkins._due import (
    LATE_ANSWER_WINDOW,
    DueCheckin,
    answer_is_late,
    checkin_key_for,
    due_checkins,
    recently_expired_checkins,
)
from service.actions.checkins._questionnaire import (
    QuestionnaireSymptom,
    ReportableQuestionnaire,
    questionnaire_for,
)
from service.actions.checkins._records import (
    CheckinRecord,
    CheckinVersion,
    checkin_record,
    checkin_records,
    latest_checkins,
)
from service.actions.checkins._submit import (
    CheckinResult,
    CheckinSubmission,
    store_submission,
    submit,
)

__all__ = [
    "ADVICE_TTL",
    "LATE_ANSWER_WINDOW",
    "REASON_MAX",
    "AppCheckin",
    "CheckinRecord",
    "CheckinResult",
    "CheckinSubmission",
    "CheckinVersion",
    "DueCheckin",
    "QuestionnaireSymptom",
    "ReportableQuestionnaire",
    "advise_participant",
    "answer_is_late",
    "app_report_key",
    "checkin_key_for",
    "checkin_record",
    "checkin_records",
    "correct_from_app",
    "due_checkins",
    "enqueue_advice",
    "latest_checkins",
    "questionnaire_for",
    "recently_expired_checkins",
    "store_submission",
    "submit",
    "submit_from_app",
]
