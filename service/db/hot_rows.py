"""The inbox's hottest reads and writes as statements built once (decision 0113).

Why: profiling one inbound message's understanding showed the ORM building each
statement (filters resolved, a pypika query rendered) costing more than the
database running it, a dozen times a message. Here each statement's text is built
once per model, condition and dialect and kept; what differs from the ORM is only
who writes the text:

* rows become model instances exactly as the ORM's own select makes them
  (``Model._init_from_db`` on the driver's row), so callers keep using the instance
  (``save``, attributes) as before;
* parameters are encoded by the fields' own ``to_db_value``, as the ORM's filters and
  inserts encode them, so a datetime compares as the stored text on SQLite;
* conditions are written with ``?`` placeholders and column names, and become
  ``$1 …`` on PostgreSQL;
* ``FOR UPDATE`` is added on PostgreSQL only (SQLite has no row locks; its writer
  lock is taken by ``service.db.locks``), as ``select_for_update`` does.

Every statement runs on the model's current connection (the caller's transaction).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from tortoise.models import Model

from service.db.insert_once import row_values

__all__ = [
    "any_row",
    "encode",
    "encoded_all",
    "first_row",
    "first_rows",
    "in_list",
    "insert_row",
    "update_row",
    "values_of",
]

M = TypeVar("M", bound=Model)
_PLACEHOLDER = re.compile(r"\?")
_STATEMENTS: dict[tuple[Any, ...], str] = {}


def encode(model: type[Model], field: str, value: Any) -> Any:
    """``value`` as the ORM sends it for ``model.field`` (filters and inserts alike)."""
    return model._meta.fields_map[field].to_db_value(value, model)


def _postgres(db: Any) -> bool:
    return bool(db.capabilities.dialect == "postgres")


def _numbered(sql: str, postgres: bool) -> str:
    if not postgres:
        return sql
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def _columns(model: type[Model]) -> list[str]:
    return list(model._meta.fields_db_projection.values())


def _cached(key: tuple[Any, ...], build: Any) -> str:
    sql = _STATEMENTS.get(key)
    if sql is None:
        sql = _STATEMENTS[key] = build()
    return sql


async def first_rows(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "",
    limit: int = 1,
    for_update: bool = False,
) -> list[M]:
    """The first ``limit`` rows of ``model`` matching ``where`` (``?`` placeholders,
    encoded ``params``) in ``order_by``, as the ORM's queryset returns them."""
    db: Any = model._meta.db
    postgres = _postgres(db)

    def build() -> str:
        columns = ",".join(f'"{c}"' for c in _columns(model))
        sql = f'SELECT {columns} FROM "{model._meta.db_table}" WHERE {where}'  # noqa: S608
        if order_by:
            sql += f" ORDER BY {order_by}"
        sql += f" LIMIT {int(limit)}"
        if for_update and postgres:
            sql += " FOR UPDATE"
        return _numbered(sql, postgres)

    sql = _cached(("first", model, where, order_by, limit, for_update, postgres), build)
    _, rows = await db.execute_query(sql, list(params))
    return [model._init_from_db(**row) for row in rows]


async def first_row(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "",
    for_update: bool = False,
) -> M | None:
    """The first row matching ``where``, as the ORM's ``.first()`` returns it."""
    rows = await first_rows(model, where, params, order_by=order_by, for_update=for_update)
    return rows[0] if rows else None


async def values_of(
    model: type[Model], column: str, where: str, params: Sequence[Any]
) -> list[Any]:
    """One column of every row matching ``where``, as the driver returns it."""
    db: Any = model._meta.db
    postgres = _postgres(db)
    sql = _cached(
        ("values", model, column, where, postgres),
        lambda: _numbered(
            f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE {where}',  # noqa: S608
            postgres,
        ),
    )
    _, rows = await db.execute_query(sql, list(params))
    return [row[0] for row in rows]


async def any_row(model: type[Model], where: str, params: Sequence[Any]) -> bool:
    """Whether a row matches ``where`` (``SELECT 1 … LIMIT 1``, as ``.exists()``)."""
    db: Any = model._meta.db
    postgres = _postgres(db)
    sql = _cached(
        ("exists", model, where, postgres),
        lambda: _numbered(
            f'SELECT 1 FROM "{model._meta.db_table}" WHERE {where} LIMIT 1',  # noqa: S608
            postgres,
        ),
    )
    _, rows = await db.execute_query(sql, list(params))
    return bool(rows)


async def insert_row(model: type[Model], values: Mapping[str, Any]) -> None:
    """Insert one row from field values (encoded here; fields left out take their
    declared default, None when nullable), as ``Model.create`` writes it."""
    meta = model._meta
    db: Any = meta.db
    postgres = _postgres(db)
    fields = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]

    def build() -> str:
        columns = ",".join(f'"{meta.fields_db_projection[name]}"' for name in fields)
        marks = ",".join("?" for _ in fields)
        return _numbered(f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})', postgres)  # noqa: S608

    sql = _cached(("insert", model, postgres), build)
    await _write(db, sql, row_values(model, fields, values))


async def update_row(model: type[Model], pk: Any, values: Mapping[str, Any]) -> None:
    """``UPDATE … SET`` the given fields (encoded here) of the row ``pk``, as
    ``instance.save(update_fields=…)`` writes them (no auto-now fields are touched
    unless given)."""
    meta = model._meta
    db: Any = meta.db
    postgres = _postgres(db)
    names = tuple(values)

    def build() -> str:
        sets = ",".join(f'"{meta.fields_db_projection[name]}"=?' for name in names)
        pk_column = meta.fields_db_projection[meta.pk_attr]
        return _numbered(f'UPDATE "{meta.db_table}" SET {sets} WHERE "{pk_column}"=?', postgres)  # noqa: S608

    sql = _cached(("update", model, names, postgres), build)
    await _write(
        db,
        sql,
        [*(encode(model, name, values[name]) for name in names), encode(model, meta.pk_attr, pk)],
    )


async def _write(db: Any, sql: str, params: list[Any]) -> None:
    """A write whose answer nobody reads. In a transaction on SQLite it waits to travel
    with the transaction's next statement or its COMMIT (``sqlite_client``, decision
    0123): a trip to the database's thread fewer. Anywhere else it is sent now."""
    later = getattr(db, "write_later", None)
    if later is None:
        await db.execute_query(sql, params)
    else:
        later(sql, params)


def in_list(count: int) -> str:
    """``(?, ?, …)`` for an ``IN`` of ``count`` values."""
    return "(" + ",".join("?" for _ in range(count)) + ")"


def encoded_all(model: type[Model], field: str, values: Iterable[Any]) -> list[Any]:
    return [encode(model, field, v) for v in values]
