"""Per-participant summary rows: the dashboard's figures kept, not recounted.

Counting every participant's visits, prompts and answers on each request (``_counted``)
made the pages' cost grow with the study. A ``dashboard_summary`` row holds one
participant's figures (check-in completion overall and in the site's two months, each
visit's state and month, the list's rates and overdue flag) as of ``as_of``, and is
good until whichever comes first:

* ``valid_until``: the next instant the figures change by time alone, known from the
  schedule copies (a prompt's answer window closing, a visit window opening or
  closing) or the site's month turning (the month buckets);
* a write to the participant, its visit outcomes or its check-ins: database triggers
  append the participant's id to ``dashboard_written`` in the writer's transaction
  (migration 0034); the next refresh drops the rows of the participants named there
  and the names it saw (a write committed after the refresh read leaves its name for
  the next one);
* another fingerprint (protocol revision or holidays) or a clock before ``as_of``.

Each page first refreshes what is stale (``refresh``: stale rows deleted, found by
index, and their sites noted as gaps; then, only at its sites with a gap, the schedule
copies of participants left without a row and one statement per site inserting the
missing rows with the same definitions as ``_counted``), then reads the rows: the
overview sums one row per participant, the list reads the first rows of its order's
index. The rows are derived: emptying the table is always safe (as long as a gap is
noted for every site), and no audit entry is written for them (docs/decisions/0103,
0111).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.actions.views import _sql
from service.actions.views._counted import _ANSWERS, _ASKED, _PARTICIPANTS, Months
from service.actions.views._queries import Scope
from service.actions.views._schedules import GAP_EVERY_SITE, MATCH, fingerprint, sync_schedules
from service.domain.adherence import CheckinCompletion, MonthPeriods
from service.runtime import Runtime

__all__ = [
    "SiteSums",
    "VisitCount",
    "counting_months",
    "forget_summaries",
    "forget_written",
    "refresh",
    "site_sums",
]

# One letter per visit state in ``visits`` (a row's text: "position code letter bucket"
# per visit, comma-separated).
_LETTER = {
    "attended_in_window": "i",
    "attended_out_of_window": "o",
    "missed": "m",
    "cancelled": "c",
    "upcoming": "u",
    "due": "d",
}
_STATE = {letter: state for state, letter in _LETTER.items()}
_SETTLED = frozenset({"attended_in_window", "attended_out_of_window", "missed"})

# Participants of one site with no summary row.
_MISSING = (
    "p.site_id = ? AND NOT EXISTS (SELECT 1 FROM dashboard_summary d WHERE d.participant_id = p.id)"
)
_CELLS = """
o AS (
  SELECT participant_id, visit_code, status, date FROM (
    SELECT vo.participant_id, vo.visit_code, vo.status, vo.date,
           ROW_NUMBER() OVER (PARTITION BY vo.participant_id, vo.visit_code
                              ORDER BY vo.recorded_at DESC, vo.id DESC) AS newest
    FROM visit_outcome vo JOIN p ON p.id = vo.participant_id
  ) x WHERE newest = 1
),
cell AS (
  SELECT pid, position, code, recorded, state,
    CAST(position AS TEXT) || ' ' || code || ' ' || (CASE state
      WHEN 'attended_in_window' THEN 'i' WHEN 'attended_out_of_window' THEN 'o'
      WHEN 'missed' THEN 'm' WHEN 'cancelled' THEN 'c' WHEN 'upcoming' THEN 'u'
      ELSE 'd' END) || ' ' || CAST(bucket AS TEXT) AS item
  FROM (
    SELECT p.id AS pid, v.position, v.code, o.status AS recorded,
      CASE
        WHEN o.status = 'missed' THEN 'missed'
        WHEN o.status IS NOT NULL AND o.date >= v.window_start AND o.date <= v.window_end
          THEN 'attended_in_window'
        WHEN o.status IS NOT NULL THEN 'attended_out_of_window'
        WHEN p.ended_at IS NOT NULL AND p.ended_at < v.closes_at THEN 'cancelled'
        WHEN ? < v.opens_at THEN 'upcoming'
        WHEN ? < v.closes_at THEN 'due'
        ELSE 'missed'
      END AS state,
      CASE WHEN v.target_date >= ? AND v.target_date < ? THEN 1
           WHEN v.target_date >= ? AND v.target_date < ? THEN 2 ELSE 0 END AS bucket
    FROM p JOIN dashboard_schedule_visit v ON v.schedule_key = p.schedule_key
    LEFT JOIN o ON o.participant_id = p.id AND o.visit_code = v.code
  ) y
)"""
_COLUMNS = (
    "participant_id, site_id, study_id, fingerprint, as_of, valid_until,"
    " expected, completed, late, longest, expected_this, completed_this, late_this,"
    " longest_this, expected_last, completed_last, late_last, longest_last,"
    " visits, in_window, settled, overdue, checkin_rate, visit_rate"
)
_SETTLED_SQL = "state IN ('attended_in_window', 'attended_out_of_window', 'missed')"
_INSERT = """
WITH {head}, {cells}, {answers}, {asked},
part AS (SELECT pid, streak, bucket, COUNT(*) AS n, SUM(done) AS d, SUM(late) AS l
         FROM run GROUP BY pid, streak, bucket),
whole AS (SELECT pid, SUM(n) AS n, SUM(d) AS d, SUM(l) AS l FROM part GROUP BY pid, streak),
chk AS (SELECT pid, SUM(n) AS n, SUM(d) AS d, SUM(l) AS l, MAX(n - d) AS r
        FROM whole GROUP BY pid),
mon AS (
  SELECT pid,
    SUM(CASE WHEN bucket = 1 THEN n ELSE 0 END) AS n1,
    SUM(CASE WHEN bucket = 1 THEN d ELSE 0 END) AS d1,
    SUM(CASE WHEN bucket = 1 THEN l ELSE 0 END) AS l1,
    MAX(CASE WHEN bucket = 1 THEN n - d ELSE 0 END) AS r1,
    SUM(CASE WHEN bucket = 2 THEN n ELSE 0 END) AS n2,
    SUM(CASE WHEN bucket = 2 THEN d ELSE 0 END) AS d2,
    SUM(CASE WHEN bucket = 2 THEN l ELSE 0 END) AS l2,
    MAX(CASE WHEN bucket = 2 THEN n - d ELSE 0 END) AS r2
  FROM part GROUP BY pid
),
vis AS (
  SELECT pid, {items} AS visits,
    SUM(CASE WHEN state = 'attended_in_window' THEN 1 ELSE 0 END) AS in_window,
    SUM(CASE WHEN {settled} THEN 1 ELSE 0 END) AS settled,
    MAX(CASE WHEN state = 'missed' AND recorded IS NULL THEN 1 ELSE 0 END) AS overdue
  FROM (SELECT * FROM cell ORDER BY pid, position) z GROUP BY pid
),
nq AS (
  SELECT q.schedule_key, MIN(q.expires_at) AS at FROM dashboard_schedule_prompt q
  WHERE q.expires_at > ? AND q.schedule_key IN (SELECT schedule_key FROM p)
  GROUP BY q.schedule_key
),
nv AS (
  SELECT v.schedule_key,
         MIN(CASE WHEN v.opens_at > ? THEN v.opens_at ELSE v.closes_at END) AS at
  FROM dashboard_schedule_visit v
  WHERE v.closes_at > ? AND v.schedule_key IN (SELECT schedule_key FROM p)
  GROUP BY v.schedule_key
)
INSERT INTO dashboard_summary ({columns})
SELECT p.id, p.site_id, p.study_id, {text}, {instant},
  {least}(COALESCE(nq.at, {instant}), COALESCE(nv.at, {instant}), {instant}),
  COALESCE(chk.n, 0), COALESCE(chk.d, 0), COALESCE(chk.l, 0), COALESCE(chk.r, 0),
  COALESCE(mon.n1, 0), COALESCE(mon.d1, 0), COALESCE(mon.l1, 0), COALESCE(mon.r1, 0),
  COALESCE(mon.n2, 0), COALESCE(mon.d2, 0), COALESCE(mon.l2, 0), COALESCE(mon.r2, 0),
  COALESCE(vis.visits, ''), COALESCE(vis.in_window, 0), COALESCE(vis.settled, 0),
  CASE WHEN COALESCE(vis.overdue, 0) = 1 THEN TRUE ELSE FALSE END,
  CASE WHEN COALESCE(chk.n, 0) = 0 THEN 2.0
       ELSE CAST(chk.d AS {{real}}) / chk.n END,
  CASE WHEN COALESCE(vis.settled, 0) = 0 THEN 2.0
       ELSE CAST(vis.in_window AS {{real}}) / vis.settled END
