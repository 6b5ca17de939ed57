"""The one base every request body derives from.

Every request struct forbids unknown fields: a typo, or a field the service must
never hold (a treatment arm, a kit number, a dose), is refused with a 400 that names
it, instead of being silently dropped. Named ``StrictBody`` rather than ``Request`` so
it never shadows ``litestar.Request`` in a controller that needs both.
"""

from __future__ import annotations

import msgspec


class StrictBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass
