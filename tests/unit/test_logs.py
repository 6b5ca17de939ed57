"""The log set-up's filters: secrets redacted, access lines without query values."""

from __future__ import annotations

import io
import json
import logging

from service.logs import build_handler, redact_secrets
from service.web.request_id import current_request_id


def test_secrets_are_redacted() -> None:
    text = (
        "token fu_AbCdEfGh12345678 key edc_ZyXwVu98765432 Authorization: Bearer abc.def "
        'POST body=Hola+mundo&code=123456&password=hunter2 {"code": "654321", '
        '"password": "p\\"w", "body": "tengo fiebre"} to +56 9 6123 4567'
    )
    out = redact_secrets(text)
    for secret in (
        "AbCdEfGh12345678",
        "ZyXwVu98765432",
        "abc.def",
        "Hola",
        "123456",
        "hunter2",
        "654321",
        "tengo fiebre",
        "6123 4567",
    ):
        assert secret not in out, secret
    assert "fu_***" in out and "+56 9 **** **67" in out
    assert redact_secrets("login ana.perez@uandes.cl failed") == "login ***@uandes.cl failed"


def test_access_line_keeps_keys_not_values_and_stamps_the_request_id() -> None:
    stream = io.StringIO()
    handler = build_handler("json", stream)
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    logger.propagate = False
    level = logger.level
    logger.setLevel(logging.INFO)
    token = current_request_id.set("req-1234abcd")
    try:
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/api/v1/participants?site=CUA&phone=%2B56961234567",
            "1.1",
            200,
        )
    finally:
        current_request_id.reset(token)
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(level)
    line = json.loads(stream.getvalue())
    assert line["request_id"] == "req-1234abcd"
    assert "site=…&phone=…" in line["message"]
    assert "56961234567" not in line["message"]


def test_text_format_is_one_readable_line() -> None:
    stream = io.StringIO()
    handler = build_handler("text", stream)
    record = logging.LogRecord(
        "service.x", logging.INFO, __file__, 1, "sent to %s", ("+56961234567",), None
    )
    handler.handle(record)
    out = stream.getvalue()
    assert out.count("\n") == 1 and "INFO service.x [-] sent to +56 9 **** **67" in out