FROM p LEFT JOIN chk ON chk.pid = p.id LEFT JOIN mon ON mon.pid = p.id
LEFT JOIN vis ON vis.pid = p.id
LEFT JOIN nq ON nq.schedule_key = p.schedule_key
LEFT JOIN nv ON nv.schedule_key = p.schedule_key
WHERE 1 = 1
ON CONFLICT (participant_id) DO NOTHING"""

# Stale rows: past their validity, from before the clock, of other schedule copies, or
# of a participant written about (or gone). Each term is an index's range (the
# fingerprint's inequality spelled as two), read apart (as one ``OR``, SQLite without
# statistics read every row), so the rows are found without reading the others. On
# PostgreSQL the names are taken and the rows dropped from one snapshot (a name
# committed later stays for the next refresh); on SQLite, which has one writer at a
# time, in one transaction. In the same snapshot or transaction, each site that lost a
# row or has a named participant (who may have none: enrolled, or moved there) gets a
# new gap (replacing its older ones, so a site nobody reads keeps one): its missing
# rows are looked for by the next refresh of the site, and only then.
_STALE = (
    "SELECT participant_id FROM dashboard_summary WHERE valid_until <= ?"
    " UNION ALL SELECT participant_id FROM dashboard_summary WHERE as_of > ?"
    " UNION ALL SELECT participant_id FROM dashboard_summary WHERE fingerprint < ?"
    " UNION ALL SELECT participant_id FROM dashboard_summary WHERE fingerprint > ?"
)
_NAMED = "participant_id IN (SELECT participant_id FROM dashboard_written)"
_DROP_POSTGRES = """
WITH written AS (DELETE FROM dashboard_written RETURNING participant_id),
dropped AS (
  DELETE FROM dashboard_summary
  WHERE participant_id = ANY (ARRAY({stale} SELECT participant_id FROM written))
  RETURNING site_id
),
gone AS (
  SELECT site_id FROM dropped
  UNION SELECT p.site_id FROM participant p WHERE p.id IN (SELECT participant_id FROM written)
),
noted AS (
  INSERT INTO dashboard_summary_gap (site_id) SELECT site_id FROM gone RETURNING id, site_id
),
older AS (DELETE FROM dashboard_summary_gap g WHERE g.site_id IN (SELECT site_id FROM gone))
SELECT n.named, x.site_id, x.id FROM (SELECT COUNT(*) AS named FROM written) n
LEFT JOIN (
  SELECT site_id, MAX(id) AS id FROM (
    SELECT id, site_id FROM noted
    UNION ALL SELECT id, site_id FROM dashboard_summary_gap
    WHERE site_id NOT IN (SELECT site_id FROM gone)
  ) y GROUP BY site_id
) x ON TRUE"""
# Constants only (S608 is a false alarm).
_DROP_SQLITE = (
    "INSERT INTO dashboard_summary_gap (site_id)"  # noqa: S608
    " SELECT site_id FROM dashboard_summary WHERE {stale} " + _NAMED + " UNION"
    " SELECT site_id FROM participant WHERE id IN (SELECT participant_id FROM dashboard_written)",
    "DELETE FROM dashboard_summary WHERE {stale} " + _NAMED,  # noqa: S608
    "DELETE FROM dashboard_written",
    "DELETE FROM dashboard_summary_gap WHERE id < (SELECT MAX(g.id) FROM dashboard_summary_gap g"
    " WHERE g.site_id = dashboard_summary_gap.site_id)",
)
_GAPS = "SELECT site_id, MAX(id) AS id FROM dashboard_summary_gap GROUP BY site_id"


async def _drop(stale: list[Any] | None) -> dict[str, int]:
    """Drop the summary rows of participants written about, take the names, note the
    gaps; with ``stale`` (now, now, fingerprint, fingerprint), drop the stale rows too.
    Every site's newest gap."""
    params = stale or []
    if _sql.dialect().postgres:
        # An array of ids, which PostgreSQL looks up by the key (with ``IN`` it would
        # rather read every row, expecting a third of them from each range).
        condition = f"{_STALE} UNION ALL" if stale else ""
        rows = await _sql.fetch(_DROP_POSTGRES.format(stale=condition), params)
    else:
        condition = f"participant_id IN ({_STALE}) OR" if stale else ""
        gap, drop, written, older = (text.format(stale=condition) for text in _DROP_SQLITE)
        await _sql.atomically([(gap, params), (drop, params), (written, []), (older, [])])
        rows = await _sql.fetch(_GAPS, [])
    return {str(r["site_id"]): int(r["id"]) for r in rows if r["site_id"] is not None}


