from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0009_named_states')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboundMessage',
            name='skip_reason',
            field=fields.CharField(null=True, max_length=24),
        ),
    ]
