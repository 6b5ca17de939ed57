"""Text that every XML 1.0 reader accepts, for the files other systems parse.

Why: a participant's SMS is kept exactly as received (``inbound_text``), and some
characters it may hold are not allowed anywhere in an XML 1.0 document (the C0
controls other than tab, line feed and carriage return, lone surrogates, U+FFFE and
U+FFFF). One of them in an ODM export made the whole file not well-formed, so every
pull that included the record failed; REDCap, which stores and re-exports as XML,
and spreadsheet files (XLSX is XML inside) break the same way.

:func:`xml_safe` replaces each such character with U+FFFD, the Unicode replacement
character, so a reader sees that something was there. It is applied where text
leaves for another system (ODM, REDCap rows, CSV and XLSX downloads), never to what
is stored: the participant's exact text stays in the database.
"""

from __future__ import annotations

import re

__all__ = ["NOT_XML", "xml_safe"]

# XML 1.0's Char production, negated: #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF].
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", text)
