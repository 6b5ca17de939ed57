"""One logging set-up for every process: ``serve``, ``worker`` and the CLI.

Why one place: Litestar and uvicorn both like to configure logging themselves, and
the redaction filter used to sit on a handler that ``Litestar()`` replaced, so the
``serve`` log (and uvicorn's access log with its query strings) printed phone
numbers. Here the root logger gets the only handler; uvicorn's loggers lose theirs
and propagate to it; Litestar is told not to touch logging (``logging_config=None``
in ``create_app``) and uvicorn too (``log_config=None``). The handler carries:

* ``SecretRedactingFilter``: phone numbers (masked), e-mail addresses (domain
  kept), bearer tokens and keys
  (``fu_…``, ``edc_…``, ``Bearer …``), and ``password``/``code``/``token``/``body``
  values in query strings, form bodies and JSON, in the message *and* in the
  traceback text;
* ``AccessLogFilter``: uvicorn's access line keeps the path and the query's keys
  but not its values;
* ``RequestIdFilter``: the request id of the request being served (``-`` outside one).

``LOG_FORMAT=json`` writes one JSON object a line (for a log shipper); the default
``text`` is readable on a terminal. ``LOG_LEVEL`` sets the root level.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from service.adapters.redaction import PhoneRedactingFilter, redact_phones
from service.web.request_id import current_request_id

__all__ = ["AccessLogFilter", "SecretRedactingFilter", "configure_logging", "redact_secrets"]

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # e-mail addresses (staff logins, echoed in tracebacks): keep the domain only
    (re.compile(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"), r"***@\1"),
    (re.compile(r"\b(fu|edc)_[A-Za-z0-9_\-]{8,}"), r"\1_***"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1***"),
    (
        re.compile(r"(?i)\b(password|code|token|access_token|body|authorization)=([^&\s\"']+)"),
        r"\1=***",
    ),
    (
        re.compile(
            r"(?i)([\"'](?:password|code|token|access_token|body|authorization)[\"']\s*:\s*)"
            r"([\"'])(?:\\.|(?!\2).)*\2"
        ),
        r"\1\2***\2",
    ),
)


def redact_secrets(text: str) -> str:
    """Phones masked, tokens and secret-looking values replaced by ``***``."""
    text = redact_phones(text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretRedactingFilter(PhoneRedactingFilter):
    """The phone filter, widened to tokens, codes, passwords and message bodies."""

    def redact(self, text: str) -> str:
        return redact_secrets(text)


def _strip_query_values(path: str) -> str:
    parts = urlsplit(path)
    if not parts.query:
        return path
    keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return parts.path + "?" + "&".join(f"{key}=…" for key in keys)


class AccessLogFilter(logging.Filter):
    """uvicorn's access record is (client, method, path with query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            args = list(record.args)
            if len(args) >= 3 and isinstance(args[2], str):
                args[2] = _strip_query_values(args[2])
                record.args = tuple(args)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def build_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    # Order matters: shorten the access line, then redact, then stamp the id.
    handler.addFilter(AccessLogFilter())
    handler.addFilter(SecretRedactingFilter())
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    return handler


def configure_logging(
    log_format: str = "text", level: str = "INFO", *, stream: TextIO | None = None
) -> logging.Handler:
    """Make the root handler the only one; idempotent, safe to call again."""
    handler = build_handler(log_format, stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    # The twilio SDK logs every request's URL and query (phone numbers) at INFO.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # APScheduler says "Running job …" at INFO every time the dispatcher wakes.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler
