"""The EDC feed: the mapping to REDCap, ODM 1.3.2 pulls, the REDCap push, its status.

Every record the feed carries is sequenced once after it committed (``_sequence``);
pulls and pushes read by that sequence. Private modules: ``_mapping``, ``_export``
(ODM), ``_push`` with ``_push_state`` (runs, cursor, baselines, conflicts),
``_status`` and ``_metrics``, ``_queries`` (what the feed reads).
"""

from service.actions.edc._conflicts import resolve_conflict, resolved_conflicts
from service.actions.edc._export import OdmExport, odm_metadata, start_odm_export
from service.actions.edc._mapping import edc_mapping, redcap_setup_files
from service.actions.edc._metrics import edc_metrics
from service.actions.edc._push import BATCH, PushResult, push_if_due, push_to_redcap
from service.actions.edc._push_state import ConflictView, RunView
from service.actions.edc._sequence import SequencingRun, sequence_backlog
from service.actions.edc._status import EdcPushStatus, edc_push_status

__all__ = [
    "BATCH",
    "ConflictView",
    "EdcPushStatus",
    "OdmExport",
    "PushResult",
    "RunView",
    "SequencingRun",
    "edc_mapping",
    "edc_metrics",
    "edc_push_status",
    "odm_metadata",
    "push_if_due",
    "push_to_redcap",
    "redcap_setup_files",
    "resolve_conflict",
    "resolved_conflicts",
    "sequence_backlog",
    "start_odm_export",
]
