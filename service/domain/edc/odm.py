"""CDISC ODM 1.3.2: the metadata (Study/MetaDataVersion) and Transactional clinical data.

Why it is written as text generators rather than built as a tree: the clinical data
of a whole study can be large, and an EDC pulls it in one request. Each function
yields small strings that the web layer streams as they come, so memory stays flat
however many entries there are; the structure is checked against CDISC's XSD in the
tests (odmlib ships it).

OIDs are derived from the mapping by one set of rules (``SE.<unique event>``,
``F.<form>``, ``IG.<form>``, ``I.<field>``, ``CL.<field>``, ``LOC.<site>``,
``USR.<user>``) so that the metadata's OIDs cover every OID the data uses.

Every ``ItemData`` carries ``TransactionType`` (``Insert`` the first time the feed
sends a record, ``Update`` for a correction: the earlier version stays in the earlier
file of the series) and an ``AuditRecord`` (who, where, when in UTC, why for
corrections, and the source: Twilio MessageSid or app submission).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from service.domain.actors import person_of
from service.domain.edc.model import EdcField, EdcMapping
from service.domain.edc.records import Entry, Value
from service.domain.xml_text import xml_safe

__all__ = [
    "CLINICAL_DATA_TAIL",
    "ODM_NS",
    "clinical_data_head",
    "entry_xml",
    "file_oid",
    "metadata_document",
    "metadata_version_oid",
    "odm_value",
    "user_oid",
]

ODM_NS: Final = "http://www.cdisc.org/ns/odm/v1.3"


def _a(value: object) -> str:
    """An attribute value: quoted, escaped, and nothing XML 1.0 forbids."""
    return quoteattr(xml_safe(str(value)))


def _t(text: str) -> str:
    """Element text: escaped, and nothing XML 1.0 forbids (``xml_text``)."""
    return escape(xml_safe(text))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def metadata_version_oid(mapping: EdcMapping, revision: str) -> str:
    return f"MDV.{mapping.study_code}.{revision[:12]}"


def file_oid(study_code: str, upto: int) -> str:
    """The cursor: a clinical-data file is named by the last change it holds."""
    return f"{study_code}.ODM.{upto}"


def user_oid(user: str) -> str:
    """A stable OID for an audit user (staff labels are hashed: no e-mail in an OID)."""
    if user in ("participant", "system"):
        return f"USR.{user}"
    return "USR.staff." + hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def odm_value(value: Value) -> str | None:
    """ODM's lexical forms: ISO 8601 dates and datetimes (UTC offset kept), 1/0 flags."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _root(file_type: str, oid: str, created: datetime, prior: str | None = None) -> str:
    prior_attr = f" PriorFileOID={_a(prior)}" if prior else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ODM xmlns="{ODM_NS}" ODMVersion="1.3.2" FileType="{file_type}" '
        f"FileOID={_a(oid)}{prior_attr} CreationDateTime={_a(_iso(created))} "
        'SourceSystem="msc-role-followup">\n'
    )


def _item_def(field: EdcField) -> str:
    sds = f" SDSVarName={_a(field.sds_var)}" if field.sds_var else ""
    out = [
        f"<ItemDef OID={_a('I.' + field.name)} Name={_a(field.name)} "
        f"DataType={_a(field.odm_data_type)}{sds}>",
        f'<Question><TranslatedText xml:lang="es">{_t(field.label)}</TranslatedText></Question>',
    ]
    if field.effective_choices:
        out.append(f"<CodeListRef CodeListOID={_a('CL.' + field.name)}/>")
    out.append("</ItemDef>")
    return "".join(out)


def _code_list(field: EdcField) -> str:
    items = "".join(
        f"<CodeListItem CodedValue={_a(c.code)}><Decode>"
        f'<TranslatedText xml:lang="es">{_t(c.label)}</TranslatedText></Decode>'
        "</CodeListItem>"
        for c in field.effective_choices
    )
    return (
        f"<CodeList OID={_a('CL.' + field.name)} Name={_a(field.name)} "
        f"DataType={_a(field.odm_data_type)}>{items}</CodeList>"
    )


