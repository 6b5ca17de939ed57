"""What a re-plan reads of a participant's message rows, and how it builds new ones:
both in bulk and without ORM objects where those would cost more than the planning.

Rows a re-plan may change (``planned``, ``in_app``, ``cancelled``) are read whole as
plain :class:`PlannedRow` objects; of the others only their keys (never planned again)
and, for the last two days, when they left (they count against the daily budget).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any, cast

from tortoise import connections
from tortoise.exceptions import IntegrityError

from service.db.models import OutboundMessage
from service.domain.states import PARTICIPANT_KINDS, MessageStatus

PLANNED_KINDS = tuple(PARTICIPANT_KINDS)
# Rows the planner may still change; anything else has been handed to the provider.
MUTABLE_STATUSES = (MessageStatus.PLANNED, MessageStatus.IN_APP, MessageStatus.CANCELLED)
# Rows that have left (or are leaving): they count against the day's budget.
LEFT = (
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
)
# What a re-plan compares (reading whole rows costs more than planning them).
READ = (
    "id",
    "participant_id",
    "dedupe_key",
    "status",
    "version",
    "attempts",
    "send_at",
    "sent_at",
    "expires_at",
    "params",
    "message_key",
    "language",
    "revision",
    "skip_reason",
)


@dataclass(slots=True)
class PlannedRow:
    """A row a re-plan may change, as read (the ``READ`` columns, in order): a plain
    object, because building ORM objects cost more than planning them."""

    id: int
    participant_id: int
    dedupe_key: str
    status: str
    version: int
    attempts: int
    send_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    params: dict[str, Any]
    message_key: str
    language: str
    revision: str | None
    skip_reason: str | None


_TEMPLATE: dict[str, Any] = {}


def new_row(**values: Any) -> OutboundMessage:
    """``OutboundMessage(**values)`` for a re-plan's new rows, five times cheaper: the
    instance state of one built the ordinary way, then each value converted as the
    ORM's own constructor converts it (tested equal in tests/integration/outbox)."""
    if not _TEMPLATE:
        _TEMPLATE.update(vars(OutboundMessage(**values)))
    fields = OutboundMessage._meta.fields_map
    row = OutboundMessage.__new__(OutboundMessage)
    state = row.__dict__
    state.update(_TEMPLATE)
    state["_await_when_save"] = {}
    for name, value in values.items():
        state[name] = fields[name].to_python_value(value)
    return row


