"""Validation against CDISC's ODM 1.3.2 XSD as shipped in odmlib (offline)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import odmlib  # type: ignore[import-untyped]  # no stubs
from lxml import etree

XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def assert_valid_odm(text: str | bytes) -> etree._Element:
    data = text.encode("utf-8") if isinstance(text, str) else text
    doc = etree.fromstring(data)
    schema = _schema()
    if not schema.validate(doc):
        raise AssertionError("\n".join(str(e) for e in schema.error_log))
    return doc
