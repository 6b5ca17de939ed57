"""Twilio's webhook forms read into the provider-neutral values of ``service.ports``.

Twilio's field names (``From``, ``Body``, ``MessageSid``, ``MessageStatus``,
``ErrorCode`` …) stop here: the actions take an :class:`InboundSms` or a
:class:`DeliveryReport`, so another provider is a new parser, not new actions. Values
are passed on as posted (uncleaned); the actions clean what they store. Older Twilio
posts name the id ``SmsSid`` and the status ``SmsStatus``; both spellings are read.
"""

from __future__ import annotations

from collections.abc import Mapping

from service.ports import DeliveryReport, InboundSms

__all__ = ["delivery_report", "inbound_sms"]


_WHATSAPP = "whatsapp:"


def _address(value: str | None) -> tuple[str | None, bool]:
    """A Twilio address without its channel prefix, and whether it was WhatsApp's."""
    if value is not None and value[: len(_WHATSAPP)].lower() == _WHATSAPP:
        return value[len(_WHATSAPP) :], True
    return value, False


def inbound_sms(form: Mapping[str, str]) -> InboundSms:
    """An incoming-message webhook's form as the inbound action takes it. A WhatsApp
    message comes to the same webhook from a ``whatsapp:+56…`` address: the number is
    the participant's, and the channel says where it came from."""
    from_phone, whatsapp = _address(form.get("From"))
    return InboundSms(
        provider_id=form.get("MessageSid") or form.get("SmsSid") or None,
        from_phone=from_phone,
        to_phone=_address(form.get("To"))[0],
        body=form.get("Body", ""),
        opt_out_type=form.get("OptOutType") or None,
        channel="whatsapp" if whatsapp else "sms",
    )


def delivery_report(form: Mapping[str, str]) -> DeliveryReport:
    """A status callback's form; an error code that is not a number counts as none."""
    raw_code = (form.get("ErrorCode") or "").strip()
    return DeliveryReport(
        provider_id=form.get("MessageSid") or form.get("SmsSid") or "",
        status=(form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower(),
        error_code=int(raw_code) if raw_code.isdigit() else None,
    )
