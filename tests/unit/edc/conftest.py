"""The shipped protocol and its Spanish labels, for the pure EDC mapping tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.adapters.i18n import load_renderer
from service.domain.edc.forms import build_mapping, label_keys
from service.domain.edc.model import EdcMapping
from service.domain.protocol import Protocol
from service.domain.protocol_loader import load_protocol

SCHEDULE = Path(__file__).resolve().parents[3] / "schedules" / "msc-role.toml"


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    return load_protocol(SCHEDULE)


@pytest.fixture(scope="session")
def labels(protocol: Protocol) -> dict[str, str]:
    renderer = load_renderer()
    return {k: renderer.render(k, "es") for k in label_keys(protocol)}


@pytest.fixture(scope="session")
def mapping(protocol: Protocol, labels: dict[str, str]) -> EdcMapping:
    return build_mapping(protocol, labels)
