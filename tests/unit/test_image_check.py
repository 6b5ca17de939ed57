"""The image check's log verdict: it must fail on what it exists to catch.

`.ci/image` runs for minutes, so its judgement of serve's logs is tested here on
written lines: a phone number in any spacing, a line that is not JSON, and a missing
clean shutdown fail it; the lines buildah itself adds after the process ends do not.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "image_check.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("image_check", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


image_check = _load()


def _line(message: str) -> str:
    return json.dumps({"time": "2027-01-20T12:00:00+00:00", "level": "INFO", "message": message})


GOOD = [
    _line('127.0.0.1:5000 - "POST /api/v1/participants HTTP/1.1" 201'),
    _line("participant IMG-001 enrolled, phone +56 9 **** **67"),
    _line("Application shutdown complete."),
]


def test_clean_logs_pass_with_buildahs_own_trailer() -> None:
    trailer = ["subprocess exited on terminated", "subprocess exited with status 1"]
    text = "\n".join([*GOOD, *trailer, "Error: exit status 1"])
    assert image_check.check_logs(text) == len(GOOD)


@pytest.mark.parametrize("phone", ["+56961234567", "+56 9 6123 4567", "9-6123-4567"])
def test_a_phone_number_in_any_spacing_fails(phone: str) -> None:
    with pytest.raises(image_check.CheckFailed, match="phone number"):
        image_check.check_logs("\n".join([*GOOD, _line(f"sent to {phone}")]))


def test_a_line_that_is_not_json_fails() -> None:
    with pytest.raises(image_check.CheckFailed, match="not JSON"):
        image_check.check_logs("\n".join([*GOOD[:1], "INFO plain text", *GOOD[1:]]))


def test_no_clean_shutdown_fails() -> None:
    with pytest.raises(image_check.CheckFailed, match="shut down"):
        image_check.check_logs("\n".join(GOOD[:2]))
