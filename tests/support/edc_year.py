"""A participant's year, walked through the real actions, for the EDC feed tests."""

from __future__ import annotations

from datetime import UTC, datetime

from service.actions.access import add_api_key
from service.actions.checkins import CheckinSubmission, submit
from service.db.models import InboundMessage, OutboundMessage, Participant
from service.domain.checkin_answers import (
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    SymptomAnswers,
)
from service.ports import ManualClock
from service.runtime import Runtime
from tests.support.helpers import Client, enrollment, staff_headers

URL = "/api/v1/participants"
SID = "SM" + "a" * 32


async def edc_key(
    client: Client, name: str = "redcap", sites: list[str] | None = None
) -> dict[str, str]:
    key = await add_api_key(client.app.state.runtime, name, "edc", sites or [])
    return {"Authorization": f"Bearer {key}"}


async def checkin(
    rt: Runtime,
    participant: Participant,
    key: str,
    answers: SymptomAnswers | PregnancyAnswer,
    *,
    channel: str = "app",
    raw: list[str] | None = None,
) -> None:
    await submit(
        rt,
        participant,
        CheckinSubmission(
            checkin_key=key,
            questionnaire="pregnancy" if isinstance(answers, PregnancyAnswer) else "symptoms",
            channel=channel,
            answers=answers,
            raw_texts=raw or [],
            late=False,
            actor_label=f"participant:{participant.study_id}",
        ),
    )


async def sms_reply(rt: Runtime, participant: Participant, sid: str, body: str) -> None:
    await InboundMessage.create(
        message_sid=sid,
        participant=participant,
        from_phone=participant.phone,
        body=body,
        handling="checkin_answer",
        received_at=rt.clock.now(),
    )


async def walk_a_year(client: Client, study_id: str = "MSC-001", site: str = "CUA",
                      phone: str = "+56 9 6123 4567") -> Participant:  # fmt: skip
    """Enrol a year ago; a late second infusion; M1 attended, M2 missed; symptoms by
    SMS and app (one corrected), a pregnancy answer, and a sent reminder."""
    rt: Runtime = client.app.state.runtime
    assert isinstance(rt.clock, ManualClock)
    admin = await staff_headers(client, f"admin-{study_id.lower()}@uandes.cl", "admin")
    body = enrollment(
        study_id=study_id, site=site, phone=phone, baseline_infusion_date="2026-01-14"
    )
    assert (await client.post(URL, json=body, headers=admin)).status_code == 201
    for path, payload in (
        ("infusions", {"number": 2, "date": "2026-07-28"}),
        ("visits/M1", {"status": "attended", "date": "2026-02-16"}),
        ("visits/M2", {"status": "missed", "date": "2026-03-14"}),
    ):
        response = await client.request(
            "POST" if path == "infusions" else "PUT",
            f"{URL}/{study_id}/{path}",
            json=payload,
            headers=admin,
        )
        assert response.status_code in (200, 201), response.text
    participant = await Participant.get(study_id=study_id)
    fever = ReportedSymptom("fever", Severity.MODERATE, 38.4)
    await sms_reply(rt, participant, SID[: -len(study_id)] + study_id, "1")
    await checkin(rt, participant, "checkin:symptoms_weekly:2027-01-13",
                  SymptomAnswers((fever,)), channel="sms", raw=["1", "2", "38,4"])  # fmt: skip
    rt.clock.advance(hours=2)
    worse = ReportedSymptom("fever", Severity.SEVERE, 39.1)
    await checkin(rt, participant, "checkin:symptoms_weekly:2027-01-13", SymptomAnswers((worse,)))
    await checkin(rt, participant, "app:self-report:1", SymptomAnswers(()))
    await checkin(rt, participant, "checkin:pregnancy_monthly:2027-01-14", PregnancyAnswer(False))
    row = await OutboundMessage.filter(participant_id=participant.id).order_by("send_at").first()
    assert row is not None
    row.status, row.sent_at, row.provider_id = (
        "delivered",
        rt.clock.now(),
        "SM" + "b" * 30 + study_id[-2:],
    )
    await row.save()
    return participant


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
