"""GET/POST /dashboard/participants/new: enrol a participant from the dashboard.

Inputs are named as the API's fields (``POST /api/v1/participants``) and go through
the same action, ``service.actions.participants.enroll``: the same validation, the
same audit entry, the same re-planning of messages. A Chilean mobile may be typed as
people write it ("9 1234 5678", "+56 9 1234-5678"); it is stored in E.164. A refused
form comes back (post/redirect/get) with the reason beside the field and what was
typed; a success opens the new participant's page. WhatsApp needs the opt-in: the
page shows the statement, and the coordinator says how the participant agreed to it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from service.actions import participants as act
from service.runtime import Runtime
from service.web.dashboard.form_flow import Refuse, form_page, run_form
from service.web.dashboard.participant_words import LANGUAGE
from service.web.dashboard.render import N_
from service.web.dashboard.session import Viewer, require_writer

PAGE: Final = "/dashboard/participants/new"
FIELDS: Final = (
    "study_id",
    "site",
    "phone",
    "language",
    "timezone",
    "can_become_pregnant",
    "baseline_infusion_date",
    "sms_consent",
    "preferred_time",
    "channel",
    "whatsapp_opt_in",
)
YES_NO: Final = (("yes", N_("Yes")), ("no", N_("No")))
MESSAGES: Final = {
    "study_id": N_("Enter the study ID: 1 to 32 letters, digits or dashes, e.g. MSC-014."),
    "409:study_id": N_("This study ID is already enrolled."),
    "site": N_("Choose one of your sites."),
    "phone": N_("Enter a Chilean mobile number, e.g. 9 1234 5678 or +56 9 1234 5678."),
    "409:phone": N_("This number belongs to another participant."),
    "language": N_("Choose Spanish or English."),
    "timezone": N_("Choose a time zone from the list, or leave the site's."),
    "can_become_pregnant": N_("Say whether the participant can become pregnant."),
    "baseline_infusion_date": N_(
        "Enter the baseline infusion date: not before 2019 and at most 90 days ahead."
    ),
    "sms_consent": N_("Say whether the participant agreed to receive SMS."),
    "preferred_time": N_("Enter a time of day as HH:MM, e.g. 10:30, or leave it empty."),
    "channel": N_("Choose SMS or WhatsApp."),
    "whatsapp_opt_in": N_(
        "WhatsApp needs the participant's agreement to the statement shown: say how they gave it."
    ),
}
CHANNELS: Final = (("sms", N_("SMS")), ("whatsapp", N_("WhatsApp")))
# How a coordinator collects the WhatsApp opt-in (the app records its own, "app").
OPT_IN_METHODS: Final = (
    ("", N_("Not agreed (SMS only)")),
    ("written", N_("In writing, on the consent form")),
    ("verbal", N_("Aloud, to me")),
)
ZONES: Final = ("America/Santiago", "America/Punta_Arenas", "Pacific/Easter")


def _yes_no(value: str, field: str) -> bool:
    if value not in ("yes", "no"):
        raise Refuse(field, MESSAGES[field])
    return value == "yes"


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Refuse(field, MESSAGES[field]) from None


class EnrolPageController(Controller):
    path = PAGE
    include_in_schema = False

    @get("/")
    async def form(self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any]) -> Template:
        require_writer(viewer)
        sites = [s for s in rt.protocol.sites if viewer.actor.can_see_site(s.code)]
        return form_page(
            request,
            viewer,
            "dashboard/enrol.html",
            sites=sites,
            languages=LANGUAGE,
            yes_no=YES_NO,
            zones=ZONES,
            channels=CHANNELS,
            opt_in_methods=OPT_IN_METHODS,
            opt_in_statement=rt.translator.render(act.OPT_IN_STATEMENT, "es"),
        )

    @post("/", status_code=303)
    async def enrol(self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any]) -> Redirect:
        require_writer(viewer)

        async def enrol(v: dict[str, str]) -> str:
            study_id = v["study_id"].strip().upper()
            if not study_id or study_id == "NEW":
                raise Refuse("study_id", MESSAGES["study_id"])
            if v["language"] not in LANGUAGE:
                raise Refuse("language", MESSAGES["language"])
            channel = v["channel"] or "sms"
            if channel not in dict(CHANNELS):
                raise Refuse("channel", MESSAGES["channel"])
            method = v["whatsapp_opt_in"]
            if method not in dict(OPT_IN_METHODS):
                raise Refuse("whatsapp_opt_in", MESSAGES["whatsapp_opt_in"])
            request_ = act.EnrollmentRequest(
                study_id=study_id,
                site=v["site"],
                phone=v["phone"],
                can_become_pregnant=_yes_no(v["can_become_pregnant"], "can_become_pregnant"),
                baseline_infusion_date=_date(v["baseline_infusion_date"], "baseline_infusion_date"),
                sms_consent=_yes_no(v["sms_consent"], "sms_consent"),
                language=v["language"],
                timezone=v["timezone"].strip() or None,
                preferred_time=v["preferred_time"].strip() or None,
                channel=channel,
                whatsapp_opt_in=act.OptIn(method) if method else None,
            )
            await act.enroll(rt, viewer.actor, request_)
            return study_id

        return await run_form(
            request, back=PAGE, form="enrol", fields=FIELDS, action=enrol, messages=MESSAGES,
            done=lambda study_id: f"/dashboard/participants/{study_id}?saved=enrolled",
        )  # fmt: skip