def metadata_document(mapping: EdcMapping, revision: str, created: datetime) -> str:
    """The ODM ``Study`` with every event, form and item the feed uses (a Snapshot file)."""
    mdv = metadata_version_oid(mapping, revision)
    parts = [_root("Snapshot", f"{mapping.study_code}.ODM.metadata.{revision[:12]}", created)]
    parts.append(
        f"<Study OID={_a(mapping.study_code)}><GlobalVariables>"
        f"<StudyName>{_t(mapping.study_code)}</StudyName>"
        f"<StudyDescription>{_t(mapping.study_name)}</StudyDescription>"
        f"<ProtocolName>{_t(mapping.study_code)}</ProtocolName></GlobalVariables>"
        f"<MetaDataVersion OID={_a(mdv)} Name={_a('Protocol revision ' + revision[:12])}>"
        "<Protocol>"
    )
    for n, event in enumerate(mapping.events, start=1):
        parts.append(f'<StudyEventRef StudyEventOID={_a("SE." + event.unique_name)} '
                     f'OrderNumber="{n}" Mandatory="No"/>')  # fmt: skip
    parts.append("</Protocol>")
    for event in mapping.events:
        refs = "".join(f'<FormRef FormOID={_a("F." + f)} Mandatory="No"/>' for f in event.forms)
        kind = "Common" if event.visit_code is None else "Scheduled"
        parts.append(
            f"<StudyEventDef OID={_a('SE.' + event.unique_name)} Name={_a(event.label)} "
            f'Repeating="No" Type="{kind}">{refs}</StudyEventDef>'
        )
    for form in mapping.instruments:
        repeating = "Yes" if form.repeating else "No"
        parts.append(
            f'<FormDef OID={_a("F." + form.name)} Name={_a(form.label)} Repeating="{repeating}">'
            f'<ItemGroupRef ItemGroupOID={_a("IG." + form.name)} Mandatory="Yes"/></FormDef>'
        )
    for form in mapping.instruments:
        refs = "".join(
            f'<ItemRef ItemOID={_a("I." + f.name)} Mandatory="No"/>' for f in form.fields
        )
        parts.append(
            f"<ItemGroupDef OID={_a('IG.' + form.name)} Name={_a(form.label)} "
            f'Repeating="No">{refs}</ItemGroupDef>'
        )
    fields = mapping.fields()
    parts.extend(_item_def(f) for f in fields)
    parts.extend(_code_list(f) for f in fields if f.effective_choices)
    parts.append("</MetaDataVersion></Study>\n")
    parts.append(_admin_data(mapping, revision, ["participant", "system"]))
    parts.append("</ODM>\n")
    return "".join(parts)


def _admin_data(mapping: EdcMapping, revision: str, users: Iterable[str]) -> str:
    mdv = metadata_version_oid(mapping, revision)
    out = [f"<AdminData StudyOID={_a(mapping.study_code)}>"]
    for user in users:
        name = {"participant": "Participante (autorreporte)", "system": "Servicio de seguimiento"}
        login = name.get(user) or person_of(user)  # the OID keeps the label; no "staff:"
        kind = "Other" if user in name else "Investigator"
        out.append(f"<User OID={_a(user_oid(user))} UserType=\"{kind}\">"
                   f"<LoginName>{_t(login)}</LoginName></User>")  # fmt: skip
    for code, _dag in mapping.site_groups:
        out.append(
            f'<Location OID={_a("LOC." + code)} Name={_a(code)} LocationType="Site">'
            f"<MetaDataVersionRef StudyOID={_a(mapping.study_code)} "
            f'MetaDataVersionOID={_a(mdv)} EffectiveDate="2019-01-01"/></Location>'
        )
    out.append("</AdminData>\n")
    return "".join(out)


def entry_xml(entry: Entry, mdv_fields: set[str]) -> str:
    """One entry as a ``SubjectData`` element; ``mdv_fields`` guards the metadata's cover."""
    where = entry.placement
    audit_tail = [f"<DateTimeStamp>{_iso(entry.recorded_at)}</DateTimeStamp>"]
    if entry.reason:
        audit_tail.append(f"<ReasonForChange>{_t(entry.reason)}</ReasonForChange>")
    audit_tail.append(f"<SourceID>{_t(entry.source_id)}</SourceID>")
    audit = (
        f"<AuditRecord><UserRef UserOID={_a(user_oid(entry.user))}/>"
        f"<LocationRef LocationOID={_a('LOC.' + where.site)}/>{''.join(audit_tail)}</AuditRecord>"
    )
    items = []
    for name, value in entry.values:
        if name not in mdv_fields:
            raise ValueError(f"field {name} is not in the metadata")
        text = odm_value(value)
        if text is None:
            continue
        items.append(
            f'<ItemData ItemOID={_a("I." + name)} TransactionType="{where.transaction.value}" '
            f"Value={_a(text)}>{audit}</ItemData>"
        )
    repeat = f' FormRepeatKey="{entry.instance}"' if entry.instance is not None else ""
    return (
        f"<SubjectData SubjectKey={_a(where.study_id)}>"
        f"<SiteRef LocationOID={_a('LOC.' + where.site)}/>"
        f"<StudyEventData StudyEventOID={_a('SE.' + entry.event)}>"
        f"<FormData FormOID={_a('F.' + entry.form)}{repeat}>"
        f"<ItemGroupData ItemGroupOID={_a('IG.' + entry.form)}>{''.join(items)}"
        "</ItemGroupData></FormData></StudyEventData></SubjectData>\n"
    )


CLINICAL_DATA_TAIL: Final = "</ClinicalData>\n</ODM>\n"


def clinical_data_head(
    mapping: EdcMapping,
    revision: str,
    *,
    oid: str,
    prior: str | None,
    created: datetime,
    staff_users: Iterable[str],
) -> str:
    """Everything before the first ``SubjectData``: root, AdminData, ClinicalData start."""
    mdv = metadata_version_oid(mapping, revision)
    return (
        _root("Transactional", oid, created, prior)
        + _admin_data(mapping, revision, ["participant", "system", *sorted(set(staff_users))])
        + f"<ClinicalData StudyOID={_a(mapping.study_code)} MetaDataVersionOID={_a(mdv)}>\n"
    )
