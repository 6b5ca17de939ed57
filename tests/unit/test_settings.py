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
