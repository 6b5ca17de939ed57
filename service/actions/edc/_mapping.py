"""The runtime's EDC mapping: the protocol plus the Spanish labels from the catalog.

Built once per protocol revision and kept; ``create_app`` builds it at start-up so a
protocol the EDC cannot map (say, a symptom code too long for a REDCap field) stops
the service with one line instead of failing at the first push or pull.
"""

from __future__ import annotations

from service.domain.edc.forms import build_mapping, label_keys
from service.domain.edc.model import EdcMapping
from service.domain.edc.redcap_setup import setup_files
from service.runtime import Runtime

__all__ = ["edc_mapping", "redcap_setup_files"]

_EDC_LANGUAGE = "es"  # the study's REDCap project is in Spanish
_cache: dict[tuple[str, int], EdcMapping] = {}


def edc_mapping(rt: Runtime) -> EdcMapping:
    key = (rt.protocol.revision, id(rt.translator))
    if key not in _cache:
        labels = {k: rt.translator.render(k, _EDC_LANGUAGE) for k in label_keys(rt.protocol)}
        _cache[key] = build_mapping(rt.protocol, labels)
    return _cache[key]


def redcap_setup_files(rt: Runtime) -> dict[str, str]:
    """File name -> CSV text of the REDCap project set-up (see docs/edc.md)."""
    return setup_files(edc_mapping(rt))
