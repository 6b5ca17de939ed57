"""Nothing hidden: a stranger's text reaches the queue with its text (the number masked,
shown on a click that is audited, given to a participant in one audited step); a text
from a participant who opted out reaches the queue; a blocked number says why and
since when, and a coordinator lifts it with a reason, or the participant's own text
from it does."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from service.actions.inbound import handle_inbound
from service.actions.outbox._blocking import block_participant
from service.db.models import AuditEntry, InboundMessage, InboxItem, OutboundMessage, Participant
from service.domain.actors import Actor
from service.domain.states import ActorKind, StaffRole
from service.ports import InboundSms
from tests.support.dashboard_support import dashboard_login
from tests.support.helpers import Client, enrollment, staff_headers

STRANGER = "+56987654321"
PAGE = "/dashboard/participants/MSC-001"


async def _enrol(client: Client, **overrides: object) -> None:
    headers = await staff_headers(client, "enrol@uandes.cl", "admin")
    response = await client.post(
        "/api/v1/participants", json=enrollment(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text


async def _text(client: Client, phone: str, body: str, sid: str) -> None:
    rt = client.app.state.runtime
    await handle_inbound(rt, InboundSms(sid, phone, "+56229999999", body))


async def test_a_strangers_text_is_read_shown_and_given_to_a_participant(client: Client) -> None:
    await _enrol(client)
    await _text(client, STRANGER, "Hola, soy Marta, cambié de número", "SM" + "1" * 32)
    login = await dashboard_login(client, "admin@uandes.cl", "admin", [])
    queue = (await client.get("/dashboard/inbox")).text
    assert "Hola, soy Marta, cambié de número" in queue
    assert "+56 9 **** **21" in queue and STRANGER not in queue
    item = await InboxItem.get(reason="unknown_sender")

    shown = await client.post(
        f"/dashboard/inbox/{item.id}/number", data={"csrf_token": login.csrf_token}
    )
    assert shown.status_code == 200 and STRANGER in shown.text
    entry = await AuditEntry.get(action="inbox.number_shown")
    assert (entry.actor, entry.entity_id) == ("staff:admin@uandes.cl", str(item.id))

    refused = await client.post(
        f"/dashboard/inbox/{item.id}/attach",
        data={"csrf_token": login.csrf_token, "study_id": "MSC-999"},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and refused.headers["location"] == "/dashboard/inbox"
    again = (await client.get("/dashboard/inbox")).text
    assert "No hay un participante con ese código en sus centros." in again
    assert (await Participant.get(study_id="MSC-001")).phone != STRANGER

    given = await client.post(
        f"/dashboard/inbox/{item.id}/attach",
        data={"csrf_token": login.csrf_token, "study_id": "MSC-001"},
        follow_redirects=False,
    )
    assert given.status_code == 303, given.text
    assert given.headers["location"] == f"/dashboard/inbox?attached={item.id}"
    assert (await Participant.get(study_id="MSC-001")).phone == STRANGER
    inbound = await InboundMessage.get(from_phone=STRANGER).prefetch_related("participant")
    assert inbound.participant is not None and inbound.participant.study_id == "MSC-001"
    await item.refresh_from_db()
    assert (item.site_id, item.status) == ("CUA", "open")
    actions = set(await AuditEntry.all().values_list("action", flat=True))
    assert {"inbox.attach", "participant.update"} <= actions
    # The site's coordinator now sees it, with the participant and the text.
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    theirs = (await client.get("/dashboard/inbox")).text
    assert "MSC-001" in theirs and "cambié de número" in theirs


async def test_a_text_from_a_participant_who_opted_out_reaches_the_queue(client: Client) -> None:
    await _enrol(client)
    await _text(client, "+56961234567", "BAJA", "SM" + "2" * 32)
    replies = await OutboundMessage.filter(purpose__startswith="reply:").count()
    await _text(client, "+56961234567", "hola?", "SM" + "3" * 32)
    assert await OutboundMessage.filter(purpose__startswith="reply:").count() == replies
    await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    queue = (await client.get("/dashboard/inbox")).text
    assert "Mensaje de un participante que se dio de baja (no se le respondió)" in queue
    assert "hola?" in queue


async def _block(client: Client) -> None:
    rt = client.app.state.runtime
    system = Actor(kind=ActorKind.SYSTEM, label="system:dispatch", role=StaffRole.ADMIN)
    async with in_transaction():
        participant = await Participant.get(study_id="MSC-001")
        assert await block_participant(rt, participant, 30006, actor=system)


async def test_a_blocked_number_says_why_and_is_lifted_with_a_reason(client: Client) -> None:
    await _enrol(client)
    await _block(client)
    login = await dashboard_login(client, "ana@uandes.cl", "coordinator", ["CUA"])
    page = (await client.get(PAGE)).text
    assert "Código 30006: " in page
    assert 'Bloqueado desde el <span class="nowrap">13-01-2027' in page  # dates never break
    assert "Levantar el bloqueo" in page

    empty = await client.post(
        f"{PAGE}/unblock", data={"csrf_token": login.csrf_token, "reason": " "},
        follow_redirects=False,
    )  # fmt: skip
    assert empty.status_code == 400
    assert (await Participant.get(study_id="MSC-001")).sms_blocked_code == 30006

    lifted = await client.post(
        f"{PAGE}/unblock",
        data={"csrf_token": login.csrf_token, "reason": "Confirmó por teléfono que es su celular"},
        follow_redirects=False,
    )
    assert lifted.status_code == 303, lifted.text
    assert (await Participant.get(study_id="MSC-001")).sms_blocked_code is None
    entry = await AuditEntry.get(action="participant.sms_unblocked")
    assert entry.actor == "staff:ana@uandes.cl" and entry.reason.startswith("Confirmó")
    assert entry.changes == {"sms_blocked_code": [30006, None]}
    shown = (await client.get(lifted.headers["location"])).text
    assert "Se levantó el bloqueo" in shown and "Levantar el bloqueo" not in shown


async def test_a_text_from_the_blocked_number_lifts_the_block(client: Client) -> None:
    await _enrol(client)
    await _block(client)
    await _text(client, "+56961234567", "0", "SM" + "4" * 32)
    assert (await Participant.get(study_id="MSC-001")).sms_blocked_code is None
    entry = await AuditEntry.get(action="participant.sms_unblocked")
    assert entry.actor == "participant:MSC-001"
    assert entry.reason == "the participant texted from this number"
