"""What a provider's delivery error code means, in words a coordinator can act on.

Deliberately small: the codes this trial's messages actually meet (Twilio's
undelivered/failed codes for Chilean mobiles). The adapter owns the full
classification of codes (retry or not, block the number or not); this is only the
sentence shown next to a failed message. An unknown code is shown as its number.
"""

from __future__ import annotations

from typing import Final

__all__ = ["code_meaning"]

# code -> (Spanish, English)
_MEANINGS: Final[dict[int, tuple[str, str]]] = {
    21211: ("El número no es válido.", "The number is not valid."),
    21408: ("El envío a esta región no está habilitado.", "Sending to this region is not enabled."),
    21610: (
        "La persona respondió STOP: no recibe mensajes hasta que envíe START.",
        "The person replied STOP: no messages until they send START.",
    ),
    21612: (
        "El proveedor no puede enviar a este número.",
        "The provider cannot send to this number.",
    ),
    21614: ("El número no es un celular.", "The number is not a mobile phone."),
    30001: ("Cola del proveedor llena; no se envió.", "The provider's queue was full; not sent."),
    30002: ("Cuenta del proveedor suspendida.", "The provider account is suspended."),
    30003: (
        "Teléfono apagado o fuera de cobertura.",
        "Phone switched off or out of coverage.",
    ),
    30004: ("El destinatario bloqueó los mensajes.", "The recipient blocked messages."),
    30005: ("Número desconocido o que ya no existe.", "Unknown number, or it no longer exists."),
    30006: (
        "Línea fija o que no recibe SMS.",
        "A landline, or a line that cannot receive SMS.",
    ),
    30007: ("El operador lo filtró como spam.", "The carrier filtered it as spam."),
    30008: ("Error desconocido del operador.", "Unknown carrier error."),
    30034: ("Remitente no registrado para este destino.", "Sender not registered for this route."),
}


def code_meaning(code: int | None, locale: str = "es") -> str | None:
    """The sentence for ``code`` in ``locale`` ("es" or "en"); None without a code."""
    if code is None:
        return None
    words = _MEANINGS.get(code)
    if words is None:
        return f"Código {code}" if locale == "es" else f"Code {code}"
    return words[0] if locale == "es" else words[1]
