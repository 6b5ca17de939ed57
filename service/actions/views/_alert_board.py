"""The alerts board and the coordinators' queue as the dashboard reads them.

Plain values, built with a fixed number of queries whatever the number of alerts:
the alerts, their participants' study ids, the sites and the alerts' text messages
each come in one query. Phone numbers leave here masked; the raw ones never reach a
page. Writes are not here: the board acknowledges through
``service.actions.alerts.acknowledge_alert`` and closes queue items through
``service.actions.alerts.close_item``, the API's own actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from service.actions.alerts import alert_summary, finding_label, inbox_items, visible_alerts
from service.actions.errors import Forbidden
from service.actions.participants import SiteRecord, sites_by_code, study_ids
from service.adapters.redaction import mask_phone
from service.db.models import Alert, OutboundMessage
from service.domain.actors import Actor
from service.domain.alert_board import Escalation, escalates_at, escalation_state, text_slot
from service.runtime import Runtime

__all__ = ["AlertBoard", "AlertText", "BoardAlert", "QueueItem", "alert_board", "queue"]

RECENT_ACKNOWLEDGED: Final = 20
_LEFT: Final = ("sent", "delivered")


@dataclass(frozen=True, slots=True)
class AlertText:
    """One SMS about an alert: to which on-call slot (masked number), how it went."""

    occurrence: str  # oncall (the first) | escalated
    slot: str  # primary | backup | on_call
    masked_to: str
    status: str  # the outbox's: planned, sending, sent, delivered, failed, expired…
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class BoardAlert:
    id: int
    study_id: str
    site: str
    site_name: str
    timezone: str  # the site's: times on the board are shown in it
    findings: tuple[str, ...]  # labels in the page's language
    summary: str
    emergency: bool
    status: str
    escalation: Escalation
    raised_at: datetime
    notified_at: datetime | None
    escalated_at: datetime | None
    escalates_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    texts: tuple[AlertText, ...]
    on_call_set: bool = True  # False: the site has no on-call mobile, nobody can be texted


@dataclass(frozen=True, slots=True)
class AlertBoard:
    open: list[BoardAlert]  # oldest first: the one waiting longest is on top
    recent: list[BoardAlert]  # acknowledged, latest acknowledgement first


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: int
    reason: str
    study_id: str | None
    site: str | None
    text: str | None  # what was texted, a stranger's too (only all-site staff see those)
    received_at: datetime | None
    created_at: datetime
    masked_from: str | None = None  # an unknown sender's number, masked


def _texts(rows: list[OutboundMessage], site: SiteRecord | None) -> tuple[AlertText, ...]:
    primary = site.on_call_primary if site else None
    backup = site.on_call_backup if site else None
    return tuple(
        AlertText(
            occurrence=row.occurrence,
            slot=text_slot(row.occurrence, row.to_phone, primary, backup),
            masked_to=mask_phone(row.to_phone) if row.to_phone else "",
            status=row.status,
            sent_at=row.sent_at,
        )
        for row in rows
    )


async def _present(rt: Runtime, alerts: list[Alert], language: str) -> list[BoardAlert]:
    if not alerts:
        return []
    ids = await study_ids(a.participant_id for a in alerts)
    sites = {site.code: site for site in await sites_by_code()}
    texts: dict[str, list[OutboundMessage]] = {}
    purposes = [f"alert:{a.id}" for a in alerts]
    for row in await OutboundMessage.filter(purpose__in=purposes).order_by("send_at", "id"):
        texts.setdefault(row.purpose, []).append(row)
    after = rt.protocol.safety.escalate_after_minutes
    board = []
    for alert in alerts:
        code: str = alert.site_id
        site = sites.get(code)
        findings: list[dict[str, Any]] = list(alert.findings)
        sent = _texts(texts.get(f"alert:{alert.id}", []), site)
        # notified_at is recorded by the escalation job when the first SMS left through
        # a retry; until then the text's own status says the on-call phone was reached.
        reached = alert.notified_at or next(
            (t.sent_at for t in sent if t.occurrence == "oncall" and t.status in _LEFT), None
        )
        board.append(
            BoardAlert(
                id=alert.id,
                study_id=ids.get(alert.participant_id, "?"),
                site=code,
                site_name=site.name if site else code,
                timezone=site.timezone if site else "America/Santiago",
                findings=tuple(finding_label(rt, f, language=language) for f in findings),
                summary=alert_summary(rt, findings, language=language),
                emergency=alert.emergency,
                status=alert.status,
                escalation=escalation_state(alert.status, reached, alert.escalated_at),
                raised_at=alert.raised_at,
                notified_at=alert.notified_at,
                escalated_at=alert.escalated_at,
                escalates_at=escalates_at(alert.status, alert.raised_at, alert.escalated_at, after),
                acknowledged_at=alert.acknowledged_at,
                acknowledged_by=alert.acknowledged_by,
                note=alert.note,
                texts=sent,
                on_call_set=bool(site and (site.on_call_primary or site.on_call_backup)),
            )
        )
    return board


async def alert_board(
    rt: Runtime, actor: Actor, *, recent: int = RECENT_ACKNOWLEDGED, language: str = "es"
) -> AlertBoard:
    """Open alerts of the actor's sites oldest first, and the latest acknowledged; the
    findings in ``language`` (the page's)."""
    open_rows = list(await visible_alerts(actor, "open").order_by("raised_at", "id"))
    done_rows = list(
        await visible_alerts(actor, "acknowledged")
        .order_by("-acknowledged_at", "-id")
        .limit(recent)
    )
    both = await _present(rt, open_rows + done_rows, language)
    return AlertBoard(open=both[: len(open_rows)], recent=both[len(open_rows) :])


async def queue(actor: Actor) -> list[QueueItem]:
    """The open items of the coordinators' queue the actor sees, oldest first."""
    if actor.kind not in ("staff", "apikey"):
        raise Forbidden("the queue is for study staff")
    items = await inbox_items(actor, "open")
    out = []
    for item in reversed(items):  # inbox_items lists newest first; a queue reads oldest first
        participant, inbound = item.participant, item.inbound
        out.append(
            QueueItem(
                id=item.id,
                reason=item.reason,
                study_id=participant.study_id if participant else None,
                site=item.site_id,
                text=inbound.body if inbound else None,
                received_at=inbound.received_at if inbound else None,
                created_at=item.created_at,
                masked_from=mask_phone(inbound.from_phone) if inbound and not participant else None,
            )
        )
    return out
