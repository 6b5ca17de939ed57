"""Test doubles that speak real protocols (a Twilio-compatible HTTP server)."""

from tests.support.fakes.twilio_server import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
    inbound_sms,
    sign,
    status_callback,
)

__all__ = [
    "TEST_ACCOUNT_SID",
    "TEST_AUTH_TOKEN",
    "TEST_FROM_NUMBER",
    "TEST_MESSAGING_SERVICE_SID",
    "TwilioFakeServer",
    "inbound_sms",
    "sign",
    "status_callback",
]