def counting_months(months: MonthPeriods) -> Months:
    """The site's two months as ``_counted`` takes them."""
    this, last = months.this, months.last
    return Months(
        this.start, this.end, last.start, last.end, this.month, this.month_after, last.month
    )


def _insert_sql(postgres: bool) -> str:
    head = _PARTICIPANTS.format(match=MATCH, where=_MISSING)
    items = "string_agg(item, ',' ORDER BY position)" if postgres else "group_concat(item, ',')"
    return _INSERT.format(
        head=head,
        cells=_CELLS,
        answers=_ANSWERS,
        asked=_ASKED,
        items=items,
        settled=_SETTLED_SQL,
        columns=_COLUMNS,
        least="LEAST" if postgres else "MIN",
        # PostgreSQL types a parameter alone in a select list as text
        text="CAST(? AS VARCHAR)" if postgres else "?",
        instant="CAST(? AS TIMESTAMPTZ)" if postgres else "?",
    )


async def refresh(
    rt: Runtime, scope: Scope, now: datetime, sites: Sequence[tuple[str, Months]]
) -> str:
    """Bring the summary rows of ``sites``' participants (of ``scope``) up to date at
    ``now``: one statement deleting every stale row and noting the sites that may lack
    rows (on SQLite a transaction of four and a read of the gaps); then, only for those
    of ``sites`` with a gap, the schedule copies of their participants left without a
    row (one statement, three more when anchors are new), one statement per site
    inserting the missing rows and one removing the gaps seen. With no gap, nothing
    after the first: the page reads what is there. The fingerprint."""
    fp = fingerprint(rt.protocol, rt.non_working)
    gaps = await _drop([now, now, fp, fp])
    todo = [(site, m) for site, m in sites if site in gaps]
    if not todo:
        return fp
    await sync_schedules(rt, scope, unsummarized=True, sites=[site for site, _ in todo])
    text = _insert_sql(_sql.dialect().postgres)
    for site, m in todo:
        params = [
            fp,
            site,
            now,
            now,
            m.this_month,
            m.next_month,
            m.last_month,
            m.this_month,
            m.this_start,
            m.this_end,
            m.last_start,
            m.last_end,
            now,
            now,
            now,
            now,
            fp,
            now,
            m.this_end,
            m.this_end,
            m.this_end,
        ]
        await _sql.execute(text, params)
    # A gap noted after these were read is newer (a higher id) and stays.
    seen = " OR ".join("(site_id = ? AND id <= ?)" for _ in todo)
    await _sql.execute(
        f"DELETE FROM dashboard_summary_gap WHERE {seen}",  # noqa: S608  # placeholders only
        [value for site, _ in todo for value in (site, gaps[site])],
    )
    return fp


