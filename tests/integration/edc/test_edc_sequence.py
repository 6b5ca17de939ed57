"""The background sequencer, its per-source mark and watch list, and its lock."""

from __future__ import annotations

import asyncio
import json

import pytest

from service.actions.edc._sequence import LOCK_EDC_CHANGE, sequence_changes
from service.db.edc_models import EdcChange, EdcSequenceMark, EdcSequenceWatch, EdcSource
from service.db.models import Checkin, InboundMessage, OutboundMessage, Participant
from service.domain.checkin_answers import SymptomAnswers
from service.jobs.tasks import periodic_jobs
from service.runtime import Runtime
from tests.support.edc_year import checkin, walk_a_year
from tests.support.helpers import Client


async def _mark(source: EdcSource) -> int:
    row = await EdcSequenceMark.get(source=source)
    return row.next_id


async def _sequenced(source: EdcSource, source_id: int) -> bool:
    return await EdcChange.filter(source=source, source_id=source_id).exists()


async def test_the_job_sequences_so_a_pull_finds_nothing_left(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    with caplog.at_level("INFO", logger="service.jobs"):
        await periodic_jobs()["edc.sequence"](rt)
    assert await EdcChange.all().count() >= 9
    [line] = [r.getMessage() for r in caplog.records if "edc sequence" in r.getMessage()]
    assert participant.phone.replace(" ", "")[-7:] not in line.replace(" ", "")
    assert await sequence_changes(rt.clock.now()) == 0

    caplog.clear()
    with caplog.at_level("INFO", logger="service.jobs"):
        await periodic_jobs()["edc.sequence"](rt)
    assert not [r for r in caplog.records if "edc sequence" in r.getMessage()]


async def test_the_mark_passes_every_sequenced_row(client: Client) -> None:
    await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    await sequence_changes(rt.clock.now())
    newest = await Checkin.all().order_by("-id").first()
    assert newest is not None
    assert await _mark(EdcSource.CHECKIN) == newest.id + 1


async def test_the_mark_waits_at_a_gap_so_a_late_lower_id_is_still_sequenced(
    client: Client,
) -> None:
    """Ids newest+1..+4 are taken but not committed when newest+5 commits: the mark
    stays below them, and each one that commits later is found."""
    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    await sequence_changes(rt.clock.now())
    newest = await Checkin.all().order_by("-id").first()
    assert newest is not None
    base = {"participant": participant, "questionnaire": "symptoms", "channel": "app",
            "answers": {"symptoms": []}, "submitted_at": rt.clock.now()}  # fmt: skip
    await Checkin.create(id=newest.id + 5, checkin_key="app:early", **base)
    assert await sequence_changes(rt.clock.now()) == 1
    assert await _mark(EdcSource.CHECKIN) == newest.id + 1

    await Checkin.create(id=newest.id + 1, checkin_key="app:late-1", **base)
    assert await sequence_changes(rt.clock.now()) == 1
    assert await _sequenced(EdcSource.CHECKIN, newest.id + 1)
    assert await _mark(EdcSource.CHECKIN) == newest.id + 2

    await Checkin.create(id=newest.id + 3, checkin_key="app:late-3", **base)
    assert await sequence_changes(rt.clock.now()) == 1
    assert await _sequenced(EdcSource.CHECKIN, newest.id + 3)
    assert await _mark(EdcSource.CHECKIN) == newest.id + 2


async def test_rows_fed_only_later_are_watched_then_sequenced_once(client: Client) -> None:
    """An unsent message and a stranger's SMS are passed by the mark but watched: once
    sent, or once the sender is identified, the next batch sequences them."""
    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    stranger = await InboundMessage.create(
        message_sid="SM" + "s" * 32, from_phone="+56911111111", body="hola",
        received_at=rt.clock.now(),
    )  # fmt: skip
    await sequence_changes(rt.clock.now())
    unsent = await OutboundMessage.filter(participant_id=participant.id, sent_at=None).first()
    assert unsent is not None
    watched = set(await EdcSequenceWatch.all().values_list("source", "source_id"))
    assert (EdcSource.OUTBOUND, unsent.id) in watched
    assert (EdcSource.INBOUND, stranger.id) in watched
    assert await _mark(EdcSource.OUTBOUND) > unsent.id
    assert await _mark(EdcSource.INBOUND) > stranger.id

    unsent.status, unsent.sent_at = "sent", rt.clock.now()
    await unsent.save()
    await InboundMessage.filter(id=stranger.id).update(participant_id=participant.id)
    assert await sequence_changes(rt.clock.now()) == 2
    assert await _sequenced(EdcSource.OUTBOUND, unsent.id)
    assert await _sequenced(EdcSource.INBOUND, stranger.id)
    left = set(await EdcSequenceWatch.all().values_list("source", "source_id"))
    assert (EdcSource.OUTBOUND, unsent.id) not in left
    assert (EdcSource.INBOUND, stranger.id) not in left
    assert await sequence_changes(rt.clock.now()) == 0


def _pg_only(database_url: str) -> str:
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL's table lock and concurrent writers; SQLite has one writer")
    return database_url.replace("postgres://", "postgresql://", 1)


async def test_postgres_writers_proceed_while_a_batch_holds_its_lock(
    client: Client, database_url: str
) -> None:
    """A second connection holds the sequencer's lock (as a batch does, uncommitted);
    a check-in, a new outbound message and a send recorded on ours do not wait."""
    import asyncpg

    other_url = _pg_only(database_url)
    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    other = await asyncpg.connect(other_url)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute(LOCK_EDC_CHANGE)
        await asyncio.wait_for(
            checkin(rt, participant, "app:self-report:locked", SymptomAnswers(())), timeout=5
        )
        row = await OutboundMessage.filter(participant_id=participant.id, sent_at=None).first()
        assert row is not None
        row.status, row.sent_at = "sent", rt.clock.now()
        await asyncio.wait_for(row.save(), timeout=5)
        held = await other.fetchval(
            "SELECT count(*) FROM pg_locks WHERE relation = 'edc_change'::regclass "
            "AND mode = 'ShareRowExclusiveLock' AND granted"
        )
        assert held == 1
        await transaction.rollback()
    finally:
        await other.close()


async def test_postgres_a_writer_in_flight_holds_the_mark_below_its_id(
    client: Client, database_url: str
) -> None:
    """A check-in takes its id and stays uncommitted while a later one commits: the
    batch sequences the later one, keeps the mark at the open one's id, and sequences
    it once it commits (a real out-of-order commit, two connections)."""
    import asyncpg

    other_url = _pg_only(database_url)
    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    await sequence_changes(rt.clock.now())
    insert = (
        "INSERT INTO checkin (participant_id, checkin_key, questionnaire, channel, version, "
        "answers, raw_texts, complete, late, submitted_at) "
        "VALUES ($1, $2, 'symptoms', 'app', 1, $3, '[]', true, false, $4) RETURNING id"
    )
    answers = json.dumps({"symptoms": []})
    other = await asyncpg.connect(other_url)
    try:
        transaction = other.transaction()
        await transaction.start()
        open_id = await other.fetchval(insert, participant.id, "app:open", answers, rt.clock.now())
        later = await Checkin.create(
            participant=await Participant.get(id=participant.id), checkin_key="app:later",
            questionnaire="symptoms", channel="app", answers={"symptoms": []},
            submitted_at=rt.clock.now(),
        )  # fmt: skip
        assert later.id > open_id
        assert await asyncio.wait_for(sequence_changes(rt.clock.now()), timeout=5) == 1
        assert await _sequenced(EdcSource.CHECKIN, later.id)
        assert await _mark(EdcSource.CHECKIN) == open_id
        await transaction.commit()
    finally:
        await other.close()
    assert await sequence_changes(rt.clock.now()) == 1
    assert await _sequenced(EdcSource.CHECKIN, open_id)
    assert await _mark(EdcSource.CHECKIN) == later.id + 1


async def test_a_mark_that_starts_behind_catches_up_without_sequencing_twice(
    client: Client,
) -> None:
    """A database sequenced before the marks existed: the first run walks from id 1
    over rows that have their change rows, adds none, and leaves the mark at the end."""
    await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    before = await sequence_changes(rt.clock.now())
    await EdcSequenceMark.all().delete()
    await EdcSequenceWatch.all().delete()
    assert await sequence_changes(rt.clock.now()) == 0
    assert await EdcChange.all().count() == before
    newest = await Checkin.all().order_by("-id").first()
    assert newest is not None
    assert await _mark(EdcSource.CHECKIN) == newest.id + 1


async def test_more_watched_rows_fed_than_a_batch_holds_are_each_sequenced_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run reads the watched rows fed since, once, and feeds them over several
    batches."""
    from service.actions.edc import _sequence

    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    await sequence_changes(rt.clock.now())
    unsent = await OutboundMessage.filter(participant_id=participant.id, sent_at=None).limit(5)
    assert len(unsent) == 5
    await OutboundMessage.filter(id__in=[m.id for m in unsent]).update(
        status="sent", sent_at=rt.clock.now()
    )
    monkeypatch.setattr(_sequence, "BATCH", 2)
    monkeypatch.setattr(_sequence, "MIN_BATCH", 2)
    assert await sequence_changes(rt.clock.now()) == 5
    for message in unsent:
        assert await EdcChange.filter(source=EdcSource.OUTBOUND, source_id=message.id).count() == 1
    assert await sequence_changes(rt.clock.now()) == 0
