from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0034_dashboard_written_triggers')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Participant',
            name='plan_version',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
