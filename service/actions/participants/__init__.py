"""Participants and sites: enrolment and the changes staff make, a participant's own
preferences, the sites' on-call numbers; one transaction each, audited, re-planning
the participant's messages in the same transaction.

Private modules: ``_enrolment`` (staff's changes), ``_preferences`` (the app's
narrower ones), ``_channel`` (SMS or WhatsApp and the
WhatsApp opt-in), ``_sites``, ``_records`` (participants and sites as plain values).
"""

from service.actions.participants._channel import OPT_IN_STATEMENT, OptIn
from service.actions.participants._enrolment import (
    EnrollmentRequest,
    enroll,
    record_infusion,
    record_visit_outcome,
    update_participant,
    withdraw,
)
from service.actions.participants._preferences import (
    PREFERENCE_FIELDS,
    own_participant,
    update_own_preferences,
)
from service.actions.participants._records import (
    ParticipantProfile,
    ParticipantRecord,
    SiteRecord,
    WhatsAppOptIn,
    participant_profile,
    participant_record,
    site_record,
    sites_by_code,
    study_ids,
    whatsapp_opt_in,
)
from service.actions.participants._sites import set_on_call, sync_sites, visible_sites

__all__ = [
    "OPT_IN_STATEMENT",
    "PREFERENCE_FIELDS",
    "EnrollmentRequest",
    "OptIn",
    "ParticipantProfile",
    "ParticipantRecord",
    "SiteRecord",
    "WhatsAppOptIn",
    "enroll",
    "own_participant",
    "participant_profile",
    "participant_record",
    "record_infusion",
    "record_visit_outcome",
    "set_on_call",
    "site_record",
    "sites_by_code",
    "study_ids",
    "sync_sites",
    "update_own_preferences",
    "update_participant",
    "visible_sites",
    "whatsapp_opt_in",
    "withdraw",
]
