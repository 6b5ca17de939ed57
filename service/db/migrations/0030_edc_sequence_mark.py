from tortoise import migrations
from tortoise.migrations import operations as ops
from service.db.edc_models import EdcSource
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0028_dashboard_schedules')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='EdcChange',
            index=Index(fields=['participant_id', 'form', 'instance']),
        ),
        ops.CreateModel(
            name='EdcSequenceMark',
            fields=[
                ('source', fields.CharEnumField(description='CHECKIN: checkin\nVISIT_OUTCOME: visit_outcome\nINFUSION: infusion\nOUTBOUND: outbound\nINBOUND: inbound', enum_type=EdcSource, max_length=16, primary_key=True, unique=True, db_index=True)),
                ('next_id', fields.BigIntField()),
            ],
            options={'table': 'edc_sequence_mark', 'app': 'followup', 'pk_attr': 'source'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EdcSequenceWatch',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharEnumField(description='CHECKIN: checkin\nVISIT_OUTCOME: visit_outcome\nINFUSION: infusion\nOUTBOUND: outbound\nINBOUND: inbound', enum_type=EdcSource, max_length=16)),
                ('source_id', fields.BigIntField()),
            ],
            options={'table': 'edc_sequence_watch', 'app': 'followup', 'unique_together': (('source', 'source_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
