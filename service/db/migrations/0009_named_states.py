from tortoise import migrations
from tortoise.migrations import operations as ops
from service.domain.calendar import RecordedOutcome
from service.domain.states import AlertStatus, ConversationStatus, InboundHandling, InboxReason, InboxStatus, LoginOutcome, MessageKind, MessageStatus, ParticipantStatus, SessionEnd
from tortoise import fields


class SameColumn(ops.AlterField):
    """A CharField that becomes a CharEnumField of the same max_length: the column
    (VARCHAR(n), same default in Python, no database default) does not change, so
    only the migration state moves. Without this, SQLite would rebuild each table
    and PostgreSQL would add column comments, for a change the database cannot see."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


class RenameCheckin(ops.RenameModel):
    """``CheckIn`` becomes ``Checkin`` (the spelling of every other check-in name); the
    table stays ``checkin``. Tortoise's RenameModel reloads only the renamed model, so
    ``Participant`` would keep the old model's reverse relation (``checkins``) and
    refuse the new one: reload every model related to it as well."""

    def state_forward(self, app_label, state):
        related = state._find_related_models(app_label, self.old_name)
        related.discard((app_label, self.old_name))
        state.reload_model = lambda app, name: state._reload({*related, (app, name)})
        try:
            super().state_forward(app_label, state)
        finally:
            del state.reload_model


class Migration(migrations.Migration):
    dependencies = [('followup', '0008_staff_session')]

    initial = False

    operations = [
        RenameCheckin(old_name='CheckIn', new_name='Checkin'),
        ops.RenameField(
            model_name='Alert',
            old_name='dedup_key',
            new_name='dedupe_key',
        ),
        SameColumn(
            model_name='Alert',
            name='status',
            field=fields.CharEnumField(default=AlertStatus.OPEN, description='AlertStatus', enum_type=AlertStatus, max_length=16),
        ),
        SameColumn(
            model_name='Conversation',
            name='status',
            field=fields.CharEnumField(default=ConversationStatus.OPEN, description='ConversationStatus', enum_type=ConversationStatus, max_length=16),
        ),
        SameColumn(
            model_name='InboundMessage',
            name='handling',
            field=fields.CharEnumField(default=InboundHandling.PENDING, description='InboundHandling', enum_type=InboundHandling, max_length=24),
        ),
        SameColumn(
            model_name='InboxItem',
            name='reason',
            field=fields.CharEnumField(description='InboxReason', enum_type=InboxReason, max_length=32),
        ),
        SameColumn(
            model_name='InboxItem',
            name='status',
            field=fields.CharEnumField(default=InboxStatus.OPEN, description='InboxStatus', enum_type=InboxStatus, max_length=16),
        ),
        SameColumn(
            model_name='OutboundMessage',
            name='kind',
            field=fields.CharEnumField(description='MessageKind', enum_type=MessageKind, max_length=16),
        ),
        SameColumn(
            model_name='OutboundMessage',
            name='status',
            field=fields.CharEnumField(default=MessageStatus.PLANNED, description='MessageStatus', enum_type=MessageStatus, max_length=16),
        ),
        SameColumn(
            model_name='Participant',
            name='status',
            field=fields.CharEnumField(default=ParticipantStatus.ACTIVE, description='ParticipantStatus', enum_type=ParticipantStatus, max_length=16),
        ),
        SameColumn(
            model_name='VisitOutcome',
            name='status',
            field=fields.CharEnumField(description='RecordedOutcome', enum_type=RecordedOutcome, max_length=16),
        ),
        SameColumn(
            model_name='LoginAttempt',
            name='outcome',
            field=fields.CharEnumField(description='LoginOutcome', enum_type=LoginOutcome, max_length=12),
        ),
        SameColumn(
            model_name='ParticipantSession',
            name='revoked_reason',
            field=fields.CharEnumField(null=True, description='SessionEnd', enum_type=SessionEnd, max_length=32),
        ),
    ]
