from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0004_inbound_raw_and_early_callbacks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SendBucket',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('tokens', fields.FloatField()),
                ('refreshed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'send_bucket', 'app': 'followup', 'pk_attr': 'key'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='lease_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='priority',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='version',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
