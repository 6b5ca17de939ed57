"""The participant's preferences in the web app: language, preferred time, pause.

The API's own use case (``participants.update_own_preferences``): validated, audited,
and every pending message re-planned in the same transaction, so the next reminder
already follows the new hour, or stops while paused. A channel preference (SMS or
WhatsApp) belongs here beside the language once enrolment records one.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from service.actions.errors import ActionError
from service.actions.participants import own_participant, update_own_preferences
from service.domain.actors import Actor
from service.domain.languages import LANGUAGES
from service.runtime import Runtime
from service.web.app.session import (
    LANG_COOKIE,
    SECURITY_HEADERS,
    cookie,
    current_participant,
    render,
)
from service.web.error_codes import ERROR_CODES, error_code

TIME_MAX: Final = 5


async def _page(
    request: Request[Any, Any, Any],
    actor: Actor,
    *,
    values: dict[str, Any],
    error: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    return render(
        request,
        "app/preferences.html",
        actor=actor,
        values=values,
        languages=LANGUAGES,
        error=error,
        saved=saved,
        status_code=status_code,
    )


class AppPreferencesController(Controller):
    path = "/app/preferences"
    include_in_schema = False

    @get("/")
    async def form(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        actor = await current_participant(request)
        if actor is None:
            return Redirect("/app", status_code=303)
        participant = await own_participant(actor)
        values = {
            "language": participant.language,
            "preferred_time": participant.preferred_time or "",
            "paused": participant.paused,
        }
        saved = request.query_params.get("saved") == "1"
        return await _page(request, actor, values=values, saved=saved)

    @post("/", status_code=303)
    async def save(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template | Redirect:
        actor = await current_participant(request)
        if actor is None:
            return Redirect("/app", status_code=303)
        form = await request.form()
        language = str(form.get("language", ""))[:8]
        preferred = str(form.get("preferred_time", "")).strip()[:TIME_MAX]
        values = {
            "language": language,
            "preferred_time": preferred,
            "paused": form.get("paused") == "yes",
        }
        changes = {**values, "preferred_time": preferred or None}
        try:
            await update_own_preferences(rt, actor, changes)
        except ActionError as exc:
            words = ERROR_CODES[error_code(exc.status_code, exc.code)].words
            return await _page(request, actor, values=values, error=words, status_code=400)
        response = Redirect("/app/preferences?saved=1", status_code=303, headers=SECURITY_HEADERS)
        # The pages follow the language chosen here, not an earlier ?lang= visit.
        response.set_cookie(cookie(request, LANG_COOKIE, language, max_age=365 * 24 * 3600))
        return response
