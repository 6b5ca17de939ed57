"""Words a coordinator or participant reads: the service's own keywords in its Spanish
replies, a 404 that keeps the navigation, a favicon, plural counts on the overview."""

from __future__ import annotations

from service.actions.checkins import CheckinSubmission, submit
from service.actions.inbound import handle_inbound
from service.db.models import OutboundMessage, Participant
from service.domain.checkin_answers import ReportedSymptom, Severity, SymptomAnswers
from service.ports import InboundSms
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client, enrollment, staff_headers


async def test_spanish_replies_name_baja_and_iniciar(client: Client) -> None:
    headers = await staff_headers(client, "enrol@uandes.cl", "admin")
    await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    rt = client.app.state.runtime
    for n, body in enumerate(("AYUDA", "BAJA", "INICIAR")):
        await handle_inbound(rt, InboundSms(f"SM{n:032d}", "+56961234567", "+56229999999", body))
    rows = await OutboundMessage.filter(purpose__startswith="reply:")
    replies = {
        row.purpose: rt.translator.render(
            row.message_key, "es", site="CUA", help_line="+56226181000"
        )
        for row in rows
    }
    assert "responde BAJA" in replies["reply:help.reply"]
    assert "responde INICIAR" in replies["reply:optout.confirm"]
    assert "responde BAJA" in replies["reply:optin.confirm"]
    assert not any("STOP" in text or "START" in text for text in replies.values())


async def test_a_404_keeps_the_navigation_and_the_favicon_exists(client: Client) -> None:
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    missing = await client.get("/dashboard/participants/NOBODY")
    assert missing.status_code == 404
    for link in ('href="/dashboard"', 'href="/dashboard/participants"', 'href="/dashboard/inbox"'):
        assert link in missing.text, link
    icon = await client.get("/favicon.ico", follow_redirects=False)
    assert icon.status_code == 301 and icon.headers["location"].startswith("/static/favicon.svg")
    svg = await client.get(icon.headers["location"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    overview = (await client.get("/dashboard")).text
    assert ">Activos<" in overview and ">Activo<" not in overview


async def test_findings_are_in_the_pages_language(client: Client) -> None:
    headers = await staff_headers(client, "enrol@uandes.cl", "admin")
    await client.post("/api/v1/participants", json=enrollment(), headers=headers)
    rt = client.app.state.runtime
    fever = SymptomAnswers((ReportedSymptom("fever", Severity.MODERATE, 39.1),))
    await submit(
        rt,
        await Participant.get(study_id="MSC-001"),
        CheckinSubmission(
            checkin_key="report:symptoms:20270113T1200Z:00000000000000ff",
            questionnaire="symptoms",
            channel="app",
            answers=fever,
            raw_texts=["{}"],
            late=False,
            actor_label="participant:MSC-001",
        ),
    )
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    assert "Fiebre 39,1 °C (moderado)" in (await client.get("/dashboard/alerts")).text
    english = (await client.get("/dashboard/alerts?lang=en")).text
    assert "Fever 39.1 °C (moderate)" in english and "Fiebre" not in english
