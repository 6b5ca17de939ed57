"""The vendored front-end files are exactly the ones their README lists.

The README's checksums are the record of what was copied from which npm package; a
file edited by hand, added without a line or left behind by a refresh fails here.
"""

from __future__ import annotations

import hashlib
import re

from service.web.static_files import STATIC_DIR

VENDOR = STATIC_DIR / "vendor"
LINE = re.compile(r"^([0-9a-f]{64})  \./(\S+)$")


def _listed() -> dict[str, str]:
    text = (VENDOR / "README.md").read_text(encoding="utf-8")
    section = text.split("## Checksums (sha256)", 1)[1]
    found = {}
    for line in section.splitlines():
        match = LINE.match(line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def test_every_vendored_file_is_listed_with_its_sha256() -> None:
    on_disk = {
        path.relative_to(VENDOR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "README.md"
    }
    assert on_disk, "no vendored files"
    assert _listed() == on_disk


def test_each_package_keeps_its_licence() -> None:
    for package in ("htmx.org", "axe-core", "swagger-ui-dist"):
        assert (VENDOR / package / "LICENSE").is_file(), package
