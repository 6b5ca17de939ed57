"""Typed settings, read once from the environment.

A service that starts with a half-valid configuration fails later, at 3 a.m., in a
way nobody can read. So every variable is checked here, at start-up, and the first
fault stops the process with one line naming the variable and what is wrong.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from service.security import DEFAULT_PASSWORD_HASH_COST

DEFAULT_DATABASE_URL = "sqlite://data/followup.sqlite3"
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration fault; ``str()`` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"configuration error: {variable} {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    study_file: Path
    sms_backend: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_messaging_service_sid: str | None
    twilio_from_number: str | None
    twilio_api_base_url: str
    public_base_url: str
    secret_key: str
    sms_fold_to_gsm: bool
    sms_rate_per_second: float
    dispatch_interval_s: int
    token_ttl_hours: int
    # EDC feed (REDCap push): both or neither; the push runs only when configured.
    redcap_api_url: str | None = None
    redcap_api_token: str | None = None
    edc_push_interval_minutes: int = 15
    forwarded_allow_ips: tuple[str, ...] = ()
    log_format: str = "text"
    log_level: str = "INFO"
    metrics_token: str | None = None
    # scrypt's N = 2**password_hash_cost for new password hashes (service.security).
    password_hash_cost: int = DEFAULT_PASSWORD_HASH_COST
    # Dashboard sessions end after this much inactivity, and in any case this many
    # hours after sign-in (service.actions.access).
    dashboard_idle_minutes: int = 30
    dashboard_session_hours: int = 12
    # WhatsApp: the sender (E.164, without the ``whatsapp:`` prefix), or the Messaging
    # Service's own WhatsApp sender; neither means nothing goes out by WhatsApp.
    twilio_whatsapp_from: str | None = None
    whatsapp_via_messaging_service: bool = False
    whatsapp_templates_file: Path = REPO_ROOT / "schedules" / "whatsapp-templates.toml"

    @property
    def whatsapp_enabled(self) -> bool:
        """A WhatsApp sender is configured: WhatsApp participants get WhatsApp."""
        return self.twilio_whatsapp_from is not None or self.whatsapp_via_messaging_service

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")

    @property
    def is_embedded(self) -> bool:
        """The laptop default: SQLite, console SMS; allowed to self-migrate."""
        return self.is_sqlite

    def tortoise_config(self) -> dict[str, object]:
        return tortoise_config(self.database_url)


def tortoise_config(database_url: str) -> dict[str, object]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "followup": {
                "models": [
                    "service.db.models",
                    "service.db.access_models",
                    "service.db.edc_models",
                ],
                "default_connection": "default",
                "migrations": "service.db.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum:g}, got {raw!r}")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(name, f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _database_url(env: Mapping[str, str]) -> str:
    value = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
        raise ConfigError(
            "DATABASE_URL",
            f"must start with sqlite:// or postgres://, got {scheme or value!r}",
        )
    return value


def _secret_key(env: Mapping[str, str], database_url: str) -> str:
    value = env.get("SECRET_KEY")
    if value:
        if len(value) < 32:
            raise ConfigError("SECRET_KEY", "must be at least 32 characters")
        return value
    if not database_url.startswith("sqlite://"):
        raise ConfigError("SECRET_KEY", "is required outside the embedded SQLite default")
    return _embedded_secret(database_url)


def _embedded_secret(database_url: str) -> str:
    """Keep a generated key beside the SQLite file so tokens survive restarts."""
    path_part = database_url.removeprefix("sqlite://")
    folder = Path(path_part).parent if path_part not in {":memory:", ""} else Path("data")
    key_file = folder / "secret_key"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            "SECRET_KEY", f"unset, and {key_file} cannot be kept: {exc.strerror or exc}"
        ) from None


def _redcap(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    url, token = env.get("REDCAP_API_URL") or None, env.get("REDCAP_API_TOKEN") or None
    if bool(url) != bool(token):
        missing = "REDCAP_API_TOKEN" if url else "REDCAP_API_URL"
        raise ConfigError(missing, "is required when the other REDCap variable is set")
    if url:
        url = _url(env, "REDCAP_API_URL", url)
        if not url.endswith("/api"):
            raise ConfigError(
                "REDCAP_API_URL", "must be the project's API endpoint, ending in /api/"
            )
        url += "/"
    return url, token


def _forwarded_allow_ips(env: Mapping[str, str]) -> tuple[str, ...]:
    """Proxies whose X-Forwarded-For is believed; none by default.

    A client that may name its own address defeats every per-address limit, so the
    header counts only when it comes from an address listed here (IPs or networks,
    comma-separated; ``*`` trusts everybody, only sensible behind a proxy that owns
    the only way in).
    """
    raw = (env.get("FORWARDED_ALLOW_IPS") or "").strip()
    if not raw:
        return ()
    entries = tuple(part.strip() for part in raw.split(",") if part.strip())
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                "FORWARDED_ALLOW_IPS", f"must list IP addresses or networks, got {entry!r}"
            ) from None
    return entries


def _choice(env: Mapping[str, str], name: str, default: str, choices: set[str]) -> str:
    value = (env.get(name) or default).strip()
    if value.lower() not in {c.lower() for c in choices}:
        raise ConfigError(name, f"must be one of {', '.join(sorted(choices))}, got {value!r}")
    return value


def _metrics_token(env: Mapping[str, str]) -> str | None:
    value = env.get("METRICS_TOKEN") or None
    if value is not None and len(value) < 32:
        raise ConfigError("METRICS_TOKEN", "must be at least 32 characters")
    return value


def _password_hash_cost(env: Mapping[str, str]) -> int:
    """log2 of scrypt's N. 14 (16 MiB a hash) is the default and the floor a deployment
    should keep; down to 10 is accepted for test suites, which hash a password for every
    staff login they simulate. Above 17 a login costs more memory than it is worth."""
    raw = env.get("PASSWORD_HASH_COST") or ""
    if raw == "":
        return DEFAULT_PASSWORD_HASH_COST
    if not raw.strip().isdigit() or not 10 <= int(raw) <= 17:
        raise ConfigError("PASSWORD_HASH_COST", f"must be a whole number 10-17, got {raw!r}")
    return int(raw)


def _whatsapp(env: Mapping[str, str], service_sid: str | None) -> tuple[str | None, bool, Path]:
    """The WhatsApp sender and the templates file (checked against the protocol by
    the composition root, which knows the keys it would send)."""
    raw = (env.get("TWILIO_WHATSAPP_FROM") or "").strip()
    sender = raw.removeprefix("whatsapp:") or None
    if sender is not None and not re.fullmatch(r"\+[1-9]\d{6,14}", sender):
        raise ConfigError(
            "TWILIO_WHATSAPP_FROM",
            f"must be whatsapp: and an E.164 number, e.g. whatsapp:+56229999999, got {raw!r}",
        )
    via_service = _bool(env, "WHATSAPP_VIA_MESSAGING_SERVICE", False)
    if via_service and not service_sid:
        raise ConfigError("WHATSAPP_VIA_MESSAGING_SERVICE", "needs TWILIO_MESSAGING_SERVICE_SID")
    templates = Path(
        env.get("WHATSAPP_TEMPLATES_FILE") or REPO_ROOT / "schedules" / "whatsapp-templates.toml"
    )
    if (sender or via_service) and not templates.is_file():
        raise ConfigError(
            "WHATSAPP_TEMPLATES_FILE", f"points to {str(templates)!r}, which is not a file"
        )
    return sender, via_service, templates


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    database_url = _database_url(env)
    study_file = Path(env.get("STUDY_FILE") or REPO_ROOT / "schedules" / "msc-role.toml")
    if not study_file.is_file():
        raise ConfigError("STUDY_FILE", f"points to {str(study_file)!r}, which is not a file")
    sms_backend = (env.get("SMS_BACKEND") or "console").strip().lower()
    if sms_backend not in {"console", "twilio"}:
        raise ConfigError("SMS_BACKEND", f"must be console or twilio, got {sms_backend!r}")
    sid = env.get("TWILIO_ACCOUNT_SID") or None
    token = env.get("TWILIO_AUTH_TOKEN") or None
    service_sid = env.get("TWILIO_MESSAGING_SERVICE_SID") or None
    from_number = env.get("TWILIO_FROM_NUMBER") or None
    if sms_backend == "twilio":
        if not sid:
            raise ConfigError("TWILIO_ACCOUNT_SID", "is required with SMS_BACKEND=twilio")
        if not sid.startswith("AC"):
            raise ConfigError("TWILIO_ACCOUNT_SID", "must start with AC")
        if not token:
            raise ConfigError("TWILIO_AUTH_TOKEN", "is required with SMS_BACKEND=twilio")
        if not service_sid and not from_number:
            raise ConfigError(
                "TWILIO_MESSAGING_SERVICE_SID",
                "or TWILIO_FROM_NUMBER is required with SMS_BACKEND=twilio",
            )
        if service_sid and not service_sid.startswith("MG"):
            raise ConfigError("TWILIO_MESSAGING_SERVICE_SID", "must start with MG")
    redcap_url, redcap_token = _redcap(env)
    whatsapp_from, whatsapp_via_service, templates_file = _whatsapp(env, service_sid)
    return Settings(
        database_url=database_url,
        study_file=study_file,
        sms_backend=sms_backend,
        twilio_account_sid=sid,
        twilio_auth_token=token,
        twilio_messaging_service_sid=service_sid,
        twilio_from_number=from_number,
        twilio_api_base_url=_url(env, "TWILIO_API_BASE_URL", "https://api.twilio.com"),
        public_base_url=_url(env, "PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        secret_key=_secret_key(env, database_url),
        sms_fold_to_gsm=_bool(env, "SMS_FOLD_TO_GSM", True),
        sms_rate_per_second=_number(env, "SMS_RATE_PER_SECOND", 10.0, minimum=0),
        dispatch_interval_s=int(_number(env, "DISPATCH_INTERVAL_SECONDS", 30, minimum=1)),
        token_ttl_hours=int(_number(env, "TOKEN_TTL_HOURS", 12, minimum=1)),
        redcap_api_url=redcap_url,
        redcap_api_token=redcap_token,
        edc_push_interval_minutes=int(_number(env, "EDC_PUSH_INTERVAL_MINUTES", 15, minimum=1)),
        forwarded_allow_ips=_forwarded_allow_ips(env),
        log_format=_choice(env, "LOG_FORMAT", "text", {"text", "json"}).lower(),
        log_level=_choice(env, "LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}).upper(),
        metrics_token=_metrics_token(env),
        password_hash_cost=_password_hash_cost(env),
        dashboard_idle_minutes=int(_number(env, "DASHBOARD_IDLE_MINUTES", 30, minimum=1)),
        dashboard_session_hours=int(_number(env, "DASHBOARD_SESSION_HOURS", 12, minimum=1)),
        twilio_whatsapp_from=whatsapp_from,
        whatsapp_via_messaging_service=whatsapp_via_service,
        whatsapp_templates_file=templates_file,
    )
