from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('followup', '0012_edc_conflict_resolution')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InboundMessage',
            name='channel',
            field=fields.CharField(default='sms', db_default='sms', max_length=8),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='channel',
            field=fields.CharField(default='sms', db_default='sms', max_length=8),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='content_sid',
            field=fields.CharField(null=True, max_length=34),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='content_variables',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='fallback_reason',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Participant',
            name='channel',
            field=fields.CharField(default='sms', db_default='sms', max_length=8),
        ),
        ops.AddField(
            model_name='Participant',
            name='whatsapp_last_inbound_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Participant',
            name='whatsapp_opt_in_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Participant',
            name='whatsapp_opt_in_by',
            field=fields.CharField(null=True, max_length=160),
        ),
        ops.AddField(
            model_name='Participant',
            name='whatsapp_opt_in_method',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Participant',
            name='whatsapp_opt_in_text',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
