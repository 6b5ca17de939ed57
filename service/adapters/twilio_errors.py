"""Twilio's error codes in the service's neutral words (:class:`service.ports.SmsFailure`).

The one table of Twilio's codes: each code the service has a reason to know, with its
class, what it means to an operator (English, for logs), and, for the codes this
trial's messages actually meet (undelivered/failed codes for Chilean mobiles), the
sentence a coordinator reads next to a failed message on the participant page, in
Spanish and English. The Twilio gateway answers ``explain_error(code, language)`` from
it, and so does the console gateway, which stands in for Twilio and raises Twilio's
codes (21211, 21602). It imports no SDK, so the console gateway and the tests'
doubles can use it. A code without words shows as its number ("Código 30034").

Unknown codes are transient on purpose: a reminder retried a few times and then given
up beats one dropped on a code we never saw. HTTP statuses alone never make an error
permanent: a 5xx, a 429, a 401 or a bare 400 from a proxy may all pass.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from service.ports import ProviderError, SmsFailure

__all__ = ["CODES", "explain_twilio_error"]

_F = SmsFailure


class _C(NamedTuple):
    failure: SmsFailure
    meaning: str  # for operators and logs, English
    spanish: str | None = None  # what a coordinator reads on the participant page
    english: str | None = None


CODES: Final[dict[int, _C]] = {
    # The person's number: nothing more is sent to it (blocks the participant).
    21610: _C(
        _F.OPTED_OUT,
        "the recipient unsubscribed (replied STOP)",
        "La persona respondió STOP: no recibe mensajes hasta que envíe START.",
        "The person replied STOP: no messages until they send START.",
    ),
    30004: _C(
        _F.BLOCKED_NUMBER,
        "message blocked by the recipient or the carrier",
        "El destinatario bloqueó los mensajes.",
        "The recipient blocked messages.",
    ),
    21211: _C(
        _F.INVALID_NUMBER,
        "invalid 'To' phone number",
        "El número no es válido.",
        "The number is not valid.",
    ),
    21407: _C(_F.INVALID_NUMBER, "this number type does not support SMS"),
    21612: _C(
        _F.INVALID_NUMBER,
        "'To' is not reachable by SMS from this sender",
        "El proveedor no puede enviar a este número.",
        "The provider cannot send to this number.",
    ),
    21614: _C(
        _F.INVALID_NUMBER,
        "'To' is not a valid mobile number",
        "El número no es un celular.",
        "The number is not a mobile phone.",
    ),
    30005: _C(
        _F.INVALID_NUMBER,
        "unknown destination handset (the number does not exist)",
        "Número desconocido o que ya no existe.",
        "Unknown number, or it no longer exists.",
    ),
    30006: _C(
        _F.INVALID_NUMBER,
        "landline or unreachable carrier",
        "Línea fija o que no recibe SMS.",
        "A landline, or a line that cannot receive SMS.",
    ),
    # This message can never go as it is; the number stays usable.
    21408: _C(
        _F.MESSAGE_REJECTED,
        "SMS not enabled for the region of 'To' (geo permissions)",
        "El envío a esta región no está habilitado.",
        "Sending to this region is not enabled.",
    ),
    21602: _C(_F.MESSAGE_REJECTED, "message body is required"),
    21604: _C(_F.MESSAGE_REJECTED, "'To' phone number is required"),
    21608: _C(_F.MESSAGE_REJECTED, "'To' is not verified (trial account)"),
    21617: _C(_F.MESSAGE_REJECTED, "message body exceeds 1600 characters"),
    21619: _C(_F.MESSAGE_REJECTED, "message body, media or content SID required"),
    30007: _C(
        _F.MESSAGE_REJECTED,
        "filtered by the carrier as spam",
        "El operador lo filtró como spam.",
        "The carrier filtered it as spam.",
    ),
    # Our account or settings: every message fails until a person fixes it.
    20003: _C(_F.ACCOUNT, "authentication failed (account SID or auth token)"),
    20404: _C(_F.ACCOUNT, "resource not found (wrong account SID)"),
    21212: _C(_F.ACCOUNT, "invalid 'From' number"),
    21603: _C(_F.ACCOUNT, "neither 'From' nor a Messaging Service is set"),
    21606: _C(_F.ACCOUNT, "'From' is not a message-capable number of this account"),
    21659: _C(_F.ACCOUNT, "'From' is not a Twilio number, or a short code's country differs"),
    30002: _C(
        _F.ACCOUNT,
        "the Twilio account is suspended",
        "Cuenta del proveedor suspendida.",
        "The provider account is suspended.",
    ),
    # WhatsApp cannot carry this message to this person; SMS can (sent once by SMS).
    63003: _C(
        _F.WRONG_CHANNEL,
        "WhatsApp could not find the 'To' address (not on WhatsApp)",
        "El número no tiene WhatsApp; se envió por SMS.",
        "The number has no WhatsApp; sent by SMS instead.",
    ),
    63007: _C(
        _F.WRONG_CHANNEL,
        "no WhatsApp sender with the 'From' address (sender not approved or set up)",
        "El remitente de WhatsApp no está aprobado; se envió por SMS.",
        "The WhatsApp sender is not approved; sent by SMS instead.",
    ),
    63015: _C(_F.WRONG_CHANNEL, "WhatsApp sandbox: the recipient has not joined the sandbox"),
    63016: _C(
        _F.WRONG_CHANNEL,
        "free-form WhatsApp message outside the 24-hour window (use a template)",
        "Fuera de la ventana de 24 horas de WhatsApp; se envió por SMS.",
        "Outside WhatsApp's 24-hour window; sent by SMS instead.",
    ),
    63024: _C(_F.WRONG_CHANNEL, "invalid WhatsApp message recipient"),
    63112: _C(_F.WRONG_CHANNEL, "the Meta business account behind the WhatsApp sender is disabled"),
    63018: _C(_F.TRANSIENT, "WhatsApp rate limit exceeded for this sender"),
    # Waiting and retrying is the right move.
    14107: _C(_F.TRANSIENT, "SMS send rate limit exceeded"),
    20429: _C(_F.TRANSIENT, "too many requests"),
    20500: _C(_F.TRANSIENT, "Twilio internal error"),
    20503: _C(_F.TRANSIENT, "Twilio service unavailable"),
    30001: _C(
        _F.TRANSIENT,
        "queue overflow",
        "Cola del proveedor llena; no se envió.",
        "The provider's queue was full; not sent.",
    ),
    30003: _C(
        _F.TRANSIENT,
        "unreachable handset (off or out of coverage)",
        "Teléfono apagado o fuera de cobertura.",
        "Phone switched off or out of coverage.",
    ),
    30008: _C(
        _F.TRANSIENT, "unknown error", "Error desconocido del operador.", "Unknown carrier error."
    ),
    30009: _C(_F.TRANSIENT, "missing segment"),
    30017: _C(_F.TRANSIENT, "carrier network congestion"),
    30022: _C(_F.TRANSIENT, "US A2P 10DLC rate limit"),
    30034: _C(
        _F.TRANSIENT,
        "sender not registered for this route",
        "Remitente no registrado para este destino.",
        "Sender not registered for this route.",
    ),
}


def _words(code: int, entry: _C | None, language: str) -> str:
    spanish = language == "es"
    said = None if entry is None else (entry.spanish if spanish else entry.english)
    return said or (f"Código {code}" if spanish else f"Code {code}")


def explain_twilio_error(code: int | None, language: str = "en") -> ProviderError:
    """The class and meaning of a Twilio error code (None: no code was given), with the
    words for people in ``language`` ("es" or "en"; None without a code)."""
    if code is None:
        return ProviderError(None, SmsFailure.TRANSIENT, "no error code", None)
    entry = CODES.get(code)
    if entry is None:
        return ProviderError(
            code,
            SmsFailure.TRANSIENT,
            "a Twilio error code not listed",
            _words(code, None, language),
        )
    return ProviderError(code, entry.failure, entry.meaning, _words(code, entry, language))
