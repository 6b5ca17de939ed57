from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from service.db.edc_models import ConflictStatus, PushStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0002_edc_change')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EdcConflict',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('record', fields.CharField(max_length=32)),
                ('site_code', fields.CharField(max_length=16)),
                ('event', fields.CharField(max_length=64)),
                ('form', fields.CharField(max_length=32)),
                ('instance', fields.IntField()),
                ('field_name', fields.CharField(max_length=64)),
                ('ours', fields.TextField(unique=False)),
                ('theirs', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=ConflictStatus.OPEN, description='OPEN: open\nRESOLVED: resolved', enum_type=ConflictStatus, max_length=16)),
                ('detected_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'edc_conflict', 'app': 'followup', 'indexes': [Index(fields=['status', 'site_code'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EdcPushRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=PushStatus.RUNNING, description='RUNNING: running\nOK: ok\nDRY_RUN: dry_run\nREFUSED: refused\nFORBIDDEN: forbidden\nUNAVAILABLE: unavailable\nMETADATA_MISMATCH: metadata_mismatch\nMAPPING_ERROR: mapping_error', enum_type=PushStatus, max_length=20)),
                ('cursor_from', fields.BigIntField()),
                ('cursor_to', fields.BigIntField(null=True)),
                ('records', fields.IntField(default=0)),
                ('rows', fields.IntField(default=0)),
                ('conflicts', fields.IntField(default=0)),
                ('detail', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'edc_push_run', 'app': 'followup', 'indexes': [Index(fields=['started_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EdcPushSlot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('record', fields.CharField(max_length=32)),
                ('event', fields.CharField(max_length=64)),
                ('form', fields.CharField(max_length=32)),
                ('instance', fields.IntField()),
                ('sent', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('last_change_id', fields.BigIntField()),
                ('pushed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'edc_push_slot', 'app': 'followup', 'unique_together': (('record', 'event', 'form', 'instance'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
