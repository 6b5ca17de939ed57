"""Bad configuration stops start-up with one line naming the variable."""

from __future__ import annotations

import pytest

from service.settings import ConfigError, load_settings

GOOD = {"DATABASE_URL": "sqlite://:memory:", "SECRET_KEY": "x" * 40}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"SMS_BACKEND": "pigeon"}, "SMS_BACKEND"),
        ({"SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID"),
        ({"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN"),
        (
            {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
            "TWILIO_MESSAGING_SERVICE_SID",
        ),
        ({"PUBLIC_BASE_URL": "ftp://x"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_API_BASE_URL": "nonsense"}, "TWILIO_API_BASE_URL"),
        ({"STUDY_FILE": "/nope.toml"}, "STUDY_FILE"),
        ({"SMS_FOLD_TO_GSM": "perhaps"}, "SMS_FOLD_TO_GSM"),
        ({"SMS_RATE_PER_SECOND": "-1"}, "SMS_RATE_PER_SECOND"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": "postgres://u@h/db", "SECRET_KEY": ""}, "SECRET_KEY"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.1,proxy.local"}, "FORWARDED_ALLOW_IPS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**GOOD, **env})
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message


def test_twilio_settings_accepted() -> None:
    settings = load_settings(
        {
            **GOOD,
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "token",
            "TWILIO_FROM_NUMBER": "+56900000000",
        }
    )
    assert settings.sms_backend == "twilio"
    assert settings.twilio_api_base_url == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDCAP_API_URL": "https://redcap.example.org/api/"}, "REDCAP_API_TOKEN"),
        ({"REDCAP_API_TOKEN": "ABC"}, "REDCAP_API_URL"),
        (
            {"REDCAP_API_URL": "https://redcap.example.org/", "REDCAP_API_TOKEN": "A"},
            "REDCAP_API_URL",
        ),
        ({"REDCAP_API_URL": "redcap/api/", "REDCAP_API_TOKEN": "A"}, "REDCAP_API_URL"),
        ({"EDC_PUSH_INTERVAL_MINUTES": "0"}, "EDC_PUSH_INTERVAL_MINUTES"),
    ],
)
def test_bad_redcap_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({**GOOD, **env})


def test_redcap_settings() -> None:
    plain = load_settings(GOOD)
    assert (plain.redcap_api_url, plain.redcap_api_token, plain.edc_push_interval_minutes) == (
        None,
        None,
        15,
    )
    env = {"REDCAP_API_URL": "https://redcap.uandes.cl/api", "REDCAP_API_TOKEN": "T" * 32,
           "EDC_PUSH_INTERVAL_MINUTES": "5"}  # fmt: skip
    settings = load_settings({**GOOD, **env})
    assert settings.redcap_api_url == "https://redcap.uandes.cl/api/"
    assert settings.edc_push_interval_minutes == 5


def test_forwarded_headers_are_trusted_from_nobody_by_default() -> None:
    from service.cli import uvicorn_options

    default = load_settings(GOOD)
    assert default.forwarded_allow_ips == ()
    assert uvicorn_options(default)["proxy_headers"] is False
    assert uvicorn_options(default)["log_config"] is None
    proxied = load_settings({**GOOD, "FORWARDED_ALLOW_IPS": "10.0.0.5, 192.168.0.0/24"})
    assert proxied.forwarded_allow_ips == ("10.0.0.5", "192.168.0.0/24")
    options = uvicorn_options(proxied)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.5", "192.168.0.0/24"]


def test_log_settings_defaults() -> None:
    settings = load_settings(GOOD)
    assert (settings.log_format, settings.log_level, settings.metrics_token) == (
        "text",
        "INFO",
        None,
    )
    assert load_settings({**GOOD, "LOG_FORMAT": "JSON"}).log_format == "json"


def test_password_hash_cost_defaults_to_todays_and_is_bounded() -> None:
    assert load_settings(GOOD).password_hash_cost == 14
    assert load_settings({**GOOD, "PASSWORD_HASH_COST": "10"}).password_hash_cost == 10
    for bad in ("9", "18", "fast", "12.5"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**GOOD, "PASSWORD_HASH_COST": bad})
        assert "PASSWORD_HASH_COST" in str(caught.value)


def test_a_hash_keeps_its_own_cost() -> None:
    from service.security import hash_password, verify_password

    cheap, default = hash_password("correct-horse", 10), hash_password("correct-horse")
    assert cheap.split("$")[1] == "1024" and default.split("$")[1] == "16384"
    assert verify_password("correct-horse", cheap) and verify_password("correct-horse", default)
    assert not verify_password("wrong-horse", cheap)
    assert verify_password("correct-horse", hash_password("correct-horse", 17))