async def forget_written() -> int:
    """Drop the summary rows of participants written about, and the names (noting the
    gaps): what each page does first, run periodically as well so that the names, one
    row a write, never pile up while nobody opens the dashboard. Returns how many names
    there were (on SQLite counted just before, for the log)."""
    if _sql.dialect().postgres:
        rows = await _sql.fetch(_DROP_POSTGRES.format(stale=""), [])
        return int(rows[0]["named"])
    count = await _sql.fetch("SELECT COUNT(*) AS n FROM dashboard_written", [])
    await _drop(None)
    return int(count[0]["n"])


async def forget_summaries() -> None:
    """Empty the summary rows (the next read of each scope recomputes them)."""
    await _sql.atomically([("DELETE FROM dashboard_summary", []), (GAP_EVERY_SITE, [])])


@dataclass(frozen=True, slots=True)
class VisitCount:
    code: str
    position: int
    state: str
    count: int
    settled_this: int
    in_window_this: int
    settled_last: int
    in_window_last: int


@dataclass(frozen=True, slots=True)
class SiteSums:
    visits: list[VisitCount]  # by position, then state
    checkins: CheckinCompletion
    checkins_this: CheckinCompletion
    checkins_last: CheckinCompletion


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _completion(row: Mapping[str, Any], suffix: str) -> CheckinCompletion:
    expected, completed = _int(row["n" + suffix]), _int(row["d" + suffix])
    late = _int(row["l" + suffix])
    return CheckinCompletion(expected, completed, completed - late, late, _int(row["r" + suffix]))


async def site_sums(site: str) -> SiteSums:
    """The site's visit and check-in figures, from the totals that triggers keep of
    its (fresh) summary rows (decisions 0114 and 0128): three statements, a row per
    visit state the site's participants are in now, the check-in sums, and the
    longest runs of misses; none returns more rows as the study grows."""
    items = await _sql.fetch(
        "SELECT item, k FROM dashboard_site_visit_items WHERE site_id = ? AND k > 0", [site]
    )
    totals = await _sql.fetch(
        "SELECT SUM(n) AS n, SUM(d) AS d, SUM(l) AS l, SUM(n1) AS n1, SUM(d1) AS d1,"
        " SUM(l1) AS l1, SUM(n2) AS n2, SUM(d2) AS d2, SUM(l2) AS l2"
        " FROM dashboard_site_visits WHERE site_id = ?",
        [site],
    )
    longest = await _sql.fetch(
        "SELECT which, MAX(longest) AS r FROM dashboard_site_longest"
        " WHERE site_id = ? AND k > 0 GROUP BY which",
        [site],
    )
    sums: Counter[str] = Counter({f"r{row['which']}": _int(row["r"]) for row in longest})
    for name, value in totals[0].items():
        sums[name] += _int(value)
    counts: Counter[tuple[int, str, str]] = Counter()
    months: Counter[tuple[int, str, str, str]] = Counter()
    for row in items:
        at, name, letter, bucket = str(row["item"]).split(" ")
        key, k = (int(at), name, _STATE[letter]), int(row["k"])
        counts[key] += k
        if bucket != "0":
            months[(*key, bucket)] += k
    visits = []
    for (position, code, state), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        settled = state in _SETTLED
        inside = state == "attended_in_window"
        this = months[(position, code, state, "1")]
        last = months[(position, code, state, "2")]
        visits.append(
            VisitCount(
                code,
                position,
                state,
                n,
                this if settled else 0,
                this if inside else 0,
                last if settled else 0,
                last if inside else 0,
            )
        )
    return SiteSums(visits, _completion(sums, ""), _completion(sums, "1"), _completion(sums, "2"))
