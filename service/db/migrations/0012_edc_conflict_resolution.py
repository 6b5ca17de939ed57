from tortoise import migrations
from tortoise.migrations import operations as ops
from service.domain.states import ConflictResolution
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0011_outbound_sent_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EdcConflict',
            name='applied_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EdcConflict',
            name='resolution',
            field=fields.CharEnumField(null=True, description='KEEP_REDCAP: keep_redcap\nSEND_OURS: send_ours', enum_type=ConflictResolution, max_length=16),
        ),
        ops.AddField(
            model_name='EdcConflict',
            name='resolved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EdcConflict',
            name='resolved_by',
            field=fields.CharField(null=True, max_length=160),
        ),
    ]