@dataclass(slots=True)
class Inserts:
    """New rows as the database takes them: the INSERT statement and each row's
    values, converted before the transaction that executes them (converting is most
    of a first plan's write, and need not hold any lock)."""

    sql: str = ""
    values: list[Sequence[Any]] = field(default_factory=list)

    def extend(self, other: Inserts) -> None:
        self.sql = self.sql or other.sql
        self.values.extend(other.values)

    async def execute(self) -> None:
        """Insert them on the current connection (the caller's transaction), without
        the ORM's ``RETURNING "id"`` (nothing reads the ids back), a few statements
        for many rows. PostgreSQL takes them with ``COPY`` (decision 0129): a row of
        the study's first plan went in at 23-26 us, against 33-35 us as one
        ``INSERT`` over one array per column (``unnest``), and 100 us or more once per
        row (decision 0112). ``COPY`` fires the same triggers and checks the same keys
        as an ``INSERT``. SQLite takes one multi-row ``VALUES`` (0126)."""
        if not self.values:
            return
        conn = connections.get("default")
        sql = self.sql.removesuffix(_RETURNING)
        if conn.capabilities.dialect == "postgres":
            await _copy(conn, sql, self.values)
            return
        # As many rows a statement as SQLite's parameters allow: the single-row
        # statement executed once per row (executemany) took twice as long.
        rows = max(1, _SQLITE_PARAMETERS // len(self.values[0]))
        for start in range(0, len(self.values), rows):
            part = self.values[start : start + rows]
            await conn.execute_query(_multi_row(sql, len(part)), [v for row in part for v in row])


_RETURNING = ' RETURNING "id"'
# SQLite's default limit on a statement's parameters (999 before 3.32.0).
_SQLITE_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
# The ORM's single-row INSERT: its table, its columns and its row of placeholders
# (``?`` on SQLite, ``$1`` on PostgreSQL).
_SINGLE_ROW = re.compile(r'^INSERT INTO "(\w+)" \(([^)]*)\) VALUES (\((?:(?:\?|\$\d+),?)+\))$')


def _single_row(sql: str) -> re.Match[str]:
    found = _SINGLE_ROW.match(sql)
    if found is None:
        raise ValueError(f"not a single-row INSERT: {sql}")
    return found


def _multi_row(sql: str, count: int) -> str:
    """``INSERT … VALUES (?, …)`` as the same INSERT of ``count`` rows (SQLite)."""
    row = _single_row(sql)
    return sql[: row.start(3)] + ",".join([row.group(3)] * count)


async def _copy(conn: Any, sql: str, values: list[Sequence[Any]]) -> None:
    """The rows of single-row ``sql`` with ``COPY`` into the table and columns it
    names, a broken key raised as the ORM raises it from an ``INSERT``
    (``IntegrityError``)."""
    import asyncpg  # PostgreSQL's driver, installed with the service

    found = _single_row(sql)
    names = [name.strip().strip('"') for name in found.group(2).split(",")]
    try:
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(found.group(1), records=values, columns=names)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc


# Converted once per distinct value, kept by the value itself: a column holds one type
# (a datetime converts to UTC, so equal instants convert alike). Other values (bools,
# whose equality with ints would mix them) are kept by type and value.
_PLAIN = frozenset({str, int, datetime, type(None)})
_SCALARS = (str, int, bool, type(None), datetime)
_CONVERTED_MAX = 200_000  # distinct values kept converted (a study's dates and texts)


@dataclass(slots=True)
class _Column:
    """A column each row gives: its place in the statement, and the values converted
    so far (None for a unique column, whose every value is new)."""

    place: int
    name: str
    field: Any
    known: dict[Any, Any] | None
    bound: Callable[[Any], Any]  # what the driver binds (SQLite adapts datetimes itself)


@dataclass(slots=True)
class _Statement:
    """The ORM's INSERT for rows naming the same fields, with what converting a row
    needs: the values common to every row (defaults), the columns the ORM stamps
    (``auto_now``, ``auto_now_add``: stamped again each call, as each ``bulk_create``
    stamps them) and the columns each row gives. Built once per process and dialect."""

    sql: str
    reference: OutboundMessage
    template: list[Any]
    stamped: list[tuple[int, str, Any]]
    varying: list[_Column]

    def forget_if_full(self) -> None:
        known = [c.known for c in self.varying if c.known is not None]
        if sum(map(len, known)) >= _CONVERTED_MAX:
            for values in known:
                values.clear()


_STATEMENTS: dict[tuple[str, tuple[str, ...]], _Statement] = {}


def _statement(first: dict[str, Any]) -> _Statement:
    """The statement for rows like ``first``: the ORM's own (its bulk query's steps,
    without executing) and its own conversions of the values a row does not give,
    without the columns the ORM would set to NULL that the database sets to NULL
    anyway. On SQLite each parameter bound costs, NULL or not: into a plain table of
    35 columns, rows with 20 of them NULL went in at a third of the speed of the
    same rows without them (a planned row names 19 of its 35)."""
    dialect = connections.get("default").capabilities.dialect
    key = (dialect, tuple(first))
    if key in _STATEMENTS:
        return _STATEMENTS[key]
    sqlite = dialect == "sqlite"
    reference = new_row(**first)
    query = OutboundMessage.bulk_create([reference])
    query._choose_db_if_not_chosen(True)
    query._executor = query._db.executor_class(model=OutboundMessage, db=query._db)
    query._objects = [reference]
    columns = query._executor.regular_columns
    omit = query._analyze_db_default_fields(columns)
    fields = OutboundMessage._meta.fields_map
    stamps = {
        name
        for name in columns
        if getattr(fields[name], "auto_now", False) or getattr(fields[name], "auto_now_add", False)
    }
    common = {
        name: fields[name].to_db_value(getattr(reference, name), reference)
        for name in columns
        if name not in omit
    }
    omit |= {
        name
        for name, value in common.items()
        if value is None
        and name not in first
        and name not in stamps
        and not fields[name].has_db_default()
    }
    sql, _ = query._make_queries(omit)
    made = _Statement(sql, reference, [], [], [])
    for n, name in enumerate(c for c in columns if c not in omit):
        column = fields[name]
        made.template.append(common[name])
        if name in stamps:
            made.stamped.append((n, name, column))
        elif name in first:
            known: dict[Any, Any] | None = None if column.unique else {}
            made.varying.append(_Column(n, name, column, known, _bound if sqlite else _same))
    _STATEMENTS[key] = made
    return made


def _bound(value: Any) -> Any:
    """``value`` as sqlite3 binds it: a type it does not bind itself goes through the
    adapter registered for it (``datetime``: ``isoformat(" ")``). Adapted once per
    distinct value here instead of once per row at bind time, where the four
    timestamps of a row cost about a quarter of its insert."""
    adapt = sqlite3.adapters.get((type(value), sqlite3.PrepareProtocol))
    return value if adapt is None else adapt(value)


def _same(value: Any) -> Any:
    return value


def _kept_by(value: Any) -> Any:
    """The key a converted value other than a plain one is kept by (None: not kept).
    Params (a flat dict of texts) by their items, in order: the JSON follows it."""
    if isinstance(value, _SCALARS):
        return (type(value), value)
    if isinstance(value, dict) and all(isinstance(v, _SCALARS) for v in value.values()):
        return (dict, tuple(value.items()))
    return None


def _converted(column: _Column, given: list[Any], reference: OutboundMessage) -> list[Any]:
    """A column's values for every row, as the ORM converts them, each distinct value
    converted once (and kept for the next call, unless the column is unique)."""
    field_, as_bound = column.field, column.bound

    def convert(value: Any) -> Any:
        return as_bound(field_.to_db_value(field_.to_python_value(value), reference))

    known = column.known
    if known is None:
        return [convert(value) for value in given]
    if set(map(type, given)) <= _PLAIN:
        for value in dict.fromkeys(given):
            if value not in known:
                known[value] = convert(value)
        return list(map(known.__getitem__, given))
    out = []
    for value in given:
        key = _kept_by(value)
        if key is None:
            out.append(convert(value))
            continue
        if key not in known:
            known[key] = convert(value)
        out.append(known[key])
    return out


def insert_values(rows: list[dict[str, Any]]) -> Inserts:
    """What ``OutboundMessage.bulk_create([new_row(**values) for values in rows])``
    executes, as :class:`Inserts`, without building the rows: the ORM's statement and
    its conversions, a column at a time. A study's rows share their dates, texts and
    params, so each distinct value is converted once a process (a unique column's,
    once a row). ``rows`` all name the same fields."""
    if not rows:
        return Inserts()
    made = _statement(rows[0])
    made.forget_if_full()
    reference = made.reference
    count = len(rows)
    columns: list[Any] = [repeat(value, count) for value in made.template]
    for n, name, column in made.stamped:  # as the ORM stamps the first row, now
        if name in rows[0]:
            setattr(reference, name, column.to_python_value(rows[0][name]))
        columns[n] = repeat(column.to_db_value(getattr(reference, name), reference), count)
    for column in made.varying:
        columns[column.place] = _converted(column, [row[column.name] for row in rows], reference)
    return Inserts(made.sql, list(zip(*columns, strict=True)))


@dataclass(slots=True)
class PlanRows:
    """What a re-plan needs of a participant's rows: the ones it may change (whole),
    the keys of the others (never planned again), and when the recent ones that left
    went (they count against the daily budget of the days still planned)."""

    mutable: list[PlannedRow] = field(default_factory=list)
    settled_keys: set[str] = field(default_factory=set)
    gone: list[datetime] = field(default_factory=list)


_BUDGET_LOOKBACK = timedelta(days=2)  # plans start at now: older sends share no local day


def _moment(value: Any) -> datetime | None:
    """A timestamp as the driver returns it (text on SQLite) as an aware datetime:
    ``datetime.fromisoformat`` is ten times cheaper than the ORM's own parsing."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str | bytes) else dict(value or {})


def _listed(values: Sequence[str]) -> str:
    """Fixed texts of the code (statuses, kinds) as an SQL list: literals, not user data."""
    return ", ".join(f"'{value}'" for value in values)


# One statement reads all of a chunk's rows of the planned kinds, whatever their status,
# through the participant index: a status condition would let PostgreSQL choose the
# status index when its statistics still say few rows are planned (decision 0130).
# Only rows a re-plan may change come whole; of the others, their key and, for those
# that left since the budget's cut, when they left.
_KEYS = ("participant_id", "dedupe_key", "status")  # read for every row, first
_LEFT_AT = "COALESCE(sent_at, send_at)"
_MUTABLE = f"status IN ({_listed(MUTABLE_STATUSES)})"
_PLAN_ROWS = (
    "SELECT participant_id, dedupe_key, status,"  # noqa: S608  # constants; ids are ints
    f" CASE WHEN status IN ({_listed(LEFT)}) AND {_LEFT_AT} >= {{cut}} THEN {_LEFT_AT} END,"
    + ",".join(f" CASE WHEN {_MUTABLE} THEN {name} END" for name in READ if name not in _KEYS)
    + " FROM outbound_message WHERE participant_id IN ({ids})"
    f" AND kind IN ({_listed(PLANNED_KINDS)})"
)


async def read_plan_rows(participant_ids: list[int], now: datetime) -> dict[int, PlanRows]:
    """The planned kinds' rows of ``participant_ids``, in one statement whatever their
    number: only rows a re-plan may change are read whole."""
    found = {pid: PlanRows() for pid in participant_ids}
    if not participant_ids:
        return found
    conn = connections.get("default")
    cut = now - _BUDGET_LOOKBACK
    sql = _PLAN_ROWS.format(
        cut="$1" if conn.capabilities.dialect == "postgres" else "?",
        ids=", ".join(str(int(pid)) for pid in participant_ids),
    )
    bound = OutboundMessage._meta.fields_map["sent_at"].to_db_value(cut, OutboundMessage)
    _, rows = await conn.execute_query(sql, [bound])
    mutable = frozenset(MUTABLE_STATUSES)
    for values in rows:
        plan_rows = found[int(values[0])]
        if values[2] not in mutable:
            plan_rows.settled_keys.add(str(values[1]))
            if values[3] is not None:
                plan_rows.gone.append(cast(datetime, _moment(values[3])))
            continue
        plan_rows.mutable.append(
            PlannedRow(
                int(values[4]),
                int(values[0]),
                str(values[1]),
                str(values[2]),
                int(values[5]),
                int(values[6]),
                cast(datetime, _moment(values[7])),
                _moment(values[8]),
                _moment(values[9]),
                _json(values[10]),
                str(values[11]),
                str(values[12]),
                values[13],
                values[14],
            )
        )
    return found
