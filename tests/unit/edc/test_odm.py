"""ODM 1.3.2 output: valid against the official XSD, and OIDs that cover each other."""

from __future__ import annotations

from datetime import UTC, date, datetime

from service.domain.edc.model import EdcMapping
from service.domain.edc.odm import (
    CLINICAL_DATA_TAIL,
    clinical_data_head,
    entry_xml,
    metadata_document,
    user_oid,
)
from service.domain.edc.records import (
    CheckinFact,
    ContactFact,
    InfusionFact,
    Placement,
    TransactionType,
    VisitFact,
    entry_for,
    mask_numbers,
)
from service.domain.protocol import Protocol
from tests.unit.edc.odm_schema import assert_valid_odm

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
AT = datetime(2027, 3, 7, 13, 30, tzinfo=UTC)


def _where(
    seq: int, transaction: TransactionType = TransactionType.INSERT, n: int = 1
) -> Placement:
    return Placement(seq, f"MSC-{n:03d}", "CUA", "America/Santiago", 1, transaction)


def _symptoms(version: int = 1) -> CheckinFact:
    return CheckinFact(
        questionnaire="symptoms",
        checkin_key="checkin:symptoms_weekly:2027-03-07",
        version=version,
        channel="sms",
        answers={"symptoms": [{"code": "fever", "severity": "moderate", "temperature_c": 38.4}]},
        complete=True,
        late=False,
        submitted_at=AT,
        source_id="SM0123456789abcdef0123456789abcdef",
        raw_texts=("1", "2", "38,4 llamar al +56 9 6123 4567"),
    )


def _entries(mapping: EdcMapping, participants: int = 1) -> list:
    out = []
    seq = 0
    for n in range(1, participants + 1):
        for fact, tx in (
            (_symptoms(), TransactionType.INSERT),
            (_symptoms(version=2), TransactionType.UPDATE),
            (
                CheckinFact("pregnancy", "checkin:pregnancy_monthly:2027-03", 1, "app",
                            {"pregnant": False}, True, False, AT, "app-submission:9"),
                TransactionType.INSERT,
            ),
            (
                VisitFact("M1", "attended", date(2027, 2, 22), date(2027, 2, 20),
                          date(2027, 2, 13), date(2027, 2, 27), "staff:ana@uandes.cl", AT, 1),
                TransactionType.INSERT,
            ),
            (
                InfusionFact("INF2", 2, date(2027, 8, 2), date(2027, 7, 20),
                             "staff:ana@uandes.cl", AT, 1),
                TransactionType.INSERT,
            ),
            (
                ContactFact("outbound", "reminder", "clinic_day_before", "delivered", AT, "SMabc"),
                TransactionType.INSERT,
            ),
        ):  # fmt: skip
            seq += 1
            out.append(entry_for(mapping, fact, _where(seq, tx, n)))
    return out


def _clinical(mapping: EdcMapping, protocol: Protocol, participants: int = 1) -> str:
    """A Transactional ODM file as the export streams it: head, entries, tail."""
    head = clinical_data_head(
        mapping,
        protocol.revision,
        oid="MSC-ROLE.ODM.12",
        prior="MSC-ROLE.ODM.6",
        created=AT,
        staff_users=["staff:ana@uandes.cl"],
    )
    fields = {f.name for f in mapping.fields()}
    entries = "".join(entry_xml(entry, fields) for entry in _entries(mapping, participants))
    return head + entries + CLINICAL_DATA_TAIL


def test_metadata_validates(mapping: EdcMapping, protocol: Protocol) -> None:
    doc = assert_valid_odm(metadata_document(mapping, protocol.revision, AT))
    items = doc.findall(".//odm:ItemDef", NS)
    assert len(items) == len(mapping.fields())


def test_clinical_data_validates_with_corrections_and_many_participants(
    mapping: EdcMapping, protocol: Protocol
) -> None:
    doc = assert_valid_odm(_clinical(mapping, protocol, participants=40))
    assert doc.get("FileType") == "Transactional"
    assert doc.get("PriorFileOID") == "MSC-ROLE.ODM.6"
    assert len(doc.findall(".//odm:SubjectData", NS)) == 40 * 6


def test_metadata_oids_cover_the_clinical_data(mapping: EdcMapping, protocol: Protocol) -> None:
    meta = assert_valid_odm(metadata_document(mapping, protocol.revision, AT))
    data = assert_valid_odm(_clinical(mapping, protocol))
    defined = {e.get("OID") for e in meta.iter() if e.get("OID")}
    for attr in ("StudyEventOID", "FormOID", "ItemGroupOID", "ItemOID", "MetaDataVersionOID"):
        used = {e.get(attr) for e in data.iter() if e.get(attr)}
        assert used <= defined, (attr, used - defined)
    users = {e.get("OID") for e in data.findall(".//odm:User", NS)}
    assert {e.get("UserOID") for e in data.findall(".//odm:UserRef", NS)} <= users
    locations = {e.get("OID") for e in data.findall(".//odm:Location", NS)}
    assert {e.get("LocationOID") for e in data.findall(".//odm:LocationRef", NS)} <= locations


def test_every_item_has_its_audit_record(mapping: EdcMapping, protocol: Protocol) -> None:
    data = assert_valid_odm(_clinical(mapping, protocol))
    items = data.findall(".//odm:ItemData", NS)
    assert items
    for item in items:
        audit = item.find("odm:AuditRecord", NS)
        assert audit is not None
        assert audit.find("odm:DateTimeStamp", NS) is not None
    updates = [i for i in items if i.get("TransactionType") == "Update"]
    assert updates
    assert all(i.find("odm:AuditRecord/odm:ReasonForChange", NS) is not None for i in updates)
    sources = {e.text for e in data.findall(".//odm:SourceID", NS)}
    assert "SM0123456789abcdef0123456789abcdef" in sources


def test_no_phone_number_in_output(mapping: EdcMapping, protocol: Protocol) -> None:
    text = _clinical(mapping, protocol)
    assert "6123 4567" not in text and "61234567" not in text
    # staff are named once, in AdminData (the audit trail's "who"), never in the data
    assert text.count("ana@uandes.cl") == 1
    assert "ana@uandes.cl" not in text.split("<ClinicalData")[1]
    assert "[número]" in text  # raw SMS text is listed for symptoms in the protocol file


def test_mask_numbers_keeps_temperatures() -> None:
    assert mask_numbers("38,4 y 961234567") == "38,4 y [número]"
    assert mask_numbers("+56 (9) 6123-4567") == "[número]"


def test_a_staff_user_is_named_by_email_under_a_stable_oid(
    mapping: EdcMapping, protocol: Protocol
) -> None:
    text = _clinical(mapping, protocol)
    assert "<LoginName>ana@uandes.cl</LoginName>" in text
    assert "staff:" not in text  # no internal prefix anywhere a data manager reads
    assert user_oid("staff:ana@uandes.cl") in text  # the OID did not change
