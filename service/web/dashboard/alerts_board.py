"""GET /dashboard/alerts and /dashboard/inbox: the safety alerts still open (oldest
first), the latest acknowledged, and the coordinators' queue, each with its form.

Thin: the rows come from ``service.actions.views`` (fixed number of queries,
phones masked, site scoping by the actions), the writes go through the API's own
actions (``acknowledge_alert``, ``close_item``), which audit. Every form is a plain
POST answered with a 303 back to the page, so the board works without JavaScript;
with it, htmx re-reads the open alerts every 30 s (``/dashboard/alerts/open``) and
keeps a note being typed (``hx-preserve``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from service.actions.alerts import NOTE_MAX_CHARS, acknowledge_alert, close_item
from service.actions.errors import Conflict
from service.actions.views import AlertBoard, BoardAlert, QueueItem, alert_board, queue
from service.domain.alert_board import age_words
from service.runtime import Runtime
from service.web.dashboard.exports import Column, Kind, download
from service.web.dashboard.form_flow import form_page
from service.web.dashboard.form_state import FormState
from service.web.dashboard.forms import read_form
from service.web.dashboard.people import actor_words
from service.web.dashboard.render import N_, render_page, say_in, translations
from service.web.dashboard.session import Viewer, require_writer

Format = Annotated[
    str | None, Parameter(pattern="^(csv|xlsx)$", description="the table as CSV or XLSX")
]
Done = Annotated[int | None, Parameter(ge=1)]

NOTE_REQUIRED: Final = N_("Write what was done: the note is required.")
NOTE_TOO_LONG: Final = N_("The note is too long: at most %(max)s characters.")
ALREADY_ACKNOWLEDGED: Final = N_("Someone acknowledged this alert a moment ago.")
ALREADY_CLOSED: Final = N_("Someone closed this item a moment ago.")
ACKNOWLEDGED: Final = N_("Alert acknowledged. Thank you.")
CLOSED: Final = N_("Item closed.")
ATTACHED: Final = N_(
    "The number is now the participant's phone; the text is on their page and in their "
    "site's queue."
)

ALERT_HEADER: Final = (
    (N_("Alert"), Kind.INTEGER),
    (N_("State"), Kind.TEXT),
    (N_("Participant"), Kind.TEXT),
    (N_("Site"), Kind.TEXT),
    (N_("Findings"), Kind.TEXT),
    (N_("Emergency"), Kind.TEXT),
    (N_("Raised at"), Kind.DATETIME),
    (N_("Age"), Kind.TEXT),
    (N_("Texted"), Kind.TEXT),
    (N_("Escalation"), Kind.TEXT),
    (N_("Escalates at"), Kind.DATETIME),
    (N_("Acknowledged at"), Kind.DATETIME),
    (N_("Acknowledged by"), Kind.TEXT),
    (N_("Note"), Kind.TEXT),
)
QUEUE_HEADER: Final = (
    (N_("Item"), Kind.INTEGER),
    (N_("Reason"), Kind.TEXT),
    (N_("Participant"), Kind.TEXT),
    (N_("Site"), Kind.TEXT),
    (N_("Message"), Kind.TEXT),
    (N_("Received at"), Kind.DATETIME),
    (N_("Queued at"), Kind.DATETIME),
    (N_("Waiting"), Kind.TEXT),
)


def _word(viewer: Viewer, message: str) -> str:
    """A catalog word in the viewer's language, for the CSV (pages translate in Jinja)."""
    catalog = translations().get(viewer.locale) or translations()["es"]
    return str(catalog.ugettext(message))


def _local(moment: datetime | None, zone: str) -> datetime | None:
    """The moment in the site's zone (the download writes it with its offset)."""
    return None if moment is None else moment.astimezone(ZoneInfo(zone))


def _columns(viewer: Viewer, spec: tuple[tuple[str, Kind], ...]) -> list[Column]:
    return [Column(_word(viewer, header), kind) for header, kind in spec]


async def _board_page(
    rt: Runtime,
    viewer: Viewer,
    *,
    status_code: int = 200,
    flash: str | None = None,
    errors: dict[int, str] | None = None,
    notes: dict[int, str] | None = None,
) -> Template:
    board = await alert_board(rt, viewer.actor, language=viewer.locale)
    return render_page(
        viewer,
        "dashboard/alerts.html",
        status_code=status_code,
        flash=flash,
        **_board_context(rt, viewer, board),
        errors=errors or {},
        notes=notes or {},
        note_max=NOTE_MAX_CHARS,
    )


def _board_context(rt: Runtime, viewer: Viewer, board: AlertBoard) -> dict[str, Any]:
    now = rt.clock.now()
    return {
        "open_alerts": board.open,
        "recent_alerts": board.recent,
        "ages": {a.id: age_words(a.raised_at, now, viewer.locale) for a in board.open},
        "words": WORDS,
    }


def _alert_row(viewer: Viewer, alert: BoardAlert, now: datetime) -> list[object]:
    texts = "; ".join(
        f"{_word(viewer, SLOT_WORDS.get(t.slot, t.slot))} {t.masked_to}"
        f" ({_word(viewer, STATUS_WORDS.get(t.status, t.status))})"
        for t in alert.texts
    )
    return [
        alert.id,
        _word(viewer, N_("open") if alert.status == "open" else N_("acknowledged")),
        alert.study_id,
        alert.site,
        "; ".join(alert.findings),
        _word(viewer, N_("yes") if alert.emergency else N_("no")),
        _local(alert.raised_at, alert.timezone),
        age_words(alert.raised_at, now, viewer.locale) if alert.status == "open" else "",
        texts,
        _word(viewer, ESCALATION_WORDS[alert.escalation]),
        _local(alert.escalates_at, alert.timezone),
        _local(alert.acknowledged_at, alert.timezone),
        actor_words(alert.acknowledged_by, say_in(viewer.locale)) if alert.acknowledged_by else "",
        alert.note or "",
    ]


SLOT_WORDS: Final = {
    "primary": N_("On-call primary"),
    "backup": N_("On-call backup"),
    "primary_again": N_("On-call primary again (the site has no backup)"),
    "on_call": N_("On call"),
}
STATUS_WORDS: Final = {
    "planned": N_("waiting to be sent"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
    "undelivered": N_("not delivered"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
}
ESCALATION_WORDS: Final = {
    "waiting": N_("Not texted yet"),
    "notified": N_("On call texted, not acknowledged"),
    "escalated": N_("Escalated"),
    "acknowledged": N_("Acknowledged"),
}
REASON_WORDS: Final = {
    "not_understood": N_("Message not understood"),
    "someone_else": N_("A red flag about someone else"),
    "question": N_("A question about a red flag"),
    "negated": N_("A red flag denied or already over"),
    "red_flag_unclear": N_("A red flag not clear enough to alert: ask"),
    "below_threshold": N_("A temperature under the alert threshold"),
    "unplaced": N_("Reply the service could not place"),
    "replies_capped": N_("Too many replies in a day"),
    "unknown_sender": N_("Message from an unknown number"),
    "while_opted_out": N_("Message from a participant who opted out (no reply sent)"),
    "late_answer": N_("Answer after the check-in closed"),
    "reschedule": N_("Asks to change a visit"),
    "unparseable": N_("Check-in answer needs a person"),
    "checkin_conflict": N_("Conflicting check-in answers"),
    "alert_no_on_call": N_("Alert with no on-call phone set"),
    "alert_unacknowledged": N_("Alert unacknowledged, no one to escalate to"),
}
WORDS: Final = {
    "slots": SLOT_WORDS,
    "statuses": STATUS_WORDS,
    "escalation": ESCALATION_WORDS,
    "reasons": REASON_WORDS,
}


class AlertsBoardController(Controller):
    path = "/dashboard"
    include_in_schema = False

    @get("/alerts")
    async def board(
        self, rt: Runtime, viewer: Viewer, format: Format = None, acknowledged: Done = None
    ) -> Response[Any]:
        if format:
            board = await alert_board(rt, viewer.actor, language=viewer.locale)
            now = rt.clock.now()
            rows = [_alert_row(viewer, a, now) for a in [*board.open, *board.recent]]
            columns = _columns(viewer, ALERT_HEADER)
            return download(viewer.locale, format, "alerts", columns, rows)
        return await _board_page(rt, viewer, flash=ACKNOWLEDGED if acknowledged else None)

    @get("/alerts/open")
    async def open_partial(self, rt: Runtime, viewer: Viewer) -> Template:
        """The open alerts alone, for htmx's poll every 30 s (a full page without JS)."""
        board = await alert_board(rt, viewer.actor, language=viewer.locale)
        return render_page(
            viewer,
            "dashboard/partials/alerts_open.html",
            **_board_context(rt, viewer, board),
            errors={},
            notes={},
            note_max=NOTE_MAX_CHARS,
        )

    @post("/alerts/{alert_id:int}/acknowledge", status_code=303)
    async def acknowledge(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], alert_id: FromPath[int]
    ) -> Response[Any]:
        require_writer(viewer)
        note = (await read_form(request, ("note",)))["note"].strip()
        problem = NOTE_TOO_LONG if len(note) > NOTE_MAX_CHARS else None
        problem = NOTE_REQUIRED if not note else problem
        if problem:
            return await _board_page(
                rt, viewer, status_code=400, errors={alert_id: problem}, notes={alert_id: note}
            )
        try:
            await acknowledge_alert(rt, viewer.actor, alert_id, note)
        except Conflict:
            return await _board_page(rt, viewer, status_code=409, flash=ALREADY_ACKNOWLEDGED)
        return Redirect(f"/dashboard/alerts?acknowledged={alert_id}", status_code=303)

    @get("/inbox")
    async def inbox(
        self,
        rt: Runtime,
        viewer: Viewer,
        request: Request[Any, Any, Any],
        format: Format = None,
        closed: Done = None,
        attached: Done = None,
    ) -> Response[Any]:
        items = await queue(viewer.actor)
        if format:
            now = rt.clock.now()
            rows = [_queue_row(rt, viewer, item, now) for item in items]
            columns = _columns(viewer, QUEUE_HEADER)
            return download(viewer.locale, format, "inbox", columns, rows)
        flash = CLOSED if closed else (ATTACHED if attached else None)
        return inbox_page(rt, viewer, items, flash=flash, request=request)

    @post("/inbox/{item_id:int}/close", status_code=303)
    async def close(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], item_id: FromPath[int]
    ) -> Response[Any]:
        require_writer(viewer)
        note = (await read_form(request, ("note",)))["note"].strip()
        if len(note) > NOTE_MAX_CHARS:
            items = await queue(viewer.actor)
            return inbox_page(
                rt,
                viewer,
                items,
                status_code=400,
                errors={item_id: NOTE_TOO_LONG},
                notes={item_id: note},
            )
        try:
            await close_item(rt, viewer.actor, item_id, note or None)
        except Conflict:
            items = await queue(viewer.actor)
            return inbox_page(rt, viewer, items, status_code=409, flash=ALREADY_CLOSED)
        return Redirect(f"/dashboard/inbox?closed={item_id}", status_code=303)


def _site_zone(rt: Runtime, code: str | None) -> str:
    for site in rt.protocol.sites:
        if site.code == code:
            return str(site.timezone)
    return "America/Santiago"


def _queue_row(rt: Runtime, viewer: Viewer, item: QueueItem, now: datetime) -> list[object]:
    zone = _site_zone(rt, item.site)
    return [
        item.id,
        _word(viewer, REASON_WORDS.get(item.reason, item.reason)),
        item.study_id or item.masked_from or "",
        item.site or "",
        item.text or "",
        _local(item.received_at, zone),
        _local(item.created_at, zone),
        age_words(item.created_at, now, viewer.locale),
    ]


def inbox_page(
    rt: Runtime,
    viewer: Viewer,
    items: list[QueueItem],
    *,
    status_code: int = 200,
    flash: str | None = None,
    errors: dict[int, str] | None = None,
    notes: dict[int, str] | None = None,
    revealed: dict[int, str] | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Template:
    """The queue; ``revealed`` holds the unknown numbers just shown (audited), and a
    ``request`` lets a refused attach form (post/redirect/get) show its message."""
    now = rt.clock.now()
    context: dict[str, Any] = {
        "status_code": status_code,
        "flash": flash,
        "items": items,
        "zones": {item.id: _site_zone(rt, item.site) for item in items},
        "ages": {item.id: age_words(item.created_at, now, viewer.locale) for item in items},
        "errors": errors or {},
        "notes": notes or {},
        "note_max": NOTE_MAX_CHARS,
        "words": WORDS,
        "revealed": revealed or {},
    }
    if request is not None:
        return form_page(request, viewer, "dashboard/inbox.html", **context)
    return render_page(viewer, "dashboard/inbox.html", refusal=FormState(), **context)
