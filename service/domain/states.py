"""The names of every state a stored row can be in, and who moves it where.

Each family is a StrEnum, so a member *is* its string: rows store the value (Tortoise
``CharEnumField``), JSON and audit lines carry it unchanged, and ``row.status ==
"sent"`` still holds. A lifecycle is written down here once; the modules named in
the tables are the only ones that make that move.

Outbound message (``OutboundMessage.status``)

=============  =========================================  ==============================
state          who moves it there                         what follows
=============  =========================================  ==============================
planned        the re-planner (actions/outbox), a     sending (claimed), cancelled,
               retry (actions/outbox, reconcile)        expired
in_app         the re-planner, for a participant who      cancelled, planned (SMS again)
               gets no SMS (the app shows it)
sending        a dispatcher's claim (actions/outbox,      sent, delivered, failed,
               jobs/dispatcher)                           planned (retry), expired
sent           the provider accepted it                   delivered, undelivered, failed,
               (actions/outbox.record_sent)             planned (retry)
delivered      the provider's receipt                     (final)
undelivered    the provider's receipt, retries used up    (final)
failed         the provider refused it, or retries used   (final)
               up (actions/outbox, reconcile)
cancelled      the re-planner (no longer applies), the    planned / in_app (re-planned)
               dispatch rules (participant cannot get it)
expired        its moment passed before it went out       (final)
               (actions/outbox, dispatch_rules)
=============  =========================================  ==============================

Alert (``Alert.status``): open (raised, actions/alerts) → acknowledged (a coordinator,
actions/alerts); escalation (actions/alerts) stamps ``escalated_at``
and leaves the status open.

Inbox item (``InboxItem.status``): open (queued by the inbound handling or an alert
nobody could be texted about) → closed (a coordinator, actions/alerts).

Participant (``Participant.status``): active (enrolled) → withdrawn (staff,
actions/participants.withdraw; final: no message is planned for them again).

Conversation (``Conversation.status``): open (a check-in prompt answered, or
SINTOMAS, actions/inbound and reports) → closed (finished, ended early or
stopped by a keyword, actions/inbound.close_conversation); a new prompt
reopens the participant's one row.

Inbound message (``InboundMessage.handling``): stored ``pending``, then set once, in
the same transaction, to what the inbound handling decided (:class:`InboundHandling`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "PARTICIPANT_KINDS",
    "PUSH_FAILED",
    "SENT",
    "ActorKind",
    "AlertStatus",
    "AuditAction",
    "ConflictResolution",
    "ConflictStatus",
    "ConversationStatus",
    "InboundHandling",
    "InboxReason",
    "InboxStatus",
    "LoginOutcome",
    "MessageKind",
    "MessageStatus",
    "ParticipantStatus",
    "PushStatus",
    "SessionEnd",
    "StaffRole",
    "message_action",
]


class MessageStatus(StrEnum):
    PLANNED = "planned"
    IN_APP = "in_app"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# "Sent": it went out and no receipt says it was lost. This is what a participant may
# have read (so a reply can answer it), what notified the on-call phone, what a
# one-time code needs. ``undelivered`` left us but did not arrive, so it is not sent.
SENT: Final = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})


class MessageKind(StrEnum):
    REMINDER = "reminder"  # a visit reminder, planned from the calendar
    CHECKIN = "checkin"  # a check-in prompt, planned from the protocol's cadence
    REPLY = "reply"  # an answer to an inbound SMS
    ALERT = "alert"  # a safety alert to the site's on-call phone
    OTP = "otp"  # a one-time sign-in code (only its hash is stored: never re-sent)


# Planned for a participant from the protocol: what the re-planner owns, and what a
# participant who cannot receive SMS does not get.
PARTICIPANT_KINDS: Final = frozenset({MessageKind.REMINDER, MessageKind.CHECKIN})


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class InboxStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class InboxReason(StrEnum):
    """Why an item is in the coordinators' queue."""

    UNKNOWN_SENDER = "unknown_sender"  # an SMS from a number no participant has
    WHILE_OPTED_OUT = "while_opted_out"  # from a participant who opted out: no reply goes
    NOT_UNDERSTOOD = "not_understood"  # free text: no keyword, answer, red flag or reminder
    # A red flag the message names but takes away (service/domain/red_flags.py):
    SOMEONE_ELSE = "someone_else"  # about someone else ("mi papá tiene dolor de pecho")
    QUESTION = "question"  # asked or supposed ("si me da fiebre de 38...?")
    NEGATED = "negated"  # negated or over ("ya se me pasó", "test negativo")
    RED_FLAG_UNCLEAR = "red_flag_unclear"  # hinted, or a fever without a temperature
    BELOW_THRESHOLD = "below_threshold"  # a temperature under the protocol's threshold
    # Stored rows may hold it: free text was filed so before the reasons above.
    UNPLACED = "unplaced"
    LATE_ANSWER = "late_answer"  # a check-in answered after its window
    RESCHEDULE = "reschedule"  # "CANCELAR" answering a visit reminder: change the visit
    UNPARSEABLE = "unparseable"  # a dialogue handed to people after repeated misses
    REPLIES_CAPPED = "replies_capped"  # the hourly reply cap held our answer back
    CHECKIN_CONFLICT = "checkin_conflict"  # SMS answers for a check-in the app already has
    ALERT_NO_ON_CALL = "alert_no_on_call"  # an alert and no on-call phone to text
    ALERT_UNACKNOWLEDGED = "alert_unacknowledged"  # escalation with nobody to text


class InboundHandling(StrEnum):
    """What became of one inbound SMS (``pending`` until its transaction decides)."""

    PENDING = "pending"
    DUPLICATE = "duplicate"  # a MessageSid seen before (never stored twice)
    UNKNOWN_SENDER = "unknown_sender"
    NOT_UNDERSTOOD = "not_understood"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    WHILE_OPTED_OUT = "while_opted_out"
    REPORT = "report"  # an unprompted red-flag report
    SYMPTOMS_ON_DEMAND = "symptoms_on_demand"
    QUEUED = "queued"  # to the coordinators' queue; the item's reason says why
    UNPLACED = "unplaced"  # stored rows only: what QUEUED was called before
    CHECKIN_ANSWER = "checkin_answer"
    CHECKIN_LATE = "checkin_late"
    CHECKIN_HANDOFF = "checkin_handoff"
    VISIT_CONFIRMED = "visit_confirmed"


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class LoginOutcome(StrEnum):
    """One staff sign-in attempt (``LoginAttempt.outcome``, actions/access):
    recorded ``pending`` before the password is checked, then set once."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    THROTTLED = "throttled"  # refused before checking: too many recent failures


class SessionEnd(StrEnum):
    """Why a participant's app session was revoked (``ParticipantSession.revoked_reason``)."""

    STAFF = "staff"  # a coordinator ended it
    PHONE_CHANGE = "phone_change"  # the participant's number changed
    WITHDRAWN = "withdrawn"  # the participant withdrew
    SIGNED_OUT = "signed_out"  # the participant signed out of the web app


class StaffRole(StrEnum):
    """What a staff account may do (``StaffUser.role``, a plain VARCHAR holding the value)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MONITOR = "monitor"


class ActorKind(StrEnum):
    """Who is acting (``Actor.kind``); the audit log's actor label starts with it."""

    STAFF = "staff"
    PARTICIPANT = "participant"
    SYSTEM = "system"
    TWILIO = "twilio"
    APIKEY = "apikey"


class PushStatus(StrEnum):
    """One REDCap push run (``EdcPushRun.status``)."""

    RUNNING = "running"
    OK = "ok"
    DRY_RUN = "dry_run"
    REFUSED = "refused"  # REDCap answered 400: the batch stays pending until fixed
    FORBIDDEN = "forbidden"  # 403: bad token or rights; nothing sent
    UNAVAILABLE = "unavailable"  # 5xx/timeouts after every retry
    METADATA_MISMATCH = "metadata_mismatch"  # REDCap's project differs from the mapping
    MAPPING_ERROR = "mapping_error"  # a record the mapping cannot place: fix, then push


