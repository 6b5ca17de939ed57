"""GET /dashboard/audit (monitors and admins): the audit trail, the review that
21 CFR 11.10(e) and ICH E6(R3) expect of a trial's computerised system.

Filters (``participant``, ``user``, ``action``, ``from``, ``to``: local dates in the
study's zone, both days included), newest first, 50 a page with a "next page" cursor;
every entry says who (a person's email, "el participante DEMO-001", "el sistema"),
when (local time with its zone), what (the action in words, and each change from
what to what) and why. ``?format=csv|xlsx`` downloads every matching entry.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from litestar.response import Template

from service.actions.views import AuditFilter, AuditRow, audit_batches, audit_page
from service.domain.paging import BadCursor, decode_cursor, encode_cursor
from service.domain.states import AuditAction
from service.runtime import Runtime
from service.web.dashboard.audit_words import ACTION_WORDS, action_words, change_lines
from service.web.dashboard.exports import XLSX_MAX_ROWS, Kind, columns_in, download
from service.web.dashboard.people import actor_words
from service.web.dashboard.render import N_, render_page, say_in
from service.web.dashboard.session import Viewer, require_reviewer

Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]
Text = Annotated[str | None, Parameter(max_length=254)]
Day = Annotated[str | None, Parameter(max_length=10)]
From = Annotated[str | None, Parameter(query="from", max_length=10)]
Limit = Annotated[int, Parameter(ge=1, le=200)]
Cursor = Annotated[str | None, Parameter(max_length=200)]
CURSOR_KIND: Final = "audit"
COLUMNS: Final = (
    (N_("When"), Kind.DATETIME),
    (N_("Who"), Kind.TEXT),
    (N_("What"), Kind.TEXT),
    (N_("Participant"), Kind.TEXT),
    (N_("Record"), Kind.TEXT),
    (N_("Changes"), Kind.TEXT),
    (N_("Why"), Kind.TEXT),
)


def _refuse(field: str, message: str) -> ValidationException:
    return ValidationException(
        detail=f"{field}: {message}", extra=[{"key": field, "message": message, "source": "query"}]
    )


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse(field, "must be a date, YYYY-MM-DD") from None


def _filter(zone: ZoneInfo, values: dict[str, str | None]) -> AuditFilter:
    action = values["action"] or None
    if action and action not in set(AuditAction):
        raise _refuse("action", "is not an action of the audit log")
    since, until = _day(values["from"], "from"), _day(values["to"], "to")
    return AuditFilter(
        participant=(values["participant"] or "").strip().upper() or None,
        user=(values["user"] or "").strip() or None,
        action=action,
        since=datetime.combine(since, time(0), zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(0), zone) if until else None,
    )


def _line(row: AuditRow, locale: str, zone: ZoneInfo) -> list[Any]:
    say = say_in(locale)
    record = "" if row.entity == "participant" else f"{row.entity} {row.entity_id}"
    return [
        row.at.astimezone(zone),
        actor_words(row.actor, say),
        action_words(row.action, say),
        row.study_id or "",
        record,
        "; ".join(change_lines(row.changes, say)),
        row.reason or "",
    ]


def _next_url(query: dict[str, str], limit: int, before: int | None) -> str | None:
    if before is None:
        return None
    cursor = encode_cursor(CURSOR_KIND, (before,))
    return "/dashboard/audit?" + urlencode({**query, "limit": limit, "cursor": cursor})


class AuditPageController(Controller):
    path = "/dashboard/audit"
    include_in_schema = False

    @get("/")
    async def trail(
        self,
        rt: Runtime,
        viewer: Viewer,
        participant: Text = None,
        user: Text = None,
        action: Text = None,
        from_: From = None,
        to: Day = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        format: Format = None,
    ) -> Template | Response[Any]:
        require_reviewer(viewer)
        zone = ZoneInfo(rt.protocol.sites[0].timezone)
        kept = {"participant": participant, "user": user, "action": action, "from": from_, "to": to}
        wanted = _filter(zone, kept)
        query = {k: v for k, v in kept.items() if v}
        locale = viewer.locale
        if format in ("csv", "xlsx"):
            rows: list[list[Any]] = []
            async for batch in audit_batches(viewer.actor, wanted):
                rows += [_line(r, locale, zone) for r in batch]
                if len(rows) >= XLSX_MAX_ROWS:
                    break
            return download(locale, format, "audit-trail", columns_in(locale, COLUMNS), rows)
        try:
            before = int(decode_cursor(CURSOR_KIND, cursor, (int,))[0]) if cursor else None
        except BadCursor as exc:
            raise _refuse("cursor", str(exc)) from None
        page = await audit_page(viewer.actor, wanted, limit=limit, before=before)
        say = say_in(locale)
        return render_page(
            viewer,
            "dashboard/audit.html",
            page=page,
            filters=kept,
            zone=str(zone),
            actions=sorted(
                ((a.value, say(w)) for a, w in ACTION_WORDS.items()), key=lambda p: p[1]
            ),
            who={r.id: actor_words(r.actor, say) for r in page.rows},
            what={r.id: action_words(r.action, say) for r in page.rows},
            changes={r.id: change_lines(r.changes, say) for r in page.rows},
            cursor=cursor,
            this_url="/dashboard/audit?" + urlencode({**query, "limit": limit}),
            next_url=_next_url(query, limit, page.next_before),
            download_url="/dashboard/audit" + ("?" + urlencode(query) if query else ""),
        )
