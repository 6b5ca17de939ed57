"""GET /dashboard/participants/{study_id}: one participant's page, and its tables as CSV.

Thin: the data comes from ``service.actions.views`` (seven statements
however long the follow-up), scoped like the API (another site's study id is a 404
page). The forms that write live in participant_forms.py; both render the page
through :func:`page_response`, so a form error shows the same page with the message
beside the field and the typed values kept.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get
from litestar.params import FromPath, Parameter
from litestar.response import Template

from service.actions import participants as act
from service.actions.views import ParticipantPage, participant_page
from service.runtime import Runtime
from service.web.dashboard import participant_words as words
from service.web.dashboard.exports import Column, Kind, download
from service.web.dashboard.render import N_, render_page, translations
from service.web.dashboard.session import Viewer

LATER = timedelta(days=14)  # planned further ahead than this: folded away on the page
Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]
Table = Annotated[str, Parameter(pattern="^(timeline|checkins)$")]
Saved = Annotated[str | None, Parameter(max_length=32)]


def page_response(
    rt: Runtime,
    viewer: Viewer,
    data: ParticipantPage,
    *,
    status_code: int = 200,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    flash: str | None = None,
) -> Template:
    """The page; after a refused form, ``form`` names it, ``errors`` maps its fields to
    messages (msgids) and ``values`` holds what was typed."""
    horizon = rt.clock.now() + LATER
    later = [e for e in data.timeline if e.status in ("planned", "in_app") and e.at > horizon]
    names = {
        row.visit.code: rt.translator.render(row.visit.name_key, viewer.locale)
        for row in data.calendar
    }
    return render_page(
        viewer,
        "dashboard/participant.html",
        status_code=status_code,
        page=data,
        p=data.participant,
        zone=data.participant.timezone,
        visit_names=names,
        words=words,
        form=form,
        errors=errors or {},
        values=values or {},
        flash=flash,
        visit_codes=[row.visit.code for row in data.calendar],
        timeline_now=[e for e in data.timeline if e not in later],
        timeline_later=later,
        # What the participant agrees to for WhatsApp, in their language (the record
        # keeps the text they were shown).
        opt_in_statement=rt.translator.render(act.OPT_IN_STATEMENT, data.participant.language),
    )


def _local(moment: Any, zone: str) -> Any:
    return None if moment is None else moment.astimezone(ZoneInfo(zone))


# Which columns of the two downloads hold moments, counts (the rest is text).
_KINDS = {N_("Submitted"): Kind.DATETIME, N_("Version"): Kind.INTEGER, N_("When"): Kind.DATETIME,
          N_("Planned for"): Kind.DATETIME, N_("Sent"): Kind.DATETIME,
          N_("Delivered"): Kind.DATETIME}  # fmt: skip


def _csv(viewer: Viewer, data: ParticipantPage, table: str, fmt: str) -> Response[Any]:
    say = translations()[viewer.locale].ugettext
    zone = data.participant.timezone
    sid = data.participant.study_id
    if table == "checkins":
        header = [
            say(N_("Submitted")),
            say(N_("Questionnaire")),
            say(N_("Check-in")),
            say(N_("Version")),
            say(N_("Channel")),
            say(N_("Complete")),
            say(N_("Late")),
            say(N_("Answers")),
            say(N_("Alerts")),
        ]
        rows = [
            [
                _local(c.submitted_at, zone),
                say(words.QUESTIONNAIRE.get(c.questionnaire, c.questionnaire)),
                c.checkin_key,
                c.version,
                say(words.CHANNEL.get(c.channel, c.channel)),
                say(N_("yes")) if c.complete else say(N_("no")),
                say(N_("yes")) if c.late else say(N_("no")),
                json.dumps(c.answers, ensure_ascii=False, sort_keys=True),
                " ".join(str(a) for a in c.alert_ids),
            ]
            for c in data.checkins
        ]
        return _download(viewer, fmt, f"checkins-{sid}", header, rows)
    header = [
        say(N_("When")),
        say(N_("Direction")),
        say(N_("Kind")),
        say(N_("Status")),
        say(N_("Channel")),
        say(N_("Planned for")),
        say(N_("Sent")),
        say(N_("Delivered")),
        say(N_("Provider code")),
        say(N_("What the code means")),
        say(N_("Why not sent")),
        say(N_("Daily budget")),
        say(N_("By SMS instead of WhatsApp")),
        say(N_("WhatsApp template")),
        say(N_("Read")),
        say(N_("Text")),
    ]
    rows = [
        [
            _local(e.at, zone),
            say(N_("received")) if e.direction == "inbound" else say(N_("sent to the participant")),
            say(words.MESSAGE_KIND.get(e.kind, e.kind)),
            say(words.MESSAGE_STATUS.get(e.status, e.status))
            if e.direction == "outbound"
            else e.status,
            say(words.CHANNEL.get(e.channel, e.channel)),
            _local(e.planned_at, zone),
            _local(e.sent_at, zone),
            _local(e.delivered_at, zone),
            e.error_code,
            e.error_meaning,
            say(words.NOT_SENT[e.skip_reason])
            if e.skip_reason in words.NOT_SENT
            else e.skip_reason,
            e.budget,
            say(words.FALLBACK[e.fallback_reason])
            if e.fallback_reason in words.FALLBACK
            else e.fallback_reason,
            e.template,
            say(N_("yes")) if e.read else "",
            e.body,
        ]
        for e in data.timeline
    ]
    return _download(viewer, fmt, f"messages-{sid}", header, rows)


def _download(
    viewer: Viewer, fmt: str, stem: str, header: list[str], rows: list[list[Any]]
) -> Response[Any]:
    say = translations()[viewer.locale].ugettext
    kinds = {say(msgid): kind for msgid, kind in _KINDS.items()}
    columns = [Column(h, kinds.get(h, Kind.TEXT)) for h in header]
    return download(viewer.locale, fmt, stem, columns, rows)


class ParticipantPageController(Controller):
    path = "/dashboard/participants"
    include_in_schema = False

    @get("/{study_id:str}")
    async def show(
        self,
        rt: Runtime,
        viewer: Viewer,
        study_id: FromPath[str],
        format: Format = None,  # the dashboard-wide ?format=csv
        table: Table = "timeline",
        saved: Saved = None,
    ) -> Template | Response[Any]:
        data = await participant_page(rt, viewer.actor, study_id, locale=viewer.locale)
        if format in ("csv", "xlsx"):
            return _csv(viewer, data, table, format)
        return page_response(rt, viewer, data, flash=words.SAVED.get(saved or ""))
