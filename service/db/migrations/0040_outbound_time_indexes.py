"""The plain indexes on ``outbound_message.sent_at`` and ``updated_at`` go
(docs/decisions/0112): every query by either column reads a partial covering index
(sent by ``sent_at``, delivered, failed and provider errors: migrations 0034, 0036,
0037) or one participant's rows through ``(participant_id, status)``, yet every
planned row inserted (``sent_at`` NULL) added an entry to both, and every claim,
re-plan and receipt rewrote its ``updated_at`` entry. Dropping an index only takes a
short lock; rolling back builds them again."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("followup", "0039_dashboard_site_totals")]

    initial = False

    operations = [
        ops.RemoveIndex(model_name="OutboundMessage", name=None, fields=["sent_at"]),
        ops.RemoveIndex(model_name="OutboundMessage", name=None, fields=["updated_at"]),
    ]
