"""Column helpers shared by the model modules."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from tortoise import fields

__all__ = ["enum_column"]

_E = TypeVar("_E", bound=Enum)


def enum_column(enum: type[_E], **kwargs: Any) -> fields.Field[_E]:
    """A column holding one family of :mod:`service.domain.states`: a VARCHAR of the
    given length, read back as the enum. The description is fixed (the enum's name),
    so adding a member changes no schema; tests/unit/test_states.py checks it fits."""
    return fields.CharEnumField(enum, description=enum.__name__, **kwargs)
