"""Every Unicode code point, in every text a participant or a coordinator can write,
through every file another system parses: ODM (validated against CDISC's XSD),
REDCap rows, and the dashboard's CSV and XLSX downloads.

The code points go through in chunks (each chunk is one SMS text, one app answer, one
note, one reason); each chunk's ODM document must be well-formed and valid, and no
output may hold a character XML 1.0 forbids. What XML allows arrives unchanged; what
it forbids arrives as U+FFFD. The stored text is never touched (the writers clean on
the way out; ``tests/integration/test_hostile_input.py`` covers storage).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from service.domain.edc.model import EdcMapping
from service.domain.edc.odm import (
    CLINICAL_DATA_TAIL,
    clinical_data_head,
    entry_xml,
    metadata_document,
)
from service.domain.edc.records import (
    CheckinFact,
    ContactFact,
    Entry,
    InfusionFact,
    Placement,
    TransactionType,
    VisitFact,
    entry_for,
)
from service.domain.edc.redcap_rows import row_for
from service.domain.protocol import Protocol
from service.domain.xml_text import NOT_XML, xml_safe
from service.web.dashboard.exports import Column, csv_cell, xlsx_bytes
from service.web.dashboard.exports import Kind as CellKind
from tests.support.spreadsheets import workbook_rows
from tests.unit.edc.odm_schema import assert_valid_odm

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
AT = datetime(2027, 3, 7, 13, 30, tzinfo=UTC)
CHUNK = 16384  # code points per text: 68 chunks cover U+0000..U+10FFFF
LAST = 0x10FFFF
CHUNKS = [(start, min(start + CHUNK, LAST + 1)) for start in range(0, LAST + 1, CHUNK)]
_DIGIT_RUN = re.compile(r"\d")


def _text(start: int, end: int) -> str:
    return "".join(chr(c) for c in range(start, end))


def _entries(mapping: EdcMapping, text: str) -> list[Entry]:
    where = Placement(1, "MSC-001", "CUA", "America/Santiago", 1, TransactionType.INSERT)
    update = Placement(2, "MSC-001", "CUA", "America/Santiago", 1, TransactionType.UPDATE)
    facts = [
        (CheckinFact("symptoms", "checkin:symptoms_weekly:2027-03-07", 2, "sms",
                     {"symptoms": []}, True, False, AT, text, (text, text)), update),
        (CheckinFact("pregnancy", "checkin:pregnancy_monthly:2027-03", 1, "sms",
                     {"pregnant": False}, True, False, AT, text, (text,)), where),
        (VisitFact("M1", "attended", date(2027, 2, 22), date(2027, 2, 20), date(2027, 2, 13),
                   date(2027, 2, 27), "staff:" + text, AT, 2), update),
        (InfusionFact("INF2", 2, date(2027, 8, 2), date(2027, 7, 20), "staff:" + text, AT, 1),
         where),
        (ContactFact("inbound", text, text, text, AT, text), where),
    ]  # fmt: skip
    return [entry_for(mapping, fact, placement) for fact, placement in facts]


def _clinical(mapping: EdcMapping, protocol: Protocol, entries: list[Entry]) -> str:
    head = clinical_data_head(
        mapping,
        protocol.revision,
        oid="MSC-ROLE.ODM.2",
        prior=None,
        created=AT,
        staff_users=sorted({e.user for e in entries if e.user.startswith("staff:")}),
    )
    fields = {f.name for f in mapping.fields()}
    return head + "".join(entry_xml(e, fields) for e in entries) + CLINICAL_DATA_TAIL


@pytest.mark.parametrize(("start", "end"), CHUNKS, ids=[f"U+{s:04X}" for s, _ in CHUNKS])
def test_every_code_point_reaches_every_export_as_text_xml_allows(
    mapping: EdcMapping, protocol: Protocol, start: int, end: int
) -> None:
    text = _text(start, end)
    entries = _entries(mapping, text)

    document = _clinical(mapping, protocol, entries)
    assert not NOT_XML.search(document)
    doc = assert_valid_odm(document.encode("utf-8"))  # well-formed and valid
    sources = {e.text for e in doc.findall(".//odm:AuditRecord/odm:SourceID", NS)}
    values = {i.get("Value") for i in doc.findall(".//odm:ItemData", NS)}
    if not _DIGIT_RUN.search(text):  # digit runs are masked as phone numbers: compared below
        assert xml_safe(text) in sources
        assert "\n".join([xml_safe(text)] * 2) in values  # the SMS raw texts, one a line

    for entry in entries:
        row = row_for(mapping, entry)
        assert not any(NOT_XML.search(v) for v in row.values()), entry.form

    cell = csv_cell(text, CellKind.TEXT, "es")
    assert not NOT_XML.search(cell)
    assert cell.removeprefix("'") == xml_safe(text)
    assert next(csv.reader(io.StringIO('"' + cell.replace('"', '""') + '"'))) == [cell]

    sheet = xlsx_bytes("hostile", [Column("texto")], [[text]], local_time="hora de Chile")
    ((header,), (shown,)) = workbook_rows(sheet)
    assert header == "texto" and not NOT_XML.search(shown)


def test_the_metadata_document_and_a_whole_clinical_file_still_validate(
    mapping: EdcMapping, protocol: Protocol
) -> None:
    assert_valid_odm(metadata_document(mapping, protocol.revision, AT))
    hostile = "\x00\x0b\ufffe\uffff\ud800 Alto <b>&amp;</b> ]]> \"'"
    doc = etree.fromstring(_clinical(mapping, protocol, _entries(mapping, hostile)).encode())
    assert doc.find(".//odm:ClinicalData", NS) is not None


def test_every_item_carries_an_audit_record_with_a_source_staff_entries_too(
    mapping: EdcMapping, protocol: Protocol
) -> None:
    doc = assert_valid_odm(_clinical(mapping, protocol, _entries(mapping, "texto")))
    items = doc.findall(".//odm:ItemData", NS)
    forms = {f.get("FormOID") for f in doc.findall(".//odm:FormData", NS)}
    assert {"F.visita", "F.infusion"} <= forms
    for item in items:
        source = item.find("odm:AuditRecord/odm:SourceID", NS)
        assert source is not None and source.text, item.get("ItemOID")
    staff = {
        e.text for e in doc.findall(".//odm:SourceID", NS) if e.text.startswith("staff-entry:")
    }
    assert staff == {"staff-entry:visita:MSC-001:M1:v2", "staff-entry:infusion:MSC-001:INF2:v1"}
