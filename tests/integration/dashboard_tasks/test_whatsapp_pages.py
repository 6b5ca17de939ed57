"""WhatsApp on the dashboard: enrolment with the opt-in, the channel form on the
participant page, the timeline's channel, fallback and "leído", the overview split
by channel, and the channel in the CSV download."""

from __future__ import annotations

from datetime import timedelta

from service.db.models import AuditEntry, OutboundMessage, Participant
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client
from tests.support.spreadsheets import as_excel_es_cl

NEW = "/dashboard/participants/new"
PAGE = "/dashboard/participants/MSC-014"


def _form(**overrides: str) -> dict[str, str]:
    return {
        "study_id": "msc-014",
        "site": "CUA",
        "phone": "9 6123 4567",
        "language": "es",
        "timezone": "",
        "can_become_pregnant": "no",
        "baseline_infusion_date": "2027-01-13",
        "sms_consent": "yes",
        "preferred_time": "",
        **overrides,
    }


async def _post(client: Client, path: str, token: str, data: dict[str, str]) -> object:
    return await client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


async def test_enrolment_on_whatsapp_needs_the_opt_in_shown_on_the_form(client: Client) -> None:
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    form = await client.get(NEW)
    assert 'name="channel"' in form.text and 'name="whatsapp_opt_in"' in form.text
    assert "acepto recibir por WhatsApp" in form.text

    back = await _post(client, NEW, login.csrf_token, _form(channel="whatsapp"))
    assert back.headers["location"] == NEW  # type: ignore[attr-defined]
    assert "WhatsApp requiere que la persona acepte" in (await client.get(NEW)).text
    assert not await Participant.exists()

    done = await _post(
        client, NEW, login.csrf_token, _form(channel="whatsapp", whatsapp_opt_in="written")
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    participant = await Participant.get()
    assert participant.channel == "whatsapp" and participant.whatsapp_opt_in_method == "written"
    assert participant.whatsapp_opt_in_by == "staff:ana@uandes.cl"
    page = await client.get(PAGE)
    assert "Aceptó WhatsApp el" in page.text and "por escrito, en el consentimiento" in page.text


async def test_the_channel_form_switches_and_the_timeline_shows_channel_and_fallback(
    client: Client,
) -> None:
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    await _post(client, NEW, login.csrf_token, _form())
    refused = await client.post(
        f"{PAGE}/channel",
        data={"csrf_token": login.csrf_token, "channel": "whatsapp", "whatsapp_opt_in": ""},
    )
    assert refused.status_code == 422 and "WhatsApp requiere" in refused.text
    done = await _post(
        client,
        f"{PAGE}/channel",
        login.csrf_token,
        {"channel": "whatsapp", "whatsapp_opt_in": "verbal"},
    )
    assert done.headers["location"] == f"{PAGE}?saved=channel"  # type: ignore[attr-defined]
    assert (await Participant.get()).whatsapp_opt_in_method == "verbal"
    assert await AuditEntry.filter(action="participant.update").count() == 1

    rt = client.app.state.runtime
    first, second = await OutboundMessage.filter(status="planned").order_by("send_at").limit(2)
    sent_at = rt.clock.now() - timedelta(hours=1)
    await OutboundMessage.filter(id=first.id).update(
        status="delivered", channel="whatsapp", provider_status="read", sent_at=sent_at,
        delivered_at=sent_at, content_sid="HX" + "1" * 32, body="MSC-ROLE: hola",
    )  # fmt: skip
    await OutboundMessage.filter(id=second.id).update(
        status="sent", channel="sms", fallback_reason="refused", error_code=63003,
        sent_at=sent_at, body="MSC-ROLE: hola",
    )  # fmt: skip
    page = (await client.get(PAGE)).text
    assert "Entregado · leído" in page or "· leído" in page
    assert "Por SMS en vez de WhatsApp: WhatsApp lo rechazó" in page
    assert "El número no tiene WhatsApp" in page  # 63003 in words

    rows = as_excel_es_cl((await client.get(f"{PAGE}?format=csv&table=timeline")).content)
    channel = rows[0].index("Canal")
    assert {r[channel] for r in rows[1:3]} == {"WhatsApp", "SMS"}
    listed = as_excel_es_cl((await client.get("/dashboard/participants?format=csv")).content)
    assert listed[1][listed[0].index("Canal")] == "WhatsApp"
    overview = (await client.get("/dashboard")).text
    assert "de ellos por WhatsApp" in overview and "por SMS en vez de WhatsApp" in overview
