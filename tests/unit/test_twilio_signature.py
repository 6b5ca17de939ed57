"""signed_for: the configured URL's signature in one HMAC, and Twilio's validator for the rest."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from service.web.twilio_signature import signed_for

VALIDATOR = RequestValidator("test-auth-token-0123456789abcdef")
FORM = {"MessageSid": "SM1", "From": "+56911112222", "Body": "hola"}
URL = "https://followup.example.cl/webhooks/twilio/sms"


def test_the_configured_url_signed_as_is() -> None:
    assert signed_for(VALIDATOR, URL, FORM, VALIDATOR.compute_signature(URL, FORM))


def test_twilio_may_sign_the_url_with_its_default_port() -> None:
    with_port = "https://followup.example.cl:443/webhooks/twilio/sms"
    assert signed_for(VALIDATOR, URL, FORM, VALIDATOR.compute_signature(with_port, FORM))


def test_another_url_or_form_or_garbage_is_refused() -> None:
    other = VALIDATOR.compute_signature("https://evil.example/webhooks/twilio/sms", FORM)
    assert not signed_for(VALIDATOR, URL, FORM, other)
    changed = VALIDATOR.compute_signature(URL, {**FORM, "Body": "BAJA"})
    assert not signed_for(VALIDATOR, URL, FORM, changed)
    assert not signed_for(VALIDATOR, URL, FORM, "ñ\x00不")
