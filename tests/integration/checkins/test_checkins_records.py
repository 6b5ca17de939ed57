"""Check-in records: one code path for SMS and app, versions never overwritten, what
is due for the app, the staff listing, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.actions import checkins
from service.actions.checkins import (
    CheckinResult,
    CheckinSubmission,
    advise_participant,
    checkin_key_for,
    due_checkins,
    recently_expired_checkins,
)
from service.actions.checkins._submit import answers_to_dict
from service.actions.errors import FieldInvalid
from service.actions.outbox import dispatch_due
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import AuditEntry, Checkin, OutboundMessage, Participant
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
WEEKLY = "checkin:symptoms_weekly:2027-01-13"  # baseline Wed 6 Jan, clock Wed 13 Jan
PHONE = "+56961234567"


@pytest.fixture
async def admin(client: Client) -> dict[str, str]:
    return await staff_headers(client, "admin@uandes.cl", "admin")


@pytest.fixture
async def participant(client: Client, admin: dict[str, str]) -> Participant:
    response = await client.post(
        URL, json=enrollment(baseline_infusion_date="2027-01-06"), headers=admin
    )
    assert response.status_code == 201, response.text
    return await Participant.get(study_id="MSC-001")


@pytest.fixture
def rt(client: Client) -> Runtime:
    runtime: Runtime = client.app.state.runtime
    return runtime


def symptoms(*items: ReportedSymptom, complete: bool = True) -> SymptomAnswers:
    return SymptomAnswers(tuple(items), complete=complete)


async def submit(
    rt: Runtime,
    participant: Participant,
    answers: SymptomAnswers | PregnancyAnswer,
    *,
    key: str = WEEKLY,
    channel: str = "app",
    raw: list[str] | None = None,
    late: bool = False,
    complete: bool | None = None,
) -> CheckinResult:
    questionnaire = "pregnancy" if isinstance(answers, PregnancyAnswer) else "symptoms"
    return await checkins.submit(
        rt,
        participant,
        CheckinSubmission(
            checkin_key=key,
            questionnaire=questionnaire,
            channel=channel,
            answers=answers,
            raw_texts=raw if raw is not None else [],
            late=late,
            actor_label=f"participant:{participant.study_id}",
            complete=complete,
        ),
    )


async def test_sms_and_app_answers_become_the_same_record(
    rt: Runtime, participant: Participant
) -> None:
    answers = symptoms(
        ReportedSymptom("fever", Severity.MODERATE, 37.5),
        ReportedSymptom("cough", Severity.MILD),
    )
    await submit(
        rt, participant, answers, key="k:sms", channel="sms", raw=["1 11", "2", "37,5", "1"]
    )
    await submit(rt, participant, answers, key="k:app", channel="app", raw=['{"json": true}'])

    sms, app = (
        await Checkin.filter(checkin_key="k:sms").get(),
        await Checkin.get(checkin_key="k:app"),
    )
    expected = {
        "symptoms": [
            {"code": "fever", "severity": "moderate", "temperature_c": 37.5},
            {"code": "cough", "severity": "mild", "temperature_c": None},
        ]
    }
    assert sms.answers == app.answers == expected == answers_to_dict(answers)
    assert (sms.channel, app.channel) == ("sms", "app")
    assert sms.raw_texts == ["1 11", "2", "37,5", "1"]
    assert (sms.version, sms.complete, sms.late) == (1, True, False)
    assert await AuditEntry.filter(action="checkin.submit").count() == 2


async def test_pregnancy_answer_shape(rt: Runtime, participant: Participant) -> None:
    key = "checkin:pregnancy_monthly:2027-02-06"
    result = await submit(rt, participant, PregnancyAnswer(pregnant=False), key=key)
    row = await Checkin.get(checkin_key=key)
    assert row.answers == {"pregnant": False}
    assert row.questionnaire == "pregnancy"
    assert result.advice is None and result.alert is None


async def test_correction_is_version_2_and_version_1_is_untouched(
    client: Client, rt: Runtime, participant: Participant, clock: ManualClock, admin: dict[str, str]
) -> None:
    first = await submit(rt, participant, symptoms(), raw=["0"], channel="sms")
    v1 = await Checkin.get(checkin_key=WEEKLY, version=1)
    clock.advance(hours=3)
    second = await submit(
        rt, participant, symptoms(ReportedSymptom("nausea_vomiting", Severity.MILD)), raw=["x"]
    )
    assert first.checkin.version == 1
    assert second.checkin.version == 2
    again = await Checkin.get(checkin_key=WEEKLY, version=1)
    assert (again.answers, again.raw_texts, again.submitted_at, again.channel) == (
        v1.answers,
        v1.raw_texts,
        v1.submitted_at,
        "sms",
    )
    assert again.answers == {"symptoms": []}

    listed = await client.get(f"{URL}/MSC-001/checkins", headers=admin)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(c["version"], c["channel"]) for c in body] == [(2, "app"), (1, "sms")]
    assert body[0]["answers"]["symptoms"][0]["code"] == "nausea_vomiting"
    assert body[1]["raw_texts"] == ["0"]
    assert {"late", "complete", "submitted_at", "checkin_key", "alert_ids"} <= body[0].keys()


async def test_identical_resubmission_is_not_stored_twice(
    rt: Runtime, participant: Participant
) -> None:
    answers = symptoms(ReportedSymptom("rash", Severity.MILD))
    first = await submit(rt, participant, answers, raw=["{}"])
    retry = await submit(rt, participant, answers, raw=["{}"])
    assert first.created and not retry.created
    assert retry.checkin.id == first.checkin.id
    assert await Checkin.all().count() == 1
    assert await AuditEntry.filter(action="checkin.resubmit").count() == 1


async def test_late_and_incomplete_answers_are_kept_and_flagged(
    rt: Runtime, participant: Participant
) -> None:
    partial = symptoms(ReportedSymptom("cough", None), complete=False)
    await submit(rt, participant, partial, raw=["11", "???"], late=True, channel="sms")
    row = await Checkin.get(checkin_key=WEEKLY)
    assert (row.late, row.complete) == (True, False)
    assert row.answers == {"symptoms": [{"code": "cough", "severity": None, "temperature_c": None}]}


@pytest.mark.parametrize(
    ("answers", "questionnaire", "field"),
    [
        (symptoms(ReportedSymptom("headache", Severity.MILD)), "symptoms", "symptoms[0]"),
        (
            symptoms(
                ReportedSymptom("rash", Severity.MILD), ReportedSymptom("rash", Severity.MILD)
            ),
            "symptoms",
            "symptoms[1]",
        ),
        (symptoms(ReportedSymptom("cough", None)), "symptoms", "symptoms[0].severity"),
        (
            symptoms(ReportedSymptom("cough", Severity.MILD, 38.0)),
            "symptoms",
            "symptoms[0].temperature_c",
        ),
        (
            symptoms(ReportedSymptom("fever", Severity.MILD, 45.0)),
            "symptoms",
            "symptoms[0].temperature_c",
        ),
        (PregnancyAnswer(pregnant=True), "symptoms", "questionnaire"),
        (symptoms(), "pregnancy", "questionnaire"),
        (symptoms(), "mood", "questionnaire"),
    ],
)
async def test_refused_answers_store_nothing(
    rt: Runtime,
    participant: Participant,
    answers: SymptomAnswers | PregnancyAnswer,
    questionnaire: str,
    field: str,
) -> None:
    with pytest.raises(FieldInvalid) as refused:
        await checkins.submit(
            rt,
            participant,
            CheckinSubmission(
                checkin_key=WEEKLY,
                questionnaire=questionnaire,
                channel="app",
                answers=answers,
                raw_texts=[],
                late=False,
                actor_label="participant:MSC-001",
            ),
        )
    assert refused.value.field == field
    assert await Checkin.all().count() == 0


async def test_due_checkins_use_the_prompts_key(
    rt: Runtime, participant: Participant, clock: ManualClock
) -> None:
    due = await due_checkins(rt, participant)
    assert [d.checkin_key for d in due] == [WEEKLY]
    prompt = await OutboundMessage.get(participant_id=participant.id, occurrence="2027-01-13")
    assert checkin_key_for(prompt) == WEEKLY
    assert due[0].questionnaire == "symptoms"
    assert due[0].code == "symptoms_weekly"
    assert due[0].due_at <= clock.now() < due[0].expires_at

    await submit(rt, participant, symptoms())
    assert await due_checkins(rt, participant) == []
    assert [d.checkin_key for d in await due_checkins(rt, participant, include_answered=True)] == [
        WEEKLY
    ]


async def test_an_unanswered_prompt_becomes_answerable_late(
    rt: Runtime, participant: Participant, clock: ManualClock
) -> None:
    due = await due_checkins(rt, participant)
    clock.set(due[0].expires_at)
    assert WEEKLY not in {d.checkin_key for d in await due_checkins(rt, participant)}
    assert [d.checkin_key for d in await recently_expired_checkins(rt, participant)] == [WEEKLY]
    clock.advance(days=7)
    assert WEEKLY not in {d.checkin_key for d in await recently_expired_checkins(rt, participant)}


async def test_cancelled_prompts_are_not_due(
    rt: Runtime, participant: Participant, client: Client, admin: dict[str, str]
) -> None:
    await client.post(f"{URL}/MSC-001/withdraw", json={}, headers=admin)
    assert await due_checkins(rt, participant) == []


async def test_staff_listing_is_site_scoped(
    client: Client, rt: Runtime, participant: Participant
) -> None:
    await submit(rt, participant, symptoms())
    other_site = await staff_headers(client, "coord@hblt.cl", "coordinator", ["HBLT"])
    assert (await client.get(f"{URL}/MSC-001/checkins", headers=other_site)).status_code == 404
    same_site = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    assert len((await client.get(f"{URL}/MSC-001/checkins", headers=same_site)).json()) == 1
    monitor = await staff_headers(client, "monitor@uandes.cl", "monitor")
    assert (await client.get(f"{URL}/MSC-001/checkins", headers=monitor)).status_code == 200
    assert (await client.get(f"{URL}/MSC-001/checkins")).status_code == 401


async def test_advice_goes_to_the_participant_once(
    rt: Runtime, participant: Participant, gateway: ConsoleSmsGateway
) -> None:
    row = await advise_participant(rt, participant, "safety.contact_team", WEEKLY)
    await dispatch_due(rt)  # what the woken dispatcher does
    again = await advise_participant(rt, participant, "safety.contact_team", WEEKLY)
    assert again.id == row.id
    await row.refresh_from_db()
    assert row.kind == "reply" and row.status == "delivered" and row.priority > 0
    to_participant = [m for m in gateway.sent if m.to == PHONE and m.body == row.body]
    assert len(to_participant) == 1
    assert "equipo" in to_participant[0].body  # Spanish, with the site's help line
    worse = await advise_participant(rt, participant, "safety.emergency", WEEKLY)
    await dispatch_due(rt)
    await worse.refresh_from_db()
    assert worse.id != row.id
    assert worse.body is not None and "131" in worse.body


async def test_audit_keeps_answers_but_no_phone_number(
    rt: Runtime, participant: Participant, clock: ManualClock
) -> None:
    await submit(
        rt,
        participant,
        symptoms(ReportedSymptom("other", Severity.MILD)),
        raw=["13", "llámenme al +56 9 6123 4567"],
        channel="sms",
    )
    entry = await AuditEntry.get(action="checkin.submit")
    assert entry.actor == "participant:MSC-001"
    assert entry.changes["answers"]["symptoms"][0]["code"] == "other"
    assert entry.changes["version"] == 1
    dump = str(entry.changes)
    assert "6123 4567" not in dump and "61234567" not in dump
    stored = await Checkin.get(checkin_key=WEEKLY)
    assert stored.raw_texts[1].endswith("+56 9 6123 4567")  # the record itself is verbatim
    assert clock.now() - entry.at < timedelta(seconds=1)
