from tortoise import migrations
from tortoise.migrations import operations as ops
from service.db.edc_models import EdcSource, EdcTransaction
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EdcChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharEnumField(description='CHECKIN: checkin\nVISIT_OUTCOME: visit_outcome\nINFUSION: infusion\nOUTBOUND: outbound\nINBOUND: inbound', enum_type=EdcSource, max_length=16)),
                ('source_id', fields.BigIntField()),
                ('participant_id', fields.IntField()),
                ('site_code', fields.CharField(max_length=16)),
                ('form', fields.CharField(max_length=32)),
                ('repeat_key', fields.CharField(max_length=128)),
                ('instance', fields.IntField()),
                ('transaction', fields.CharEnumField(description='INSERT: Insert\nUPDATE: Update', enum_type=EdcTransaction, max_length=8)),
                ('sequenced_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'edc_change', 'app': 'followup', 'unique_together': (('source', 'source_id'),), 'indexes': [Index(fields=['participant_id', 'form', 'repeat_key']), Index(fields=['site_code', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
