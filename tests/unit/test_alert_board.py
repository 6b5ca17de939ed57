"""The alerts board's reading of an alert: age in words (cut down, never rounded up),
escalation state, when it escalates, and which on-call slot a text went to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.alert_board import (
    Escalation,
    age_words,
    escalates_at,
    escalation_state,
    text_slot,
)

NOW = datetime(2027, 1, 13, 15, 0, tzinfo=UTC)
PRIMARY, BACKUP = "+56961234501", "+56961234502"


@pytest.mark.parametrize(
    ("age", "es", "en"),
    [
        (timedelta(0), "0 minutos", "0 minutes"),
        (timedelta(seconds=59), "0 minutos", "0 minutes"),
        (timedelta(minutes=1), "1 minuto", "1 minute"),
        (timedelta(minutes=59, seconds=59), "59 minutos", "59 minutes"),
        (timedelta(hours=5, minutes=50), "5 horas", "5 hours"),
        (timedelta(days=1, hours=23), "1 día", "1 day"),
        (timedelta(days=45), "45 días", "45 days"),
    ],
)
def test_age_is_cut_down_to_its_largest_unit(age: timedelta, es: str, en: str) -> None:
    assert age_words(NOW - age, NOW, "es") == es
    assert age_words(NOW - age, NOW, "en") == en


def test_an_alert_from_the_future_is_zero_minutes_old() -> None:
    assert age_words(NOW + timedelta(minutes=5), NOW, "es") == "0 minutos"


def test_escalation_states() -> None:
    assert escalation_state("open", None, None) is Escalation.WAITING
    assert escalation_state("open", NOW, None) is Escalation.NOTIFIED
    assert escalation_state("open", NOW, NOW) is Escalation.ESCALATED
    assert escalation_state("open", None, NOW) is Escalation.ESCALATED
    assert escalation_state("acknowledged", NOW, NOW) is Escalation.ACKNOWLEDGED


def test_escalates_at_only_while_open_and_not_escalated() -> None:
    assert escalates_at("open", NOW, None, 30) == NOW + timedelta(minutes=30)
    assert escalates_at("open", NOW, NOW, 30) is None
    assert escalates_at("acknowledged", NOW, None, 30) is None


def test_text_slot_follows_the_sites_numbers() -> None:
    assert text_slot("oncall", PRIMARY, PRIMARY, BACKUP) == "primary"
    assert text_slot("escalated", BACKUP, PRIMARY, BACKUP) == "backup"
    assert text_slot("escalated", PRIMARY, PRIMARY, None) == "primary_again"  # no backup
    assert text_slot("oncall", "+56960000000", PRIMARY, BACKUP) == "on_call"  # changed since
