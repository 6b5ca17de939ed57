"""The security headers of every dashboard answer, error pages included.

No page of the dashboard may be framed (clickjacking a form), sniffed into another
type, or leak its URL (study ids) to another site. The Content-Security-Policy
allows only the service's own files: scripts from /static (htmx), no inline script
and no inline style, so text that slipped past escaping still could not run. htmx's
own inline indicator style is switched off in ``base.html``. The browser tests run
axe-core through the DevTools protocol, which a policy does not block.

Litestar adds a router's ``response_headers`` to the answers of its handlers, not to
the answers of exception handlers; the error pages add ``SECURITY_HEADERS`` themselves.
"""

from __future__ import annotations

from typing import Final

from litestar.datastructures import ResponseHeader

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADER_VALUES: Final = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

SECURITY_HEADERS: Final = [
    ResponseHeader(name=name, value=value) for name, value in SECURITY_HEADER_VALUES.items()
]
