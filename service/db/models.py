"""Tortoise models: the service's source of truth.

Each foreign key's id attribute (``site_id``, ``participant_id`` …) is declared under
its relation: Tortoise sets it on every row, and the declaration lets the type checker
see it (an annotation only: no column, no schema change).

Conventions that matter for the trial:
- every timestamp is timezone-aware UTC; local dates (baseline, visits) are plain dates
  in the participant's zone, because that is how the protocol speaks;
- what a person reported or a coordinator recorded is never overwritten: infusions,
  visit outcomes and check-ins are append-only rows, the newest one wins;
- no column can hold a treatment arm, kit or dose.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from service.db.columns import enum_column
from service.domain.calendar import RecordedOutcome
from service.domain.states import (
    AlertStatus,
    ConversationStatus,
    InboundHandling,
    InboxReason,
    InboxStatus,
    MessageKind,
    MessageStatus,
    ParticipantStatus,
)

__all__ = [
    "Alert",
    "AuditEntry",
    "Checkin",
    "Conversation",
    "DashboardSchedule",
    "DashboardSchedulePrompt",
    "DashboardScheduleVisit",
    "EarlyStatusCallback",
    "InboundMessage",
    "InboxItem",
    "Infusion",
    "OutboundMessage",
    "Participant",
    "SendBucket",
    "ServiceState",
    "Site",
    "VisitOutcome",
]


class Site(Model):
    code = fields.CharField(primary_key=True, max_length=16)
    name = fields.CharField(max_length=128)
    timezone = fields.CharField(max_length=64)
    help_line = fields.CharField(max_length=20)
    on_call_primary = fields.CharField(max_length=20, null=True)
    on_call_backup = fields.CharField(max_length=20, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "site"


class Participant(Model):
    id = fields.IntField(primary_key=True)
    study_id = fields.CharField(max_length=32, unique=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "followup.Site", related_name="participants", on_delete=fields.RESTRICT
    )
    site_id: str  # the FK's column, set by Tortoise (declared for the type checker)
    phone = fields.CharField(max_length=20, unique=True)
    language = fields.CharField(max_length=5, default="es")
    timezone = fields.CharField(max_length=64)
    can_become_pregnant = fields.BooleanField()
    baseline_infusion_date = fields.DateField()
    second_infusion_date = fields.DateField(null=True)
    sms_consent = fields.BooleanField()
    preferred_time = fields.CharField(max_length=5, null=True)
    status = enum_column(ParticipantStatus, max_length=16, default=ParticipantStatus.ACTIVE)
    withdrawn_at = fields.DatetimeField(null=True)
    opted_out = fields.BooleanField(default=False)
    paused = fields.BooleanField(default=False)
    sms_blocked_code = fields.IntField(null=True)
    # ``sms`` or ``whatsapp``. WhatsApp needs the opt-in on record (when, how, who
    # recorded it, the statement shown); ``whatsapp_last_inbound_at`` opens WhatsApp's
    # 24-hour window for free-form messages.
    channel = fields.CharField(max_length=8, default="sms", db_default="sms")
    whatsapp_opt_in_at = fields.DatetimeField(null=True)
    whatsapp_opt_in_method = fields.CharField(max_length=16, null=True)
    whatsapp_opt_in_by = fields.CharField(max_length=160, null=True)
    whatsapp_opt_in_text = fields.TextField(null=True)
    whatsapp_last_inbound_at = fields.DatetimeField(null=True)
    # Bumped by every re-plan of this participant alone (which every change to what
    # the planner reads is followed by, in the same transaction): a protocol re-plan
    # that planned from rows read earlier writes only if it is still the same.
    plan_version = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "participant"
        # the overview's enrolled and withdrawn in a month: one index range each
        indexes = (("site_id", "created_at"), ("site_id", "withdrawn_at"))

    @property
    def active(self) -> bool:
        return self.status == ParticipantStatus.ACTIVE


class Infusion(Model):
    # An actual infusion date as recorded; a correction is a newer row.

    id = fields.IntField(primary_key=True)
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="infusions", on_delete=fields.RESTRICT
    )
    participant_id: int
    number = fields.SmallIntField()
    date = fields.DateField()
    recorded_by = fields.CharField(max_length=128)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "infusion"


class VisitOutcome(Model):
    # What happened at a visit; a correction is a newer row.

    id = fields.IntField(primary_key=True)
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="visit_outcomes", on_delete=fields.RESTRICT
    )
    participant_id: int
    visit_code = fields.CharField(max_length=16)
    status = enum_column(RecordedOutcome, max_length=16)
    date = fields.DateField()
    source = fields.CharField(max_length=16, default="staff")
    recorded_by = fields.CharField(max_length=128)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "visit_outcome"
        indexes = (("participant_id", "visit_code"),)


class AuditEntry(Model):
    # Append-only: who did what to which record, when, and why.

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=160)
    action = fields.CharField(max_length=64)
    entity = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=64)
    changes: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    reason = fields.TextField(null=True)

    class Meta:
        table = "audit_log"
        indexes = (("entity", "entity_id"),)


class OutboundMessage(Model):
    # One message we intend to send, are sending or have sent.
    #
    # ``dedupe_key`` (participant, purpose, occurrence) is unique: re-planning can run
    # any number of times and never creates a second reminder for the same visit. The
    # dispatcher moves a row planned → sending (claimed) → sent → delivered/failed;
    # rows that no longer apply become cancelled, and ones whose moment passed expired.

    id = fields.BigIntField(primary_key=True)
    participant: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="messages", null=True, on_delete=fields.RESTRICT
    )
    participant_id: int | None
    to_phone = fields.CharField(max_length=20, null=True)
    kind = enum_column(MessageKind, max_length=16)
    purpose = fields.CharField(max_length=64)
    occurrence = fields.CharField(max_length=64)
    dedupe_key = fields.CharField(max_length=160, unique=True)
    message_key = fields.CharField(max_length=64)
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    language = fields.CharField(max_length=5, default="es")
    body = fields.TextField(null=True)
    encoding = fields.CharField(max_length=8, null=True)
    segments = fields.SmallIntField(null=True)
    send_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    status = enum_column(MessageStatus, max_length=16, default=MessageStatus.PLANNED)
    attempts = fields.SmallIntField(default=0)
    claim_token = fields.CharField(max_length=32, null=True)
    claimed_at = fields.DatetimeField(null=True)
    # A claim lives only while its dispatcher renews it (heartbeat); past this moment a
    # row still ``sending`` is reconciled by whoever notices. ``claimed_at`` stays the
    # moment of the claim, because it bounds the provider lookup.
    lease_until = fields.DatetimeField(null=True)
    # Higher goes first: safety alerts never wait behind a wave of reminders.
    priority = fields.SmallIntField(default=0, db_default=0)
    # Bumped by every claim and every re-plan: writers compare-and-set on it, so a
    # re-planner that read a row before a dispatcher touched it changes nothing.
    version = fields.IntField(default=0, db_default=0)
    provider_id = fields.CharField(max_length=64, null=True, unique=True)
    provider_status = fields.CharField(max_length=16, null=True)
    error_code = fields.IntField(null=True)
    error_detail = fields.CharField(max_length=255, null=True)
    # Why a planned row did not (or does not) go out by SMS: a code of
    # domain/not_sent.py, written where that was decided; None while it still may.
    skip_reason = fields.CharField(max_length=24, null=True)
    # The channel that carried (or will carry) it, decided at send time; the WhatsApp
    # template and its variables outside the 24-hour window; and why a WhatsApp
    # participant's message went by SMS (domain/whatsapp.py), once set never undone.
    channel = fields.CharField(max_length=8, default="sms", db_default="sms")
    content_sid = fields.CharField(max_length=34, null=True)
    content_variables: fields.JSONField[dict[str, str] | None] = fields.JSONField(null=True)
    fallback_reason = fields.CharField(max_length=16, null=True)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    revision = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "outbound_message"
        # No plain index on sent_at or updated_at (docs/decisions/0112): every query by
        # either reads a partial covering index (sent, delivered, failed, provider
        # errors: migrations 0034, 0036, 0037) or one participant's rows, and each
        # planned row inserted added an entry to both.
        indexes = (
            ("status", "send_at"),
            ("participant_id", "status"),
        )


class SendBucket(Model):
    # The cluster-wide send cap: one token bucket row per provider account, shared by
    # every process, counted in SMS segments (what the provider meters).
    key = fields.CharField(primary_key=True, max_length=32)
    tokens = fields.FloatField()
    refreshed_at = fields.DatetimeField()

    class Meta:
        table = "send_bucket"


class InboundMessage(Model):
    # Every SMS a participant (or anyone) sends us, once per MessageSid. ``body`` is the
    # text as understood (see domain/inbound_text.py); when the received text held
    # something no column can store (a NUL, a lone surrogate) or a control character,
    # ``body_raw_b64`` keeps the exact original, reversibly.
    id = fields.BigIntField(primary_key=True)
    message_sid = fields.CharField(max_length=64, unique=True)
    participant: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="inbound", null=True, on_delete=fields.RESTRICT
    )
    participant_id: int | None
    from_phone = fields.CharField(max_length=20)
    to_phone = fields.CharField(max_length=20, null=True)
    body = fields.TextField()
    body_raw_b64 = fields.TextField(null=True)
    opt_out_type = fields.CharField(max_length=16, null=True)
    channel = fields.CharField(max_length=8, default="sms", db_default="sms")
    handling = enum_column(InboundHandling, max_length=24, default=InboundHandling.PENDING)
    late = fields.BooleanField(default=False)
    received_at = fields.DatetimeField()
    # The inbox: stored ``pending`` by the webhook, understood afterwards
    # (actions/inbound). ``attempts`` counts understandings that failed and were rolled
    # back; ``understood_at`` minus ``received_at`` is the time to a queued reply.
    attempts = fields.SmallIntField(default=0, db_default=0)
    understood_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbound_message"
        # The inbox's reads: a number's pending messages, every pending number, and
        # /metrics' last hour of understood messages.
        indexes = (("handling", "from_phone"), ("understood_at",))


class EarlyStatusCallback(Model):
    # A delivery receipt that arrived before the send that it is about was recorded
    # (the provider can call back before our own commit). Kept until that provider id
    # is recorded, then applied and deleted; see actions/outbox.
    id = fields.BigIntField(primary_key=True)
    message_sid = fields.CharField(max_length=64, db_index=True)
    status = fields.CharField(max_length=16)
    error_code = fields.IntField(null=True)
    received_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "early_status_callback"


class Conversation(Model):
    # The state of one participant's SMS check-in dialogue (machinery, not data:
    # the answers themselves are Checkin rows).
    id = fields.IntField(primary_key=True)
    participant: fields.OneToOneRelation[Participant] = fields.OneToOneField(
        "followup.Participant", related_name="conversation", on_delete=fields.CASCADE
    )
    participant_id: int
    checkin_key = fields.CharField(max_length=96)
    state: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = enum_column(ConversationStatus, max_length=16, default=ConversationStatus.OPEN)
    started_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "conversation"


class Checkin(Model):
    # One version of a participant's answers to one check-in occurrence, from SMS or
    # the app. A correction is a new version; earlier versions are never changed.
    id = fields.BigIntField(primary_key=True)
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="checkins", on_delete=fields.RESTRICT
    )
    participant_id: int
    checkin_key = fields.CharField(max_length=96)
    questionnaire = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=8)
    version = fields.SmallIntField(default=1)
    answers: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    raw_texts: fields.JSONField[list[str]] = fields.JSONField(default=list)
    complete = fields.BooleanField(default=True)
    late = fields.BooleanField(default=False)
    submitted_at = fields.DatetimeField()

    class Meta:
        table = "checkin"
        unique_together = (("participant_id", "checkin_key", "version"),)


class Alert(Model):
    # A safety event for the site team; raised once per event (dedupe_key).
    id = fields.IntField(primary_key=True)
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="alerts", on_delete=fields.RESTRICT
    )
    participant_id: int
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "followup.Site", related_name="alerts", on_delete=fields.RESTRICT
    )
    site_id: str
    dedupe_key = fields.CharField(max_length=96, unique=True)
    checkin: fields.ForeignKeyNullableRelation[Checkin] = fields.ForeignKeyField(
        "followup.Checkin", related_name="alerts", null=True, on_delete=fields.RESTRICT
    )
    checkin_id: int | None
    findings: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    emergency = fields.BooleanField(default=False)
    status = enum_column(AlertStatus, max_length=16, default=AlertStatus.OPEN)
    raised_at = fields.DatetimeField()
    notified_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.CharField(max_length=160, null=True)
    note = fields.TextField(null=True)

    class Meta:
        table = "alert"
        indexes = (
            ("status", "raised_at"),
            ("site_id", "status", "raised_at"),
            ("site_id", "raised_at"),
        )


class InboxItem(Model):
    # The coordinators' queue: messages the service could not place, hand-offs.
    id = fields.IntField(primary_key=True)
    participant: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "followup.Participant", related_name="inbox", null=True, on_delete=fields.RESTRICT
    )
    participant_id: int | None
    site: fields.ForeignKeyNullableRelation[Site] = fields.ForeignKeyField(
        "followup.Site", related_name="inbox", null=True, on_delete=fields.RESTRICT
    )
    site_id: str | None
    inbound: fields.ForeignKeyNullableRelation[InboundMessage] = fields.ForeignKeyField(
        "followup.InboundMessage", related_name="inbox", null=True, on_delete=fields.RESTRICT
    )
    inbound_id: int | None
    reason = enum_column(InboxReason, max_length=32)
    status = enum_column(InboxStatus, max_length=16, default=InboxStatus.OPEN)
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=160, null=True)

    class Meta:
        table = "inbox_item"
        indexes = (("site_id", "status", "created_at"), ("site_id", "created_at"))


class ServiceState(Model):
    # Small facts the service keeps about itself, e.g. the protocol revision last planned.
    key = fields.CharField(primary_key=True, max_length=64)
    value = fields.CharField(max_length=255)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "service_state"


class DashboardSchedule(Model):
    # A derived copy of one visit calendar and check-in schedule, keyed by everything it
    # is computed from (protocol revision and holidays as ``fingerprint``, and the
    # participant's anchors), so the dashboard's figures can be counted by the database.
    # Nothing writes it but the dashboard's reads: a participant whose anchors change
    # simply matches another row; emptying the three tables is always safe.
    key = fields.CharField(primary_key=True, max_length=160)
    fingerprint = fields.CharField(max_length=32)
    baseline = fields.DateField()
    second_infusion = fields.DateField(null=True)
    can_become_pregnant = fields.BooleanField()
    timezone = fields.CharField(max_length=64)
    preferred_time = fields.CharField(max_length=5, null=True)

    class Meta:
        table = "dashboard_schedule"


class DashboardScheduleVisit(Model):
    # One visit of a DashboardSchedule: dates as the calendar gives them, and the UTC
    # instants its window opens and closes in the participant's zone (a local date
    # compared as an instant, since databases do not share a zone database).
    id = fields.BigIntField(primary_key=True)
    schedule_key = fields.CharField(max_length=160)
    position = fields.SmallIntField()
    code = fields.CharField(max_length=16)
    target_date = fields.DateField()
    window_start = fields.DateField()
    window_end = fields.DateField()
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()

    class Meta:
        table = "dashboard_schedule_visit"
        unique_together = (("schedule_key", "position"),)


class DashboardSchedulePrompt(Model):
    # One check-in prompt of a DashboardSchedule and the instant its answer window closes.
    id = fields.BigIntField(primary_key=True)
    schedule_key = fields.CharField(max_length=160)
    position = fields.IntField()
    checkin_key = fields.CharField(max_length=96)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "dashboard_schedule_prompt"
        unique_together = (("schedule_key", "position"),)


class DashboardSummary(Model):
    # A participant's dashboard figures as of ``as_of`` (derived, docs/decisions/0103):
    # valid until ``valid_until`` (the next instant a prompt's or visit's window opens
    # or closes, or the site's month turns) while no DashboardWritten row names the
    # participant and ``fingerprint`` is the schedule copies'. Nothing writes it but
    # the dashboard's reads; emptying it is always safe.
    participant_id = fields.IntField(primary_key=True, generated=False)
    site_id = fields.CharField(max_length=16)
    # the participant's, copied so the list's orders are index orders (migration 0038;
    # a new study id is a write to the participant, which makes the row stale)
    study_id = fields.CharField(max_length=32, default="", db_default="")
    fingerprint = fields.CharField(max_length=32)
    as_of = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    # check-in completion: every expected prompt, those closed this month, last month
    expected = fields.IntField()
    completed = fields.IntField()
    late = fields.IntField()
    longest = fields.IntField()
    expected_this = fields.IntField()
    completed_this = fields.IntField()
    late_this = fields.IntField()
    longest_this = fields.IntField()
    expected_last = fields.IntField()
    completed_last = fields.IntField()
    late_last = fields.IntField()
    longest_last = fields.IntField()
    # visits: "code state bucket" per visit, comma-separated (bucket 1: target date this
    # month, 2: last month, 0: neither), and the list's columns
    visits = fields.TextField()
    in_window = fields.IntField()
    settled = fields.IntField()
    overdue = fields.BooleanField()
    checkin_rate = fields.FloatField()  # 2.0 when nothing is expected yet (sorts last)
    visit_rate = fields.FloatField()

    class Meta:
        table = "dashboard_summary"
        indexes = (("site_id", "visits"),)


class DashboardWritten(Model):
    # A participant written about (the row, its visit outcomes or its check-ins), added
    # by database triggers (migration 0034) in the writer's transaction; the dashboard's
    # next read drops that participant's summary row and these rows. Appended, never
    # updated: concurrent writers of one participant do not wait for each other.
    id = fields.BigIntField(primary_key=True)
    participant_id = fields.IntField()

    class Meta:
        table = "dashboard_written"


class SmsDay(Model):
    # One site's SMS figures for one closed span, [starts_at, ends_at) in UTC: a local
    # day, or an hour of today (derived, docs/decisions/0110 and 0115): messages sent,
    # delivered and failed in it, and how many visit reminders sent in it were how many
    # tenths of a second late (JSON, {tenths: count}). Database triggers (migration
    # 0037) delete the rows whose span a write to a message touches; nothing writes it
    # but the overview's reads; emptying it is always safe.
    id = fields.BigIntField(primary_key=True)
    site_id = fields.CharField(max_length=16)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    computed_at = fields.DatetimeField()
    sent = fields.IntField()
    delivered = fields.IntField()
    failed = fields.IntField()
    whatsapp = fields.IntField()
    fallback = fields.IntField()
    lateness = fields.TextField()

    class Meta:
        table = "sms_day"
        unique_together = (("site_id", "starts_at"),)


class DashboardSummaryGap(Model):
    # A site that may have participants without a DashboardSummary row: written by
    # whatever drops summary rows (or names a participant that has none), in the same
    # transaction; removed by a refresh that inserted the site's missing rows after
    # seeing it. A site with none has a row for every participant, so a refresh skips
    # looking for missing ones (docs/decisions/0111).
    id = fields.BigIntField(primary_key=True)
    site_id = fields.CharField(max_length=16)

    class Meta:
        table = "dashboard_summary_gap"


class DashboardSiteVisits(Model):
    # A site's summary rows summed per set of visit states (``visits``): how many rows
    # and their check-in sums (``n``/``d``/``l``: expected, completed, late; ``1``: this
    # month, ``2``: last month). Kept by triggers on ``dashboard_summary`` (migration
    # 0039, docs/decisions/0114), adding a row's figures when it is inserted and taking
    # them away when it is deleted; a set no row has any more stays with k = 0.
    id = fields.BigIntField(primary_key=True)
    site_id = fields.CharField(max_length=16)
    visits = fields.TextField()
    k = fields.IntField()
    n = fields.IntField()
    d = fields.IntField()
    l = fields.IntField()  # noqa: E741  # the column names of the sums read by site_sums
    n1 = fields.IntField()
    d1 = fields.IntField()
    l1 = fields.IntField()
    n2 = fields.IntField()
    d2 = fields.IntField()
    l2 = fields.IntField()

    class Meta:
        table = "dashboard_site_visits"
        unique_together = (("site_id", "visits"),)


class DashboardSiteLongest(Model):
    # How many of a site's summary rows have each longest run of missed prompts
    # (``which``: "" overall, "1" this month, "2" last month): a maximum that survives
    # deletions. Kept by the same triggers.
    id = fields.BigIntField(primary_key=True)
    site_id = fields.CharField(max_length=16)
    which = fields.CharField(max_length=1)
    longest = fields.IntField()
    k = fields.IntField()

    class Meta:
        table = "dashboard_site_longest"
        unique_together = (("site_id", "which", "longest"),)


class DashboardSiteVisitItems(Model):
    # How many of a site's summary rows have each single visit state (``item``: one
    # "position code letter bucket" of a row's ``visits``): kept by triggers on
    # ``dashboard_summary`` (migration 0043, docs/decisions/0128), so the overview's
    # visit counts read a row per visit state, however many sets of states there are.
    id = fields.BigIntField(primary_key=True)
    site_id = fields.CharField(max_length=16)
    item = fields.TextField()
    k = fields.IntField()

    class Meta:
        table = "dashboard_site_visit_items"
        unique_together = (("site_id", "item"),)


class DashboardSiteOpen(Model):
    # How many alerts (``kind`` "alert") or inbox items ("inbox") of a site are open
    # (``site_id`` "" for inbox items of no site): kept by triggers on ``alert`` and
    # ``inbox_item`` (migration 0043, docs/decisions/0128).
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=8)
    site_id = fields.CharField(max_length=16)
    k = fields.IntField()

    class Meta:
        table = "dashboard_site_open"
        unique_together = (("kind", "site_id"),)


class DashboardSitePeople(Model):
    # How many of a site's participants are in each state now (status, opted out,
    # blocked by the carrier): kept by triggers on ``participant`` (migration 0041,
    # docs/decisions/0117), so the overview reads a few rows instead of counting every
    # participant of the site. A state nobody is in any more stays with k = 0.
    id = fields.BigIntField(primary_key=True)
    site_id = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16)
    opted_out = fields.BooleanField()
    blocked = fields.BooleanField()
    k = fields.IntField()

    class Meta:
        table = "dashboard_site_people"
        unique_together = (("site_id", "status", "opted_out", "blocked"),)
