"""Inserting a row unless one with the same unique key exists, in one statement.

``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`` (SQLite 3.35+, PostgreSQL)
replaces the look-up, savepoint, insert and release that an idempotent create
otherwise needs (the savepoint keeps a lost race from aborting the caller's
transaction; here there is no error to recover from). Only a conflict on ``key`` is
ignored: any other constraint still raises, as with ``Model.create``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pypika_tortoise import Table
from tortoise.models import Model

__all__ = ["insert_unless_exists", "insert_values_unless_exists", "row_values"]


async def insert_unless_exists(instance: Model, key: str) -> bool:
    """Insert ``instance`` unless a row with the same ``key`` column exists; True when
    inserted (``instance`` then has its id and counts as saved), False otherwise (the
    instance is left unsaved: load the existing row if it is needed)."""
    meta = instance._meta
    db: Any = meta.db  # the current transaction's connection, if any
    fields, sql, pk_column = _statement(type(instance), key, db)
    values = [
        meta.fields_map[name].to_db_value(getattr(instance, name), instance) for name in fields
    ]
    row = await _run(db, sql, values)
    if row is None:
        return False
    instance.pk = row[pk_column]
    instance._saved_in_db = True
    return True


async def insert_values_unless_exists(
    model: type[Model], key: str, values: Mapping[str, Any]
) -> int | None:
    """As :func:`insert_unless_exists`, from column values instead of an instance: the
    new row's id, or None when a row with the same ``key`` exists. Fields not in
    ``values`` take their declared default (None when nullable). Why: building a
    model instance cost a quarter of the inbound webhook's own time."""
    meta = model._meta
    db: Any = meta.db
    fields, sql, pk_column = _statement(model, key, db)
    row = await _run(
        db,
        sql,
        row_values(model, fields, values),
    )
    return None if row is None else int(row[pk_column])


def row_values(model: type[Model], fields: Sequence[str], values: Mapping[str, Any]) -> list[Any]:
    """``fields``' values encoded as the ORM writes them; a field left out takes its
    declared default (None when nullable), as ``Model.create`` does."""
    return [
        model._meta.fields_map[name].to_db_value(
            values[name] if name in values else _default(model, name), model
        )
        for name in fields
    ]


def _default(model: type[Model], name: str) -> Any:
    field = model._meta.fields_map[name]
    if field.default is not None:
        return field.default() if callable(field.default) else field.default
    if field.null:
        return None
    raise TypeError(f"{model.__name__}.{name} has no default: give it a value")


async def _run(db: Any, sql: str, values: list[Any]) -> Any:
    """The inserted row's returned columns, or None when the key already existed."""
    if db.capabilities.dialect == "postgres":  # its execute_query drops an INSERT's rows
        return await db.execute_insert(sql, values)
    _, rows = await db.execute_query(sql, values)
    return rows[0] if rows else None


def _statement(model: type[Model], key: str, db: Any) -> tuple[list[str], str, str]:
    """The field names, SQL and primary-key column for ``model`` on ``db``'s dialect,
    built once: building the query cost more than running it (the inbound webhook's
    one statement)."""
    cache_key = (model, key, db.capabilities.dialect)
    cached = _STATEMENTS.get(cache_key)
    if cached is not None:
        return cached
    meta = model._meta
    executor = db.executor_class(model=model, db=db)
    fields = [
        (name, column)
        for name, column in meta.fields_db_projection.items()
        if not meta.fields_map[name].generated
    ]
    pk_column = meta.fields_db_projection[meta.pk_attr]
    query = (
        db.query_class.into(Table(meta.db_table))
        .columns(*[column for _, column in fields])
        .insert(*[executor.parameter(n) for n in range(len(fields))])
        .on_conflict(key)
        .do_nothing()
        .returning(pk_column)
    )
    built = ([name for name, _ in fields], str(query), pk_column)
    _STATEMENTS[cache_key] = built
    return built


_STATEMENTS: dict[tuple[type[Model], str, str], tuple[list[str], str, str]] = {}
