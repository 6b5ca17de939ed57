"""Twilio's webhook forms read into the neutral values the actions take."""

from __future__ import annotations

from service.ports import DeliveryReport, InboundSms
from service.web.twilio_forms import delivery_report, inbound_sms


def test_an_inbound_form_becomes_an_inbound_sms_as_posted() -> None:
    form = {
        "MessageSid": "SM1",
        "SmsSid": "SM1",
        "From": "+56 9 8765 4321",
        "To": "+15005550006",
        "Body": " 1 4 ",
        "OptOutType": "STOP",
    }
    assert inbound_sms(form) == InboundSms(
        "SM1", "+56 9 8765 4321", "+15005550006", " 1 4 ", "STOP"
    )


def test_older_spellings_and_missing_fields() -> None:
    assert inbound_sms({"SmsSid": "SM2"}) == InboundSms("SM2", None, None, "", None)
    assert inbound_sms({"MessageSid": "", "OptOutType": ""}) == InboundSms(None, None, None, "")


def test_a_status_callback_becomes_a_delivery_report() -> None:
    form = {"MessageSid": "SM3", "MessageStatus": " Undelivered ", "ErrorCode": "30006"}
    assert delivery_report(form) == DeliveryReport("SM3", "undelivered", 30006)
    old = {"SmsSid": "SM4", "SmsStatus": "sent", "ErrorCode": "n/a"}
    assert delivery_report(old) == DeliveryReport("SM4", "sent", None)
    assert delivery_report({}) == DeliveryReport("", "", None)
