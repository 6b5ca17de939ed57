"""ODM pulls over HTTP: valid, incremental, never skipping or repeating, site-scoped."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from lxml import etree

from service.actions.edc._sequence import sequence_changes
from service.db.edc_models import EdcChange
from service.db.models import AuditEntry, Checkin
from service.domain.checkin_answers import SymptomAnswers
from service.runtime import Runtime
from tests.support.edc_year import checkin, edc_key, walk_a_year
from tests.support.helpers import Client
from tests.unit.edc.odm_schema import assert_valid_odm

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
DATA = "/edc/v1/odm/clinical-data.xml"


def _subjects(doc: etree._Element) -> list[etree._Element]:
    return doc.findall(".//odm:SubjectData", NS)


async def _pull(
    client: Client, headers: dict[str, str], since: str | None = None
) -> etree._Element:
    params = {"since": since} if since else {}
    response = await client.get(DATA, headers=headers, params=params)
    assert response.status_code == 200, response.text
    doc = assert_valid_odm(response.content)
    assert response.headers["odm-file-oid"] == doc.get("FileOID")
    return doc


async def test_pulls_need_an_edc_key(client: Client) -> None:
    assert (await client.get(DATA)).status_code == 401
    assert (await client.get("/edc/v1/odm/metadata.xml")).status_code == 401


async def test_metadata_validates_and_covers_the_data(client: Client) -> None:
    await walk_a_year(client)
    headers = await edc_key(client)
    meta = await client.get("/edc/v1/odm/metadata.xml", headers=headers)
    assert meta.status_code == 200
    defined = {e.get("OID") for e in assert_valid_odm(meta.content).iter() if e.get("OID")}
    data = await _pull(client, headers)
    for attr in ("StudyEventOID", "FormOID", "ItemGroupOID", "ItemOID", "MetaDataVersionOID"):
        used = {e.get(attr) for e in data.iter() if e.get(attr)}
        assert used and used <= defined, (attr, used - defined)


async def test_a_year_pulled_then_nothing_then_only_the_new(client: Client) -> None:
    participant = await walk_a_year(client)
    headers = await edc_key(client)
    first = await _pull(client, headers)
    subjects = _subjects(first)
    # 4 check-in versions, 2 visit outcomes, 2 infusions, >= 1 contact-log line
    assert len(subjects) >= 9
    assert {s.get("SubjectKey") for s in subjects} == {"MSC-001"}
    updates = first.findall(".//odm:ItemData[@TransactionType='Update']", NS)
    assert updates and all(u.find("odm:AuditRecord/odm:ReasonForChange", NS) is not None
                           for u in updates)  # fmt: skip
    assert first.get("PriorFileOID") is None
    text = etree.tostring(first, encoding="unicode")
    assert "61234567" not in text and "6123 4567" not in text
    assert "SMaaaa" in text  # the Twilio MessageSid of the SMS check-in

    second = await _pull(client, headers, first.get("FileOID"))
    assert _subjects(second) == []
    assert second.get("PriorFileOID") == first.get("FileOID")

    rt: Runtime = client.app.state.runtime
    await checkin(rt, participant, "app:self-report:2", SymptomAnswers(()))
    third = await _pull(client, headers, second.get("FileOID"))
    assert len(_subjects(third)) == 1


async def test_a_row_committed_late_with_a_lower_id_is_read_once(client: Client) -> None:
    participant = await walk_a_year(client)
    headers = await edc_key(client)
    rt: Runtime = client.app.state.runtime
    newest = await Checkin.all().order_by("-id").first()
    assert newest is not None
    # Another process took id newest+5 and committed first; ours (newest+1) commits later.
    late_id, early_id = newest.id + 1, newest.id + 5
    base = {"participant": participant, "questionnaire": "symptoms", "channel": "app",
            "answers": {"symptoms": []}, "submitted_at": rt.clock.now()}  # fmt: skip
    await Checkin.create(id=early_id, checkin_key="app:early", **base)
    first = await _pull(client, headers)
    await Checkin.create(id=late_id, checkin_key="app:late", **base)
    second = await _pull(client, headers, first.get("FileOID"))
    keys = [
        e.get("Value") for e in second.findall(".//odm:ItemData[@ItemOID='I.ce_checkin_key']", NS)
    ]
    assert keys == ["app:late"]
    third = await _pull(client, headers, second.get("FileOID"))
    assert _subjects(third) == []


async def test_racing_sequencers_never_double(client: Client) -> None:
    import asyncio

    await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    await asyncio.gather(*(sequence_changes(rt.clock.now()) for _ in range(3)))
    pairs = await EdcChange.all().values_list("source", "source_id")
    assert len(pairs) == len(set(pairs))
    assert await sequence_changes(rt.clock.now()) == 0


async def test_site_scoped_key_sees_its_site_only(client: Client) -> None:
    await walk_a_year(client)
    await walk_a_year(client, study_id="MSC-002", site="HBLT", phone="+56 9 7123 4567")
    cua = await _pull(client, await edc_key(client, "cua", ["CUA"]))
    hblt = await _pull(client, await edc_key(client, "hblt", ["HBLT"]))
    everyone = await _pull(client, await edc_key(client, "all"))
    assert {s.get("SubjectKey") for s in _subjects(cua)} == {"MSC-001"}
    assert {s.get("SubjectKey") for s in _subjects(hblt)} == {"MSC-002"}
    assert len(_subjects(everyone)) == len(_subjects(cua)) + len(_subjects(hblt))
    assert cua.get("FileOID") == hblt.get("FileOID")


async def test_every_pull_is_audited(client: Client) -> None:
    await walk_a_year(client)
    headers = await edc_key(client, "auditor")
    doc = await _pull(client, headers)
    entry = await AuditEntry.filter(action="edc.odm.pull").first()
    assert entry is not None
    assert entry.actor == "apikey:auditor"
    assert entry.entity_id == doc.get("FileOID")
    assert entry.changes["entries"] == len(_subjects(doc))


async def test_bad_cursor_is_a_400_naming_since(client: Client) -> None:
    headers = await edc_key(client)
    for bad in ("nonsense", "MSC-ROLE.ODM.0-99999"):
        response = await client.get(DATA, headers=headers, params={"since": bad})
        assert response.status_code == 400, response.text
        assert "since" in response.text


async def test_cli_export_writes_a_valid_file(client: Client, tmp_path: Path) -> None:
    await walk_a_year(client)
    settings = client.app.state.runtime.settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key}
    target = tmp_path / "odm.xml"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "edc", "export", "odm", "-o", str(target),
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    doc = assert_valid_odm(target.read_bytes())
    assert len(_subjects(doc)) >= 9
    assert doc.get("FileOID") in err.decode()
    assert await AuditEntry.filter(action="edc.odm.pull", actor="system:cli").exists()


async def test_an_sms_with_characters_xml_forbids_keeps_every_pull_valid(
    client: Client, tmp_path: Path
) -> None:
    """U+FFFE and U+FFFF pass the SMS cleaning (they are not controls) and are stored
    exactly; the route and the CLI both write them as U+FFFD and stay valid."""
    participant = await walk_a_year(client)
    rt: Runtime = client.app.state.runtime
    hostile = "1 \ufffe\uffff fiebre \U0010ffff"
    await checkin(rt, participant, "app:self-report:9", SymptomAnswers(()), channel="sms",
                  raw=[hostile])  # fmt: skip
    stored = await Checkin.filter(checkin_key="app:self-report:9").first()
    assert stored is not None and stored.raw_texts == [hostile]  # kept exactly
    headers = await edc_key(client)
    doc = await _pull(client, headers)
    assert "1 \ufffd\ufffd fiebre \U0010ffff" in etree.tostring(doc, encoding="unicode")

    settings = client.app.state.runtime.settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key}
    target = tmp_path / "odm.xml"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "edc", "export", "odm", "-o", str(target),
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert_valid_odm(target.read_bytes())
