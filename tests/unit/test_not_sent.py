"""The not-sent vocabulary and the provider code sentences."""

from __future__ import annotations

from service.adapters.twilio_errors import explain_twilio_error
from service.domain import not_sent


def test_barrier_order_follows_what_a_coordinator_fixes_first() -> None:
    everything = {
        "active": False,
        "sms_consent": False,
        "opted_out": True,
        "paused": True,
        "blocked": True,
    }
    assert not_sent.sms_barrier(**everything) == not_sent.WITHDRAWN
    everything["active"] = True
    assert not_sent.sms_barrier(**everything) == not_sent.NO_CONSENT
    everything["sms_consent"] = True
    assert not_sent.sms_barrier(**everything) == not_sent.OPTED_OUT
    everything["opted_out"] = False
    assert not_sent.sms_barrier(**everything) == not_sent.PAUSED
    everything["paused"] = False
    assert not_sent.sms_barrier(**everything) == not_sent.BLOCKED
    everything["blocked"] = False
    assert not_sent.sms_barrier(**everything) is None


def test_codes_fit_the_column() -> None:
    assert all(len(code) <= 24 for code in not_sent.REASONS)


def code_meaning(code: int | None, language: str = "es") -> str | None:
    return explain_twilio_error(code, language).words


def test_code_meaning_in_both_languages_and_unknown_as_number() -> None:
    assert code_meaning(30003) == "Teléfono apagado o fuera de cobertura."
    assert code_meaning(30003, "en") == "Phone switched off or out of coverage."
    assert code_meaning(12345) == "Código 12345"
    assert code_meaning(None) is None
