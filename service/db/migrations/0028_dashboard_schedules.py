from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0027_outbound_updated_at')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardSchedule',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=160)),
                ('fingerprint', fields.CharField(max_length=32)),
                ('baseline', fields.DateField()),
                ('second_infusion', fields.DateField(null=True)),
                ('can_become_pregnant', fields.BooleanField()),
                ('timezone', fields.CharField(max_length=64)),
                ('preferred_time', fields.CharField(null=True, max_length=5)),
            ],
            options={'table': 'dashboard_schedule', 'app': 'followup', 'pk_attr': 'key'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardScheduleVisit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('schedule_key', fields.CharField(max_length=160)),
                ('position', fields.SmallIntField()),
                ('code', fields.CharField(max_length=16)),
                ('target_date', fields.DateField()),
                ('window_start', fields.DateField()),
                ('window_end', fields.DateField()),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dashboard_schedule_visit', 'app': 'followup', 'unique_together': (('schedule_key', 'position'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardSchedulePrompt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('schedule_key', fields.CharField(max_length=160)),
                ('position', fields.IntField()),
                ('checkin_key', fields.CharField(max_length=96)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dashboard_schedule_prompt', 'app': 'followup', 'unique_together': (('schedule_key', 'position'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
