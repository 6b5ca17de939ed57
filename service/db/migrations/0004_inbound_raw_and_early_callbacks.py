from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0003_edc_push')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EarlyStatusCallback',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_sid', fields.CharField(db_index=True, max_length=64)),
                ('status', fields.CharField(max_length=16)),
                ('error_code', fields.IntField(null=True)),
                ('received_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'early_status_callback', 'app': 'followup', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='InboundMessage',
            name='body_raw_b64',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
