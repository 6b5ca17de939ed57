from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0026_whatsapp_channel')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='OutboundMessage',
            index=Index(fields=['updated_at']),
        ),
    ]
