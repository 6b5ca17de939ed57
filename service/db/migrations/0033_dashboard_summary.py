from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('followup', '0032_inbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardSummary',
            fields=[
                ('participant_id', fields.IntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ('site_id', fields.CharField(max_length=16)),
                ('fingerprint', fields.CharField(max_length=32)),
                ('as_of', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expected', fields.IntField()),
                ('completed', fields.IntField()),
                ('late', fields.IntField()),
                ('longest', fields.IntField()),
                ('expected_this', fields.IntField()),
                ('completed_this', fields.IntField()),
                ('late_this', fields.IntField()),
                ('longest_this', fields.IntField()),
                ('expected_last', fields.IntField()),
                ('completed_last', fields.IntField()),
                ('late_last', fields.IntField()),
                ('longest_last', fields.IntField()),
                ('visits', fields.TextField(unique=False)),
                ('in_window', fields.IntField()),
                ('settled', fields.IntField()),
                ('overdue', fields.BooleanField()),
                ('checkin_rate', fields.FloatField()),
                ('visit_rate', fields.FloatField()),
            ],
            options={'table': 'dashboard_summary', 'app': 'followup', 'indexes': [Index(fields=['site_id', 'visits'])], 'pk_attr': 'participant_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardWritten',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('participant_id', fields.IntField()),
            ],
            options={'table': 'dashboard_written', 'app': 'followup', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
