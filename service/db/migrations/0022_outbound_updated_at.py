from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0012_edc_conflict_resolution')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='OutboundMessage',
            index=Index(fields=['updated_at']),
        ),
    ]
