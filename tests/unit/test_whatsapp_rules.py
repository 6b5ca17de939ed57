"""WhatsApp as data and small decisions: the templates file, the window, the channel,
and the start-up check that refuses a WhatsApp set-up its templates do not cover."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.adapters.whatsapp_templates import keys_sent_outside_window, load_whatsapp_templates
from service.domain.protocol_loader import load_protocol
from service.domain.whatsapp import (
    NO_TEMPLATE,
    SMS,
    WHATSAPP,
    WHATSAPP_OFF,
    Template,
    TemplatesError,
    choose_channel,
    parse_templates,
    within_window,
)
from service.settings import REPO_ROOT, ConfigError, load_settings

SHIPPED = REPO_ROOT / "schedules" / "whatsapp-templates.toml"
NOW = datetime(2027, 1, 13, 15, 0, tzinfo=UTC)
ENTRY = {
    "key": "reminder.clinic.week_before",
    "language": "es",
    "content_sid": "HX" + "0" * 32,
    "variables": ["visit", "date", "site", "help_line"],
}


def _one(**changes: Any) -> dict[str, Any]:
    return {"template": [{**ENTRY, **changes}]}


def test_the_shipped_file_covers_every_key_the_protocol_sends_outside_the_window() -> None:
    templates = parse_templates(tomllib.loads(SHIPPED.read_text()))
    keys = keys_sent_outside_window(load_protocol(REPO_ROOT / "schedules" / "msc-role.toml"))
    assert "reminder.infusion.morning" in keys and "checkin.symptoms.weekly" in keys
    assert templates.missing(keys) == []


def test_a_template_fills_its_numbered_variables_in_order() -> None:
    template = parse_templates(_one()).get("reminder.clinic.week_before", "es")
    assert isinstance(template, Template)
    values = {"visit": "Control", "date": "lunes 1", "site": "CUA", "help_line": "+56 2"}
    assert template.content_variables(values) == {
        "1": "Control",
        "2": "lunes 1",
        "3": "CUA",
        "4": "+56 2",
    }


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"key": "reminder.nope"}, "not a message key"),
        ({"language": "fr"}, "language must be"),
        ({"content_sid": "HX123"}, "content_sid"),
        ({"variables": ["visit", "date", "site"]}, "placeholders"),
        ({"variables": ["visit", "date", "site", "help_line", "day"]}, "placeholders"),
        ({"colour": "green"}, "unknown field 'colour'"),
    ],
)
def test_a_bad_template_is_refused_naming_what(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(TemplatesError, match=says):
        parse_templates(_one(**changes))


def test_a_pair_listed_twice_is_refused() -> None:
    with pytest.raises(TemplatesError, match="listed twice"):
        parse_templates({"template": [ENTRY, ENTRY]})


def test_the_window_is_24_hours_from_the_last_message_less_a_margin() -> None:
    assert not within_window(None, NOW)
    assert within_window(NOW - timedelta(hours=23), NOW)
    assert not within_window(NOW - timedelta(hours=23, minutes=58), NOW)
    assert not within_window(NOW - timedelta(hours=25), NOW)


def test_the_channel_follows_choice_opt_in_window_and_template() -> None:
    template = parse_templates(_one()).get("reminder.clinic.week_before", "es")
    ready = {"whatsapp_ready": True}
    assert (
        choose_channel(wants_whatsapp=False, in_window=True, template=template, **ready).channel
        == SMS
    )
    inside = choose_channel(wants_whatsapp=True, in_window=True, template=template, **ready)
    assert (inside.channel, inside.template) == (WHATSAPP, None)
    outside = choose_channel(wants_whatsapp=True, in_window=False, template=template, **ready)
    assert (outside.channel, outside.template) == (WHATSAPP, template)
    bare = choose_channel(wants_whatsapp=True, in_window=False, template=None, **ready)
    assert (bare.channel, bare.fallback_reason) == (SMS, NO_TEMPLATE)
    off = choose_channel(wants_whatsapp=True, whatsapp_ready=False, in_window=True, template=None)
    assert (off.channel, off.fallback_reason) == (SMS, WHATSAPP_OFF)
    again = choose_channel(
        wants_whatsapp=True, in_window=True, template=template, fallen_back=True, **ready
    )
    assert again.channel == SMS  # refused once by WhatsApp: never back to it


def _settings(tmp_path: Path, templates: Path | None = None, **env: str) -> Any:
    base = {
        "DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}",
        "SECRET_KEY": "k" * 40,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+56229999999",
    }
    if templates is not None:
        base["WHATSAPP_TEMPLATES_FILE"] = str(templates)
    return load_settings({**base, **env})


def test_start_up_refuses_templates_that_miss_a_key_and_names_them(tmp_path: Path) -> None:
    partial = tmp_path / "templates.toml"
    kept = [
        b for b in SHIPPED.read_text().split("[[template]]") if "reminder.infusion.morning" not in b
    ]
    partial.write_text("[[template]]".join(kept))
    protocol = load_protocol(REPO_ROOT / "schedules" / "msc-role.toml")
    with pytest.raises(ConfigError) as refused:
        load_whatsapp_templates(_settings(tmp_path, partial), protocol)
    assert str(refused.value) == (
        "configuration error: WHATSAPP_TEMPLATES_FILE has no template for"
        " reminder.infusion.morning (en), reminder.infusion.morning (es)"
    )


def test_without_a_whatsapp_sender_no_templates_are_needed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tmp_path / "absent.toml", TWILIO_WHATSAPP_FROM="")
    assert not settings.whatsapp_enabled
    protocol = load_protocol(REPO_ROOT / "schedules" / "msc-role.toml")
    assert load_whatsapp_templates(settings, protocol).by_key == {}


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TWILIO_WHATSAPP_FROM": "whatsapp:56229"}, "TWILIO_WHATSAPP_FROM must be"),
        ({"WHATSAPP_TEMPLATES_FILE": "/nonexistent.toml"}, "WHATSAPP_TEMPLATES_FILE points"),
        (
            {"TWILIO_WHATSAPP_FROM": "", "WHATSAPP_VIA_MESSAGING_SERVICE": "true"},
            "WHATSAPP_VIA_MESSAGING_SERVICE needs",
        ),
    ],
)
def test_bad_whatsapp_settings_stop_start_up(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        _settings(tmp_path, **env)
