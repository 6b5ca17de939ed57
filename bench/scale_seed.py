"""A study of any size with a year of history, seeded with set-based statements.

Participants go in with one ``executemany``; their history (outcomes, weekly check-ins,
two messages a week, inbound replies every two weeks, alerts, coordinators' queue
items) with one ``INSERT … SELECT`` per table that crosses the new participants with a
number series (a recursive common table expression, which SQLite and PostgreSQL both
run). Timestamps and dates are computed by the database from one fixed "now", so
10,000 participants with a year of history take seconds, not the hours that creating
a million ORM objects would.

The numbers are chosen so every page and figure has something to show: participants at
every point of the first year, about one in four weekly check-ins missed, one message
in four failed, an alert for one participant in seven (half of them open).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tortoise import connections

__all__ = ["seed_study"]

ZONE = "America/Santiago"
MESSAGES = 104  # two a week for a year
CHECKINS = 52  # weekly, for a year
INBOUND = 26  # a reply every two weeks


class _Sql:
    """The few expressions whose spelling differs between the two databases."""

    def __init__(self, dialect: str, now: datetime) -> None:
        self.pg = dialect == "postgres"
        self.now = now.isoformat(sep=" ")
        self.today = now.date().isoformat()

    def hours_before_now(self, hours: str) -> str:
        if self.pg:
            return f"(TIMESTAMPTZ '{self.now}' - ({hours}) * INTERVAL '1 hour')"
        return f"strftime('%Y-%m-%d %H:%M:%f+00:00', '{self.now}', (-1 * ({hours})) || ' hours')"

    def plus_seconds(self, moment: str, seconds: str) -> str:
        if self.pg:
            return f"({moment} + ({seconds}) * INTERVAL '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f+00:00', {moment}, '+' || ({seconds}) || ' seconds')"

    def date_plus_days(self, day: str, days: str) -> str:
        if self.pg:
            return f"({day} + ({days}))"
        return f"date({day}, ({days}) || ' days')"

    def days_since(self, day: str) -> str:
        if self.pg:
            return f"(DATE '{self.today}' - {day})"
        return f"CAST(julianday('{self.today}') - julianday({day}) AS INTEGER)"

    @staticmethod
    def text(expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def boolean(self, condition: str) -> str:
        return f"({condition})" if self.pg else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    def series(self, name: str, count: int) -> str:
        return (
            f"WITH RECURSIVE {name}(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM {name}"  # noqa: S608
            f" WHERE n < {count - 1})"
        )

    def literal_true(self) -> str:
        return "TRUE" if self.pg else "1"


async def _insert_participants(
    sql: _Sql, count: int, *, site: str, prefix: str, now: datetime, phone_offset: int
) -> None:
    conn = connections.get("default")
    mark = "$" if sql.pg else "?"
    columns = (
        "study_id, site_id, phone, language, timezone, can_become_pregnant,"
        " baseline_infusion_date, sms_consent, status, withdrawn_at, opted_out, paused,"
        " sms_blocked_code, created_at, updated_at"
    )
    slots = ", ".join(f"{mark}{i + 1}" if sql.pg else "?" for i in range(15))
    enrolled = now - timedelta(days=370)
    rows = []
    for n in range(count):
        withdrawn = n % 17 == 16
        baseline: date = (now - timedelta(days=10 + (n * 7) % 355)).date()
        rows.append(
            [
                f"{prefix}{n:05d}",
                site,
                f"+569{phone_offset + n:08d}",
                "es",
                ZONE,
                n % 2 == 0,
                baseline if sql.pg else baseline.isoformat(),
                True,
                "withdrawn" if withdrawn else "active",
                (now - timedelta(days=3) if withdrawn else None),
                n % 11 == 10,
                n % 13 == 12,
                30005 if n % 19 == 18 else None,
                enrolled,
                enrolled,
            ]
        )
    if not sql.pg:  # SQLite stores Tortoise's text form
        for row in rows:
            for i in (9, 13, 14):
                if row[i] is not None:
                    row[i] = row[i].isoformat(sep=" ")  # type: ignore[union-attr]
    await conn.execute_many(f"INSERT INTO participant ({columns}) VALUES ({slots})", rows)  # noqa: S608


async def seed_study(
    count: int, *, site: str, prefix: str, now: datetime, phone_offset: int = 0
) -> dict[str, int]:
    """``count`` participants at ``site`` (study ids ``prefix`` + number) with a year of
    history up to ``now``; returns the rows added per table."""
    conn = connections.get("default")
    sql = _Sql(conn.capabilities.dialect, now)
    before = await _counts()
    await _insert_participants(
        sql, count, site=site, prefix=prefix, now=now, phone_offset=phone_offset
    )
    mine = f"p.study_id LIKE '{prefix}%'"
    yes = sql.literal_true()
    since = sql.days_since("p.baseline_infusion_date")
    answered = f"24 * ({since} - 7 * (w.n + 1)) - 2"  # 15:00 UTC on its day (now is 13:00)
    statements = [
        # Screening attended a week before baseline; the first infusion for two in three.
        f"INSERT INTO visit_outcome (participant_id, visit_code, status, date, source,"  # noqa: S608
        f" recorded_by, recorded_at) SELECT p.id, 'SCR', 'attended',"
        f" {sql.date_plus_days('p.baseline_infusion_date', '-7')}, 'staff', 'staff:seed',"
        f" {sql.hours_before_now('24')} FROM participant p WHERE {mine}",
        f"INSERT INTO visit_outcome (participant_id, visit_code, status, date, source,"  # noqa: S608
        f" recorded_by, recorded_at) SELECT p.id, 'INF1', 'attended', p.baseline_infusion_date,"
        f" 'staff', 'staff:seed', {sql.hours_before_now('24')} FROM participant p"
        f" WHERE {mine} AND p.id % 3 <> 0",
        # Weekly check-ins since baseline, one in four missed.
        f"{sql.series('w', CHECKINS)} INSERT INTO checkin (participant_id, checkin_key,"  # noqa: S608
        f" questionnaire, channel, version, answers, raw_texts, complete, late, submitted_at)"
        f" SELECT p.id, 'checkin:symptoms_weekly:' ||"
        f" {sql.text(sql.date_plus_days('p.baseline_infusion_date', '7 * (w.n + 1)'))},"
        f" 'symptoms', CASE WHEN p.id % 2 = 0 THEN 'app' ELSE 'sms' END, 1, '{{}}', '[]',"
        f" {yes}, {sql.boolean('p.id % 5 = 0')},"
        f" {sql.hours_before_now(answered)}"
        f" FROM participant p CROSS JOIN w WHERE {mine} AND (p.id + w.n) % 4 <> 0"
        f" AND 7 * (w.n + 1) <= {sql.days_since('p.baseline_infusion_date')}",
        # Two messages a week for a year: delivered, delivered, sent, failed.
        f"{sql.series('k', MESSAGES)} INSERT INTO outbound_message (participant_id, kind,"  # noqa: S608
        f" purpose, occurrence, dedupe_key, message_key, params, language, send_at, status,"
        f" attempts, priority, version, error_code, sent_at, delivered_at, created_at,"
        f" updated_at) SELECT p.id, 'reminder', 'reminder:seed', {sql.text('k.n')},"
        f" {sql.text('p.id')} || ':seed:' || {sql.text('k.n')}, 'reminder.clinic.week_before',"
        f" '{{}}', 'es', {sql.hours_before_now('84 * k.n + p.id % 5')},"
        f" CASE k.n % 4 WHEN 3 THEN 'failed' WHEN 2 THEN 'sent' ELSE 'delivered' END, 1, 0, 1,"
        f" CASE WHEN k.n % 4 = 3 THEN 30003 END,"
        f" {sql.plus_seconds(sql.hours_before_now('84 * k.n + p.id % 5'), '30 + 7 * (k.n % 10)')},"
        f" CASE WHEN k.n % 4 < 2 THEN"
        f" {sql.plus_seconds(sql.hours_before_now('84 * k.n + p.id % 5'), '35 + 7 * (k.n % 10)')}"
        f" END, {sql.hours_before_now('84 * k.n + p.id % 5 + 24')},"
        f" {sql.hours_before_now('84 * k.n + p.id % 5')}"
        f" FROM participant p CROSS JOIN k WHERE {mine}",
        # A reply every two weeks.
        f"{sql.series('r', INBOUND)} INSERT INTO inbound_message (message_sid, participant_id,"  # noqa: S608
        f" from_phone, body, handling, late, received_at) SELECT"
        f" 'SM' || {sql.text('p.id')} || 'x' || {sql.text('r.n')}, p.id, p.phone, '1',"
        f" 'checkin_answer',"
        f" {sql.boolean('1 = 0')}, {sql.hours_before_now('336 * r.n + 2 + p.id % 7')}"
        f" FROM participant p CROSS JOIN r WHERE {mine}",
        f"INSERT INTO alert (participant_id, site_id, dedupe_key, findings, emergency, status,"  # noqa: S608
        f" raised_at) SELECT p.id, p.site_id, 'seed:' || {sql.text('p.id')}, '[]',"
        f" {sql.boolean('1 = 0')}, CASE WHEN p.id % 2 = 0 THEN 'open' ELSE 'acknowledged' END,"
        f" {sql.hours_before_now('1 + p.id % 48')} FROM participant p WHERE {mine}"
        f" AND p.id % 7 = 0",
        f"INSERT INTO inbox_item (participant_id, site_id, reason, status, created_at)"  # noqa: S608
        f" SELECT p.id, p.site_id, 'not_understood', 'open', {sql.hours_before_now('2')}"
        f" FROM participant p WHERE {mine} AND p.id % 9 = 0",
    ]
    for statement in statements:
        await conn.execute_script(statement)
    if sql.pg:
        # Fresh statistics and visibility, as autovacuum (insert-triggered since
        # PostgreSQL 13) would have them by the time anyone looks; with ANALYZE alone
        # the pages' index-only scans read the heap or not as autovacuum happened to
        # run during the bench, and the overview at 10,000 moved 27-33 ms between runs.
        await conn.execute_script("VACUUM ANALYZE")
    after = await _counts()
    return {table: after[table] - before[table] for table in after}


_TABLES = (
    "participant",
    "visit_outcome",
    "checkin",
    "outbound_message",
    "inbound_message",
    "alert",
    "inbox_item",
)


async def _counts() -> dict[str, int]:
    conn = connections.get("default")
    found = {}
    for table in _TABLES:
        _, rows = await conn.execute_query(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        found[table] = int(next(iter(dict(rows[0]).values())))
    return found
