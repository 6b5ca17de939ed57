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
        indexes = (("participant_id", "form", "repeat_key"), ("site_code", "id"))
