"""The one ORM failure the web layer answers itself: a value a column cannot hold
(too long, out of range), which Tortoise raises on save and the API answers with a
400 naming the field. Named here so that nothing outside ``service.db`` and the
subject packages imports the ORM (the import contracts in pyproject.toml).
"""

from __future__ import annotations

from tortoise.exceptions import ValidationError as ColumnValueInvalid

__all__ = ["ColumnValueInvalid"]
