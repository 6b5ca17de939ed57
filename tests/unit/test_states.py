"""The state vocabulary: every member fits the column that stores it, "sent" is one set,
and the written lifecycles name every state."""

from __future__ import annotations

import re
from enum import Enum

import pytest
from tortoise.fields.data import CharEnumFieldInstance

from service.db import access_models, models
from service.domain import states
from service.domain.languages import LANGUAGE_PATTERN, LANGUAGES
from service.domain.states import SENT, AuditAction, MessageStatus, message_action


def _enum_columns() -> list[tuple[str, str, CharEnumFieldInstance]]:
    found = []
    for module in (models, access_models):
        for name in module.__all__:
            model = getattr(module, name)
            for field_name, field in model._meta.fields_map.items():
                if isinstance(field, CharEnumFieldInstance):
                    found.append((name, field_name, field))
    return found


def test_the_enum_columns_are_the_expected_ones() -> None:
    assert {(m, f) for m, f, _ in _enum_columns()} == {
        ("Participant", "status"),
        ("VisitOutcome", "status"),
        ("OutboundMessage", "kind"),
        ("OutboundMessage", "status"),
        ("InboundMessage", "handling"),
        ("Conversation", "status"),
        ("Alert", "status"),
        ("InboxItem", "reason"),
        ("InboxItem", "status"),
        ("LoginAttempt", "outcome"),
        ("ParticipantSession", "revoked_reason"),
    }


@pytest.mark.parametrize(
    "column", _enum_columns(), ids=lambda c: f"{c[0]}.{c[1]}" if isinstance(c, tuple) else ""
)
def test_every_member_fits_its_column(column: tuple[str, str, CharEnumFieldInstance]) -> None:
    # The description is fixed, so a new member changes no schema: its length must fit.
    _, _, field = column
    enum: type[Enum] = field.enum_type
    assert all(len(str(m.value)) <= field.max_length for m in enum)


def test_sent_is_out_and_not_reported_lost() -> None:
    assert {MessageStatus.SENT, MessageStatus.DELIVERED} == SENT
    assert "sent" in SENT and "undelivered" not in SENT  # a StrEnum is its string


def test_message_actions_name_audited_message_states() -> None:
    assert message_action("failed") is AuditAction.MESSAGE_FAILED
    assert message_action(MessageStatus.EXPIRED) is AuditAction.MESSAGE_EXPIRED
    with pytest.raises(ValueError):
        message_action("planned")


def test_the_written_lifecycle_names_every_message_status() -> None:
    doc = states.__doc__ or ""
    table_states = set(re.findall(r"^([a-z_]+)\s{2,}", doc, re.M))
    assert table_states - {"state"} == {m.value for m in MessageStatus}  # less its header


def test_one_list_of_languages() -> None:
    assert all(re.fullmatch(LANGUAGE_PATTERN, lang) for lang in LANGUAGES)
    assert re.fullmatch(LANGUAGE_PATTERN, "fr") is None
