"""From the protocol file to REDCap instruments and events (and ODM forms and items).

Why the forms look like this:

* **One ePRO event, repeating instruments.** Check-ins do not belong to a visit: a
  weekly symptoms check-in falls between visits. They live in one event,
  "Reportes del participante", as repeating instruments (``sintomas``, ``embarazo``,
  ``contactos``); one instance per check-in occurrence, and a correction updates
  that instance (the earlier versions stay in this service and in the ODM archive).
* **Visits are events.** Each protocol visit is a REDCap event with its nominal day
  offset and window, holding ``visita`` (attended or missed, actual date, in or out of
  window) and, for infusion visits, ``infusion`` (actual versus planned date: a late
  second infusion shows as days of delay). Never the arm, kit or dose.
* **SDTM-shaped names.** Symptoms are ``ce_<code>_sev`` (CE/FACE severity, codes 1-3
  as PRO-CTCAE's mild/moderate/severe, 0 for "asked, absent"), pregnancy ``rp_*``
  (RP), visits ``sv_*`` (SV), infusions ``ex_*`` (EX dates only). Each field names its
  SDTM variable in ``sds_var``.
* **Protocol-driven.** Every symptom of ``[[symptoms]]`` becomes its fields; a symptom
  whose code cannot be a REDCap field name stops start-up, naming the symptom.

Labels come in as a mapping of message key -> Spanish text (visit and symptom names
live in the gettext catalog); everything else a data manager reads is Spanish here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from service.domain.edc.model import (
    Choice,
    EdcEvent,
    EdcField,
    EdcMapping,
    FieldType,
    Instrument,
    Validation,
)
from service.domain.edc.naming import (
    EdcMappingError,
    field_name_problem,
    short_event_label,
    unique_event_names,
    unique_group_names,
)
from service.domain.protocol import (
    Anchor,
    EdcRawText,
    OffsetUnit,
    Protocol,
    Questionnaire,
    VisitDefinition,
    VisitKind,
)
from service.domain.replies import MAX_PLAUSIBLE_C, MIN_PLAUSIBLE_C

__all__ = [
    "PRO_EVENT_LABEL",
    "SEVERITY_CODES",
    "build_mapping",
    "label_keys",
    "symptom_field",
    "symptom_fields",
]

RECORD_FIELD: Final = "record_id"
PRO_EVENT_LABEL: Final = "Reportes del participante"
# Severity codes: PRO-CTCAE's 0-3 (none, mild, moderate, severe); 97 = chosen, unrated.
SEVERITY_CODES: Final = {"absent": "0", "mild": "1", "moderate": "2", "severe": "3"}
SEVERITY_UNRATED: Final = "97"
_SEVERITY_CHOICES: Final = (
    Choice("0", "Ausente"),
    Choice("1", "Leve"),
    Choice("2", "Moderado"),
    Choice("3", "Grave"),
    Choice(SEVERITY_UNRATED, "Presente, gravedad no informada"),
)
CHANNEL_CODES: Final = {"sms": "1", "app": "2", "web": "3", "whatsapp": "4"}
# Check-ins answered by message, whose words and MessageSid travel with them
BY_MESSAGE: Final = frozenset({"sms", "whatsapp"})
_CHANNELS: Final = (
    Choice("1", "SMS"),
    Choice("2", "Aplicación móvil"),
    Choice("3", "Aplicación web"),
    Choice("4", "WhatsApp"),
)
VISIT_STATUS_CODES: Final = {"attended": "1", "missed": "2"}
DIRECTION_CODES: Final = {"outbound": "1", "inbound": "2"}
_DAYS_PER_MONTH: Final = 365.25 / 12
_NON_FIELD: Final = re.compile(r"[^a-z0-9_]")


def label_keys(protocol: Protocol) -> list[str]:
    """The catalog keys whose Spanish text :func:`build_mapping` needs."""
    return [v.name_key for v in protocol.visits] + [s.label_key for s in protocol.symptoms]


def _field(name: str, form: str, kind: FieldType, label: str, **more: Any) -> EdcField:
    problem = field_name_problem(name)
    if problem:
        raise EdcMappingError(f"instrument {form}: {problem}")
    return EdcField(name=name, form=form, field_type=kind, label=label, **more)


def _provenance(prefix: str, form: str, zone_note: str) -> list[EdcField]:
    """Who said it, when, through which channel, which message: on every report."""
    text, dt = FieldType.TEXT, Validation.DATETIME
    return [
        _field(f"{prefix}_checkin_key", form, text, "Clave del control",
               annotation="@HIDDEN @READONLY"),
        _field(f"{prefix}_version", form, text, "Versión de la respuesta",
               validation=Validation.INTEGER, note="1 = original; 2 o más = corrección"),
        _field(f"{prefix}_channel", form, FieldType.RADIO, "Canal", choices=_CHANNELS),
        _field(f"{prefix}_received_utc", form, text, "Recibido (UTC)", validation=dt,
               note="Hora UTC", sds_var=f"{prefix.upper()}DTC"),
        _field(f"{prefix}_received_local", form, text, "Recibido (hora local)", validation=dt,
               note=zone_note),
        _field(f"{prefix}_source_id", form, text, "Identificador de origen",
               note="MessageSid de Twilio (SMS) o id de envío de la aplicación"),
        _field(f"{prefix}_late", form, FieldType.YESNO, "Respondido fuera de plazo"),
    ]  # fmt: skip


def symptom_field(code: str) -> str:
    """The field-name stem of a symptom: ``ce_`` + its code, lower case, ``_`` for others."""
    return "ce_" + _NON_FIELD.sub("_", code.lower())


def symptom_fields(protocol: Protocol, labels: Mapping[str, str]) -> list[EdcField]:
    """Severity (and temperature) fields, one set per protocol symptom, in number order."""
    out: list[EdcField] = []
    for symptom in protocol.symptoms:
        base = symptom_field(symptom.code)
        label = labels.get(symptom.label_key, symptom.code)
        try:
            out.append(
                _field(f"{base}_sev", "sintomas", FieldType.RADIO, f"{label}: gravedad",
                       choices=_SEVERITY_CHOICES, sds_var="FAORRES",
                       annotation=f"@READONLY CETERM={symptom.code}")
            )  # fmt: skip
            if symptom.asks_temperature:
                out.append(
                    _field(f"{base}_temp", "sintomas", FieldType.TEXT,
                           f"{label}: temperatura medida (°C)", validation=Validation.NUMBER,
                           minimum=f"{MIN_PLAUSIBLE_C:g}", maximum=f"{MAX_PLAUSIBLE_C:g}",
                           sds_var="FAORRES")
                )  # fmt: skip
        except EdcMappingError as exc:
            raise EdcMappingError(
                f"symptom {symptom.code!r} cannot become a REDCap field: {exc}; "
                "choose a shorter code of lower-case letters, digits and _"
            ) from None
    return out


def _instruments(protocol: Protocol, labels: Mapping[str, str]) -> tuple[Instrument, ...]:
    zones = sorted({s.timezone for s in protocol.sites})
    zone_note = "Hora local del participante (" + ", ".join(zones) + ")"
    raw = protocol.edc.raw_sms_text
    text, date = FieldType.TEXT, Validation.DATE
    participant = Instrument("participante", "Participante", (
        _field(RECORD_FIELD, "participante", text, "ID de estudio", annotation=""),
        _field("pt_site", "participante", FieldType.DROPDOWN, "Centro",
               choices=tuple(Choice(s.code, s.name) for s in protocol.sites)),
    ))  # fmt: skip
    symptoms = [
        *_provenance("ce", "sintomas", zone_note),
        _field("ce_any", "sintomas", FieldType.YESNO, "¿Informó algún síntoma?",
               sds_var="CEOCCUR"),
        _field("ce_all_rated", "sintomas", FieldType.YESNO, "Todas las gravedades informadas",
               note="No: la conversación pasó al equipo antes de terminar"),
        *symptom_fields(protocol, labels),
    ]  # fmt: skip
    if EdcRawText.SYMPTOMS in raw:
        symptoms.append(_field("ce_raw_text", "sintomas", FieldType.NOTES, "Texto SMS original"))
    pregnancy = [
        *_provenance("rp", "embarazo", zone_note),
        _field("rp_pregnant", "embarazo", FieldType.YESNO, "¿Embarazada o posible embarazo?",
               sds_var="RPORRES", annotation="@READONLY RPTESTCD=PREGST"),
    ]  # fmt: skip
    if EdcRawText.PREGNANCY in raw:
        pregnancy.append(_field("rp_raw_text", "embarazo", FieldType.NOTES, "Texto SMS original"))
    visit = Instrument("visita", "Visita", (
        _field("sv_status", "visita", FieldType.RADIO, "Resultado de la visita",
               choices=(Choice("1", "Asistió"), Choice("2", "No asistió"))),
        _field("sv_date", "visita", text, "Fecha de la visita", validation=date,
               sds_var="SVSTDTC", note="Fecha real (o la registrada si no asistió)"),
        _field("sv_target_date", "visita", text, "Fecha programada", validation=date),
        _field("sv_window_start", "visita", text, "Inicio de la ventana", validation=date),
        _field("sv_window_end", "visita", text, "Fin de la ventana", validation=date),
        _field("sv_in_window", "visita", FieldType.YESNO, "Dentro de la ventana"),
    ))  # fmt: skip
    infusion = Instrument("infusion", "Infusión", (
        _field("ex_number", "infusion", text, "Número de infusión",
               validation=Validation.INTEGER, minimum="1", maximum="2"),
        _field("ex_date", "infusion", text, "Fecha real de la infusión", validation=date,
               sds_var="EXSTDTC"),
        _field("ex_planned_date", "infusion", text, "Fecha planificada", validation=date),
        _field("ex_delay_days", "infusion", text, "Días de diferencia con lo planificado",
               validation=Validation.INTEGER),
    ))  # fmt: skip
    dt = Validation.DATETIME
    contacts = Instrument("contactos", "Registro de contactos", (
        _field("cl_direction", "contactos", FieldType.RADIO, "Dirección",
               choices=(Choice("1", "Enviado al participante"), Choice("2", "Recibido"))),
        _field("cl_kind", "contactos", text, "Tipo de mensaje"),
        _field("cl_purpose", "contactos", text, "Motivo"),
        _field("cl_status", "contactos", text, "Estado"),
        _field("cl_at_utc", "contactos", text, "Fecha y hora (UTC)", validation=dt),
        _field("cl_at_local", "contactos", text, "Fecha y hora local", validation=dt,
               note=zone_note),
        _field("cl_source_id", "contactos", text, "MessageSid de Twilio"),
    ), repeating=True, custom_label="[cl_at_local] [cl_kind]")  # fmt: skip
    has_pregnancy = any(c.questionnaire is Questionnaire.PREGNANCY for c in protocol.checkins)
    return tuple(
        i
        for i in (
            participant,
            Instrument("sintomas", "Síntomas", tuple(symptoms), True,
                       "[ce_received_local] v[ce_version]"),
            Instrument("embarazo", "Embarazo", tuple(pregnancy), True,
                       "[rp_received_local] v[rp_version]") if has_pregnancy else None,
            contacts,
            visit,
            infusion,
        )
        if i is not None
    )  # fmt: skip


def _days(amount: int, unit: OffsetUnit) -> int:
    if unit is OffsetUnit.DAYS:
        return amount
    if unit is OffsetUnit.WEEKS:
        return amount * 7
    return math.floor(amount * _DAYS_PER_MONTH + 0.5)


def _day_offset(visit: VisitDefinition, protocol: Protocol) -> int:
    """Nominal days from the baseline infusion (REDCap's ``day_offset``).

    Months count 30.44 days; visits after the second infusion add its planned offset.
    The real dates come from the calendar; this only orders REDCap's scheduling view.
    """
    own = _days(visit.offset.amount, visit.offset.unit)
    if visit.anchor is Anchor.SECOND_INFUSION:
        second = protocol.second_infusion_visit.offset
        return _days(second.amount, second.unit) + own
    return own


def build_mapping(protocol: Protocol, labels: Mapping[str, str]) -> EdcMapping:
    """The EDC mapping of ``protocol``; raises :class:`EdcMappingError` naming the fault."""
    missing = [k for k in label_keys(protocol) if not labels.get(k)]
    if missing:
        raise EdcMappingError(f"no Spanish text for {', '.join(missing)}")
    instruments = _instruments(protocol, labels)
    names = [f.name for i in instruments for f in i.fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EdcMappingError(f"two fields would be named {', '.join(duplicates)}")
    pro_forms = tuple(i.name for i in instruments if i.repeating or i.name == "participante")
    labelled: list[tuple[str, VisitDefinition | None]] = [(PRO_EVENT_LABEL, None)]
    labelled += [(f"{v.code} {labels[v.name_key]}", v) for v in protocol.visits]
    uniques = unique_event_names((label, 1) for label, _ in labelled)
    # REDCap refuses event labels over 30 characters; the short ones must name the
    # events exactly as the full ones always did (REDCap derives the names itself).
    labelled = [(short_event_label(label), visit) for label, visit in labelled]
    changed = [
        label
        for (label, _), short, full in zip(
            labelled, unique_event_names((label, 1) for label, _ in labelled), uniques, strict=True
        )
        if short != full
    ]
    if changed:
        raise EdcMappingError(f"shortened event labels would rename events: {', '.join(changed)}")
    events = []
    for (label, visit), unique in zip(labelled, uniques, strict=True):
        if visit is None:
            events.append(EdcEvent(label, unique, None, 0, 0, 0, pro_forms))
            continue
        forms = ("visita", "infusion") if visit.kind is VisitKind.INFUSION else ("visita",)
        events.append(
            EdcEvent(label, unique, visit.code, _day_offset(visit, protocol),
                     visit.window_before_days, visit.window_after_days, forms)
        )  # fmt: skip
    groups = unique_group_names(s.code for s in protocol.sites)
    return EdcMapping(
        study_code=protocol.study_code,
        study_name=protocol.study_name,
        record_field=RECORD_FIELD,
        instruments=instruments,
        events=tuple(events),
        site_groups=tuple(zip((s.code for s in protocol.sites), groups, strict=True)),
    )
