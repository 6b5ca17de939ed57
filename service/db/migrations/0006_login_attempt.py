from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0005_outbox_claims')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_key', fields.CharField(max_length=20)),
                ('address', fields.CharField(max_length=64)),
                ('outcome', fields.CharField(max_length=12)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_attempt', 'app': 'followup', 'indexes': [Index(fields=['account_key', 'at']), Index(fields=['address', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
