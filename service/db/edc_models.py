"""The EDC feed's own tables (registered beside service.db.models in the same app).

``EdcChange`` is the feed's sequence: one row per source record (a check-in version,
a visit outcome, an infusion, a contact-log message), written by the sequencer *after*
the record committed, in one serialised step. Its id is the cursor the ODM pull and
the REDCap push read by, so a record committed late by another process is sequenced
late and still read exactly once. It also fixes where each record goes, once: its
repeat instance (a check-in's corrections share the instance of its first version)
and whether it is an Insert or an Update.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from service.domain.states import ConflictResolution, ConflictStatus, PushStatus


class EdcSource(StrEnum):
    CHECKIN = "checkin"
    VISIT_OUTCOME = "visit_outcome"
    INFUSION = "infusion"
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class EdcTransaction(StrEnum):
    INSERT = "Insert"
    UPDATE = "Update"


class EdcChange(Model):
    id = fields.BigIntField(primary_key=True)
    source = fields.CharEnumField(EdcSource, max_length=16)
    source_id = fields.BigIntField()
    participant_id = fields.IntField()
    site_code = fields.CharField(max_length=16)
    form = fields.CharField(max_length=32)
    repeat_key = fields.CharField(max_length=128)
    instance = fields.IntField()
    transaction = fields.CharEnumField(EdcTransaction, max_length=8)
    sequenced_at = fields.DatetimeField()

    class Meta:
        table = "edc_change"
        unique_together = (("source", "source_id"),)
        indexes = (
            ("participant_id", "form", "repeat_key"),
            ("site_code", "id"),
            # The top instance of one participant's repeating form, in one index seek.
            ("participant_id", "form", "instance"),
        )


class EdcSequenceMark(Model):
    # Per source table: every row with a smaller id already has its change row, or is
    # watched (``EdcSequenceWatch``). The sequencer scans from here, not from id 1; the
    # rule that moves it (never past a row that may still commit) is in _sequence.py.
    source = fields.CharEnumField(EdcSource, max_length=16, primary_key=True)
    next_id = fields.BigIntField()

    class Meta:
        table = "edc_sequence_mark"


class EdcSequenceWatch(Model):
    # A row the mark passed while it was not (yet) fed: an unsent outbound message, a
    # stranger's inbound one. Rechecked every batch; deleted once it is sequenced.
    id = fields.BigIntField(primary_key=True)
    source = fields.CharEnumField(EdcSource, max_length=16)
    source_id = fields.BigIntField()

    class Meta:
        table = "edc_sequence_watch"
        unique_together = (("source", "source_id"),)


class EdcPushSlot(Model):
    # What the feed last wrote to one REDCap slot and REDCap acknowledged: the baseline
    # against which a value REDCap holds is recognised as changed there by hand.
    id = fields.BigIntField(primary_key=True)
    record = fields.CharField(max_length=32)
    event = fields.CharField(max_length=64)
    form = fields.CharField(max_length=32)
    instance = fields.IntField()
    sent: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    last_change_id = fields.BigIntField()
    pushed_at = fields.DatetimeField()

    class Meta:
        table = "edc_push_slot"
        unique_together = (("record", "event", "form", "instance"),)


class EdcConflict(Model):
    # A value changed in REDCap by hand that the feed did not overwrite, and what staff
    # chose: keep REDCap's value (adopted as the feed's baseline at once) or send ours
    # (written by the next push, which sets ``applied_at``).
    id = fields.BigIntField(primary_key=True)
    record = fields.CharField(max_length=32)
    site_code = fields.CharField(max_length=16)
    event = fields.CharField(max_length=64)
    form = fields.CharField(max_length=32)
    instance = fields.IntField()
    field_name = fields.CharField(max_length=64)
    ours = fields.TextField()
    theirs = fields.TextField()
    status = fields.CharEnumField(ConflictStatus, max_length=16, default=ConflictStatus.OPEN)
    detected_at = fields.DatetimeField()
    resolution = fields.CharEnumField(ConflictResolution, max_length=16, null=True)
    resolved_by = fields.CharField(max_length=160, null=True)
    resolved_at = fields.DatetimeField(null=True)
    applied_at = fields.DatetimeField(null=True)

    class Meta:
        table = "edc_conflict"
        indexes = (("status", "site_code"),)


class EdcPushRun(Model):
    id = fields.BigIntField(primary_key=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(PushStatus, max_length=20, default=PushStatus.RUNNING)
    cursor_from = fields.BigIntField()
    cursor_to = fields.BigIntField(null=True)
    records = fields.IntField(default=0)
    rows = fields.IntField(default=0)
    conflicts = fields.IntField(default=0)
    detail = fields.TextField(null=True)

    class Meta:
        table = "edc_push_run"
        indexes = (("started_at",),)
