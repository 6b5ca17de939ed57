from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0030_edc_sequence_mark')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InboundMessage',
            name='attempts',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='InboundMessage',
            name='understood_at',
            field=fields.DatetimeField(null=True),
        ),
        ops.AddIndex(
            model_name='InboundMessage',
            index=Index(fields=['handling', 'from_phone']),
        ),
        ops.AddIndex(
            model_name='InboundMessage',
            index=Index(fields=['understood_at']),
        ),
    ]
