"""Inserting a row unless one with the same unique key exists, in one statement.

``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`` (SQLite 3.35+, PostgreSQL)
replaces the look-up, savepoint, insert and release that an idempotent create
otherwise needs (the savepoint keeps a lost race from aborting the caller's
transaction; here there is no error to recover from). Only a conflict on ``key`` is
ignored: any other constraint still raises, as with ``Model.create``.
"""

from __future__ import annotations

from typing import Any

from pypika_tortoise import Table
from tortoise.models import Model

__all__ = ["insert_unless_exists"]


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
    if db.capabilities.dialect == "postgres":  # its execute_query drops an INSERT's rows
        row = await db.execute_insert(sql, values)
    else:
        _, rows = await db.execute_query(sql, values)
        row = rows[0] if rows else None
    if row is None:
        return False
    instance.pk = row[pk_column]
    instance._saved_in_db = True
    return True


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
