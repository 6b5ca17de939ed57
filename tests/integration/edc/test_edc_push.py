"""The REDCap push against the REDCap double over real HTTP: once, no doubles, no losses."""

from __future__ import annotations

from service.actions.edc import push_to_redcap
from service.domain.checkin_answers import ReportedSymptom, Severity, SymptomAnswers
from service.domain.states import ActorKind, PushStatus, StaffRole
from service.runtime import Runtime
from tests.support.edc_year import checkin, walk_a_year
from tests.support.fakes.redcap_server import RedcapFakeServer
from tests.support.helpers import Client, staff_headers

FAST = (0.0, 0.0, 0.0)
WEEKLY = "checkin:symptoms_weekly:2027-01-13"


def rt_of(client: Client) -> Runtime:
    runtime: Runtime = client.app.state.runtime
    return runtime


async def push(client: Client, **kw: object):  # type: ignore[no-untyped-def]
    return await push_to_redcap(rt_of(client), retry_delays=FAST, **kw)  # type: ignore[arg-type]


def _symptom_instances(redcap: RedcapFakeServer) -> dict[str, dict[str, str]]:
    return {k[3]: v for k, v in redcap.slots("sintomas").items()}


async def test_a_year_arrives_once_and_a_second_push_sends_nothing(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    await walk_a_year(edc_client)
    result = await push(edc_client)
    assert result.status == PushStatus.OK, result.detail
    symptoms = _symptom_instances(redcap)
    # the weekly check-in (with its correction) and the self-report: two instances
    assert sorted(symptoms) == ["1", "2"]
    weekly = next(v for v in symptoms.values() if v["ce_checkin_key"] == WEEKLY)
    assert weekly["ce_version"] == "2" and weekly["ce_fever_sev"] == "3"
    assert weekly["ce_fever_temp"] == "39.1"
    assert weekly["ce_channel"] == "2"
    visits = {k[1]: v for k, v in redcap.slots("").items() if "sv_status" in v}
    assert {v["sv_status"] for v in visits.values()} == {"1", "2"}
    inf2 = next(v for v in redcap.slots("").values() if v.get("ex_number") == "2")
    assert inf2["ex_date"] == "2026-07-28" and int(inf2["ex_delay_days"]) > 0
    assert redcap.slots("contactos")
    assert redcap.dags == {"MSC-001": "cua"}
    imports = redcap.imports

    again = await push(edc_client)
    assert again.status == PushStatus.OK and again.rows == 0
    assert redcap.imports == imports


async def test_a_correction_updates_the_same_instance(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    participant = await walk_a_year(edc_client)
    await push(edc_client)
    before = _symptom_instances(redcap)
    fixed = ReportedSymptom("fever", Severity.MILD, 37.9)
    await checkin(rt_of(edc_client), participant, WEEKLY, SymptomAnswers((fixed,)))
    result = await push(edc_client)
    assert result.status == PushStatus.OK and result.rows >= 1
    after = _symptom_instances(redcap)
    assert sorted(after) == sorted(before)
    weekly = next(v for v in after.values() if v["ce_checkin_key"] == WEEKLY)
    assert (weekly["ce_version"], weekly["ce_fever_sev"], weekly["ce_fever_temp"]) == (
        "3",
        "1",
        "37.9",
    )


async def test_a_hand_edit_in_redcap_is_reported_and_kept(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    participant = await walk_a_year(edc_client)
    await push(edc_client)
    (slot, values) = next((k, v) for k, v in redcap.slots("sintomas").items()
                          if v["ce_checkin_key"] == WEEKLY)  # fmt: skip
    redcap.edit(*slot, "ce_fever_temp", "38.0")  # the coordinator's reading of the chart
    fixed = ReportedSymptom("fever", Severity.SEVERE, 39.5)
    await checkin(rt_of(edc_client), participant, WEEKLY, SymptomAnswers((fixed,)))
    result = await push(edc_client)
    assert result.status == PushStatus.OK and result.conflicts == 1
    held = redcap.slots("sintomas")[slot]
    assert held["ce_fever_temp"] == "38.0"  # kept
    assert held["ce_version"] == "3"  # the rest of the correction arrived
    admin = await staff_headers(edc_client, "boss@uandes.cl", "admin")
    status = (await edc_client.get("/api/v1/edc/status", headers=admin)).json()
    [conflict] = status["conflicts"]
    assert (conflict["field"], conflict["ours"], conflict["theirs"]) == (
        "ce_fever_temp",
        "39.5",
        "38.0",
    )
    assert status["last_run"]["status"] == "ok"
    # pushing again reports the same conflict once, and still does not overwrite
    assert (await push(edc_client)).conflicts == 0
    assert redcap.slots("sintomas")[slot]["ce_fever_temp"] == "38.0"
    assert values


async def test_a_refused_batch_loses_nothing_and_succeeds_once_fixed(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    redcap.project.groups.discard("hblt")  # the administrator forgot one site's DAG
    await walk_a_year(edc_client, study_id="MSC-002", site="HBLT", phone="+56 9 7123 4567")
    refused = await push(edc_client)
    assert refused.status == PushStatus.REFUSED
    assert "MSC-002" in (refused.detail or "") and "redcap_data_access_group" in (
        refused.detail or ""
    )
    assert redcap.slots() == {}
    assert refused.pending > 0
    from service.db.models import AuditEntry

    audited = await AuditEntry.filter(action="edc.redcap.push_run").order_by("-id").first()
    assert audited is not None and audited.changes["status"] == "refused"
    redcap.project.groups.add("hblt")
    fixed = await push(edc_client)
    assert fixed.status == PushStatus.OK and fixed.pending == 0
    assert sorted(_symptom_instances(redcap)) == ["1", "2"]


async def test_a_bad_token_stops_with_one_line(
    settings,
    clock,
    gateway,
    redcap: RedcapFakeServer,
    database_url,  # type: ignore[no-untyped-def]
) -> None:
    from litestar.testing import AsyncTestClient

    from tests.conftest import _truncate
    from tests.support.edc_push_fixtures import app_with

    app = app_with(settings, clock, gateway, redcap.url, token="wrong")
    async with AsyncTestClient(app=app) as client:
        await _truncate(database_url)
        result = await push_to_redcap(app.state.runtime, retry_delays=FAST)
        assert result.status == PushStatus.FORBIDDEN
        assert "403" in (result.detail or "") and "\n" not in (result.detail or "")
        assert client


async def test_5xx_and_lost_answers_are_retried_without_doubles(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    await walk_a_year(edc_client)
    await push(edc_client)  # metadata check and first batch
    participant_slots = len(redcap.slots())
    await checkin(rt_of(edc_client), await _participant(), "app:self-report:9", SymptomAnswers(()))
    redcap.fail_next(2, status=503)
    redcap.accept_then_fail(504)
    result = await push(edc_client)
    assert result.status == PushStatus.OK, result.detail
    assert sorted(_symptom_instances(redcap)) == ["1", "2", "3"]
    assert len(redcap.slots()) == participant_slots + 1


async def _participant():  # type: ignore[no-untyped-def]
    from service.db.models import Participant

    return await Participant.get(study_id="MSC-001")


async def test_metadata_differences_refuse_the_first_push(
    settings,
    clock,
    gateway,
    database_url,  # type: ignore[no-untyped-def]
) -> None:
    from litestar.testing import AsyncTestClient

    from tests.conftest import _truncate
    from tests.support.edc_push_fixtures import app_with, setup_files

    files = setup_files(settings)
    lines = files["data-dictionary.csv"].splitlines(keepends=True)
    files["data-dictionary.csv"] = "".join(x for x in lines if not x.startswith("ce_chills_sev"))
    with RedcapFakeServer(files) as server:
        app = app_with(settings, clock, gateway, server.url)
        async with AsyncTestClient(app=app):
            await _truncate(database_url)
            result = await push_to_redcap(app.state.runtime, retry_delays=FAST)
            assert result.status == PushStatus.METADATA_MISMATCH
            assert "field ce_chills_sev is missing" in (result.detail or "")
            assert server.imports == 0


async def test_dry_run_sends_nothing(edc_client: Client, redcap: RedcapFakeServer) -> None:
    await walk_a_year(edc_client)
    result = await push(edc_client, dry_run=True)
    assert result.status == PushStatus.DRY_RUN and result.would_send
    assert redcap.imports == 0
    assert result.pending > 0
    assert all("+56" not in str(row) for row in result.would_send)


async def test_the_scheduled_push_waits_for_its_interval(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    from service.actions.edc import push_if_due
    from service.jobs.tasks import periodic_jobs
    from service.ports import ManualClock

    assert "edc.push" in periodic_jobs()
    rt = rt_of(edc_client)
    assert isinstance(rt.clock, ManualClock)
    await walk_a_year(edc_client)
    first = await push_if_due(rt)
    assert first is not None and first.status == PushStatus.OK
    assert await push_if_due(rt) is None  # 15 minutes have not passed
    rt.clock.advance(minutes=rt.settings.edc_push_interval_minutes)
    again = await push_if_due(rt)
    assert again is not None and again.rows == 0


async def test_status_needs_staff_and_scopes_conflicts_by_site(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    assert (await edc_client.get("/api/v1/edc/status")).status_code == 401
    participant = await walk_a_year(edc_client)
    await push(edc_client)
    slot = next(k for k, v in redcap.slots("sintomas").items() if v["ce_checkin_key"] == WEEKLY)
    redcap.edit(*slot, "ce_fever_sev", "1")
    worse = ReportedSymptom("fever", Severity.MODERATE, 38.0)
    await checkin(rt_of(edc_client), participant, WEEKLY, SymptomAnswers((worse,)))
    await push(edc_client)
    cua = await staff_headers(edc_client, "cua@uandes.cl", "coordinator", ["CUA"])
    hblt = await staff_headers(edc_client, "hblt@uandes.cl", "coordinator", ["HBLT"])
    seen = (await edc_client.get("/api/v1/edc/status", headers=cua)).json()
    assert [c["field"] for c in seen["conflicts"]] == ["ce_fever_sev"]
    assert seen["configured"] is True and seen["pending_changes"] == 0
    assert (await edc_client.get("/api/v1/edc/status", headers=hblt)).json()["conflicts"] == []


async def test_one_push_at_a_time(edc_client: Client, redcap: RedcapFakeServer) -> None:
    from datetime import timedelta

    from service.actions.edc import _push_state as state

    rt = rt_of(edc_client)
    now = rt.clock.now()
    token = await state.claim_push_lock(now)
    assert token is not None
    assert await state.claim_push_lock(now) is None
    busy = await push(edc_client)
    assert busy.status == "busy" and redcap.requests == []
    # a lock left by a killed pusher is taken over once it is old enough
    assert await state.claim_push_lock(now + timedelta(minutes=11)) is not None


async def test_a_record_the_mapping_cannot_place_stops_the_push(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    from service.db.models import Checkin

    participant = await walk_a_year(edc_client)
    await Checkin.create(
        participant=participant,
        checkin_key="app:old",
        questionnaire="symptoms",
        channel="app",
        answers={"symptoms": [{"code": "hiccups", "severity": "mild"}]},
        submitted_at=rt_of(edc_client).clock.now(),
    )
    result = await push(edc_client)
    assert result.status == PushStatus.MAPPING_ERROR
    assert "hiccups" in (result.detail or "") and result.pending > 0
    assert redcap.imports == 0


async def _a_conflict(edc_client: Client, redcap: RedcapFakeServer) -> tuple[object, int]:
    participant = await walk_a_year(edc_client)
    await push(edc_client)
    slot = next(k for k, v in redcap.slots("sintomas").items() if v["ce_checkin_key"] == WEEKLY)
    redcap.edit(*slot, "ce_fever_temp", "38.0")
    fixed = ReportedSymptom("fever", Severity.SEVERE, 39.5)
    await checkin(rt_of(edc_client), participant, WEEKLY, SymptomAnswers((fixed,)))
    assert (await push(edc_client)).conflicts == 1
    admin = await staff_headers(edc_client, "boss@uandes.cl", "admin")
    [conflict] = (await edc_client.get("/api/v1/edc/status", headers=admin)).json()["conflicts"]
    return slot, int(conflict["id"])


async def test_send_ours_is_written_by_the_next_push_and_audited(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    from service.actions.edc import resolve_conflict
    from service.db.models import AuditEntry
    from service.domain.actors import Actor

    slot, conflict_id = await _a_conflict(edc_client, redcap)
    ana = Actor(
        kind="staff", label="staff:ana@uandes.cl", role=StaffRole.COORDINATOR, sites=("CUA",)
    )  # type: ignore[arg-type]
    await resolve_conflict(rt_of(edc_client), ana, conflict_id, "send_ours", "paper CRF says 39.5")
    assert redcap.slots("sintomas")[slot]["ce_fever_temp"] == "38.0"  # not until the push
    result = await push(edc_client)
    assert result.chosen == 1 and result.conflicts == 0
    assert redcap.slots("sintomas")[slot]["ce_fever_temp"] == "39.5"
    entry = await AuditEntry.get(action="edc.conflict.resolve")
    assert entry.actor == "staff:ana@uandes.cl" and entry.reason == "paper CRF says 39.5"
    assert entry.changes["value"] == ["38.0", "39.5"]
    again = await push(edc_client)  # honoured once; nothing more to send
    assert again.chosen == 0 and again.conflicts == 0


async def test_keep_redcap_stops_the_reports_and_is_never_overwritten(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    from service.actions.edc import resolve_conflict
    from service.domain.actors import Actor

    slot, conflict_id = await _a_conflict(edc_client, redcap)
    boss = Actor(kind=ActorKind.STAFF, label="staff:boss@uandes.cl", role=StaffRole.ADMIN)
    await resolve_conflict(rt_of(edc_client), boss, conflict_id, "keep_redcap")
    result = await push(edc_client)
    assert result.chosen == 0 and result.conflicts == 0
    assert redcap.slots("sintomas")[slot]["ce_fever_temp"] == "38.0"
    admin = await staff_headers(edc_client, "boss2@uandes.cl", "admin")
    assert (await edc_client.get("/api/v1/edc/status", headers=admin)).json()["conflicts"] == []


async def test_a_value_changed_by_hand_again_reopens_the_conflict(
    edc_client: Client, redcap: RedcapFakeServer
) -> None:
    from service.actions.edc import resolve_conflict
    from service.domain.actors import Actor

    slot, conflict_id = await _a_conflict(edc_client, redcap)
    boss = Actor(kind=ActorKind.STAFF, label="staff:boss@uandes.cl", role=StaffRole.ADMIN)
    await resolve_conflict(rt_of(edc_client), boss, conflict_id, "send_ours")
    redcap.edit(*slot, "ce_fever_temp", "38.4")  # someone edits it once more meanwhile
    assert (await push(edc_client)).chosen == 0
    assert redcap.slots("sintomas")[slot]["ce_fever_temp"] == "38.4"
    admin = await staff_headers(edc_client, "boss2@uandes.cl", "admin")
    [open_again] = (await edc_client.get("/api/v1/edc/status", headers=admin)).json()["conflicts"]
    assert open_again["id"] == conflict_id and open_again["theirs"] == "38.4"


async def test_a_new_dictionary_is_checked_again_before_it_pushes(
    settings,
    clock,
    gateway,
    database_url,  # type: ignore[no-untyped-def]
) -> None:
    """A project verified for this revision before the dictionary gained WhatsApp as a
    channel: the push checks again and says what the project lacks, instead of
    sending rows REDCap would refuse."""
    from litestar.testing import AsyncTestClient

    from service.actions.edc._push_state import set_metadata_verified
    from tests.conftest import _truncate
    from tests.support.edc_push_fixtures import app_with, setup_files

    files = setup_files(settings)
    assert " | 4, WhatsApp" in files["data-dictionary.csv"]
    files["data-dictionary.csv"] = files["data-dictionary.csv"].replace(" | 4, WhatsApp", "")
    with RedcapFakeServer(files) as server:
        app = app_with(settings, clock, gateway, server.url)
        async with AsyncTestClient(app=app):
            await _truncate(database_url)
            rt = app.state.runtime
            await set_metadata_verified(rt.protocol.revision, rt.clock.now())  # as before
            result = await push_to_redcap(rt, retry_delays=FAST)
            assert result.status == PushStatus.METADATA_MISMATCH
            assert "field rp_channel: select_choices_or_calculations" in (result.detail or "")
            assert server.imports == 0