# Push runs that ended without REDCap taking the batch.
PUSH_FAILED: Final = frozenset(
    {
        PushStatus.REFUSED,
        PushStatus.FORBIDDEN,
        PushStatus.UNAVAILABLE,
        PushStatus.METADATA_MISMATCH,
        PushStatus.MAPPING_ERROR,
    }
)


class ConflictStatus(StrEnum):
    """A value changed by hand in REDCap (``EdcConflict.status``)."""

    OPEN = "open"
    RESOLVED = "resolved"


class ConflictResolution(StrEnum):
    """What staff chose for a hand-edit conflict (``EdcConflict.resolution``)."""

    KEEP_REDCAP = "keep_redcap"  # REDCap's value stays and becomes the feed's baseline
    SEND_OURS = "send_ours"  # the next push writes the service's value over it


class AuditAction(StrEnum):
    """Every ``action`` the audit log records (``service.db.audit``)."""

    AUTH_TOKEN = "auth.token"  # noqa: S105  (an audit action name, not a secret)
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGIN_THROTTLED = "auth.login_throttled"
    STAFF_ADD = "staff.add"
    STAFF_ENABLE = "staff.enable"
    STAFF_DISABLE = "staff.disable"
    STAFF_UPDATE = "staff.update"  # role or sites
    STAFF_PASSWORD = "staff.password"  # noqa: S105  (an audit action name, not a secret)
    APIKEY_ADD = "apikey.add"
    SESSION_START = "session.start"
    SESSION_REVOKE = "session.revoke"
    DASHBOARD_SESSION_START = "dashboard.session.start"
    DASHBOARD_SESSION_END = "dashboard.session.end"
    DASHBOARD_SESSION_LOCALE = "dashboard.session.locale"
    MOBILE_CODE_REQUEST = "mobile.code_request"
    MOBILE_CODE_VERIFY = "mobile.code_verify"
    SITE_SYNC = "site.sync"
    SITE_ON_CALL = "site.on_call"
    PARTICIPANT_ENROLL = "participant.enroll"
    PARTICIPANT_UPDATE = "participant.update"
    PARTICIPANT_PREFERENCES = "participant.preferences"
    PARTICIPANT_WITHDRAW = "participant.withdraw"
    PARTICIPANT_SMS_BLOCKED = "participant.sms_blocked"
    PARTICIPANT_SMS_UNBLOCKED = "participant.sms_unblocked"
    INFUSION_RECORD = "infusion.record"
    VISIT_RECORD = "visit.record"
    VISIT_CONFIRM = "visit.confirm"
    CHECKIN_SUBMIT = "checkin.submit"
    CHECKIN_RESUBMIT = "checkin.resubmit"
    SMS_INBOUND = "sms.inbound"
    INBOX_CLOSE = "inbox.close"
    INBOX_NUMBER_SHOWN = "inbox.number_shown"  # staff read an unknown sender's number
    INBOX_ATTACH = "inbox.attach"  # an unknown number's text given to a participant
    ALERT_RAISE = "alert.raise"
    ALERT_REFINE = "alert.refine"
    ALERT_NOTIFY = "alert.notify"
    ALERT_ESCALATE = "alert.escalate"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    MESSAGES_REPLAN = "messages.replan"
    MESSAGES_EXPIRE = "messages.expire"
    MESSAGE_SENT = "message.sent"
    MESSAGE_UNDELIVERED = "message.undelivered"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_FALLBACK = "message.fallback"  # WhatsApp refused it; it goes by SMS
    MESSAGE_EXPIRED = "message.expired"
    EDC_ODM_METADATA = "edc.odm.metadata"
    EDC_ODM_PULL = "edc.odm.pull"
    EDC_REDCAP_PUSH = "edc.redcap.push"
    EDC_REDCAP_PUSH_RUN = "edc.redcap.push_run"
    EDC_CONFLICT_RESOLVE = "edc.conflict.resolve"


def message_action(status: MessageStatus | str) -> AuditAction:
    """The audit action of a message reaching ``status`` (sent, undelivered, failed,
    expired); ValueError for a status that is not audited on its own."""
    return AuditAction(f"message.{MessageStatus(status)}")
