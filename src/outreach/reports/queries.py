"""The SQL of the coverage report: one statement.

Reading a period of a network's occurrences is the expensive part, so it happens once, in
one statement that returns every grouped figure the report needs (one round trip, no
temporary tables: no catalogue writes, and no statistics-less tables for PostgreSQL's
planner to guess about). Its common table expressions:

- ``span``: the first and last original start of the period's sessions (an index-only
  read of ``occurrence_library_sessions``), which bounds the attendance read: a library's
  attendance of earlier years is never read (with four years of it, a library's report
  took 25 ms instead of 19.5).
- ``occ``: one row per occurrence of the scope (a library, or every library of a network)
  that starts inside the period, draft events left out, classified once: delivered (took
  place before ``as_of``), planned (still to come) or cancelled; its month (a
  parameterised ``CASE`` over month boundaries the application computes in the reporting
  zone, so no date functions are needed); where it happened (in a branch, off-site, at a
  bookmobile stop); its programme seconds (none for all-day sessions) and its attendance
  by age band (delivered sessions only). Attendance is summed per session from the
  scope's rows of the ``span`` only (``attendance_library_start``), never the whole table.
- ``ev``: the same figures summed per event, with the event's visibility, place,
  audiences as a bit mask (bit ``i``: ``AUDIENCES[i]``) and its *signature*: its tags as
  text such as ``,s1:g3,s1:v1,`` (empty: tagged to nothing). Both are columns the database
  keeps on ``event`` (``audience_mask``, ``tag_keys``; migration ``0005_event_profile``),
  so the statement reads them with the event instead of looking up every event's tags
  and audiences.

Events with the same signature serve the same values, goals, themes and SDGs, so the
statement groups events by signature; the application maps the few hundred signatures to
the strategy's subjects (a signature may name values and goals of other strategies too;
they are ignored). Each event is in exactly one group, so event counts add up without
``DISTINCT``, an event with two goals of one theme counts once for the theme, and split
hours are each group's hours divided by the number of its tags in the strategy.

The statement is a ``UNION ALL`` of parts told apart by the ``part`` column:

- ``group``: figures and delivered sessions per audience, per signature;
- ``kind``: figures per (visibility, place);
- ``cell``: figures per month (``ref``: 0 is the period's first) and branch (``ref2``:
  ``NULL`` for none, such as off-site visits);
- ``month``, ``branch``: the number of events per month and per branch (``ref``);
- ``reach``: the branches (``ref``) where a value or goal (of any strategy) had a
  delivered session;
- ``untagged``: the busiest events (``ref``, with their ``title`` as JSON text) tagged to
  nothing in the strategy (their signature has no token of it: ``:strategy_tokens`` is
  the ``LIKE`` pattern ``%,s<id>:%``);
- ``partner``, ``library``, ``co_organiser``: events and figures per partner organisation,
  per library that holds the events, and per library named as a co-organiser (``ref``).

Columns a part does not use are ``NULL``; sums are cast to ``BIGINT`` so both drivers
return plain integers. Queries use named parameters (see :mod:`outreach.sql`).
"""

from __future__ import annotations

import functools

from outreach.models import AgeBand, Audience
from outreach.sql import seconds_between

# Kinds of subject the report counts for.
VALUE, THEME, GOAL, SDG = 1, 2, 3, 4
# Where an event happened.
IN_BRANCH, OFF_SITE, BOOKMOBILE = 0, 1, 2
# Parts of the result.
GROUP, KIND, CELL, MONTH, BRANCH = "group", "kind", "cell", "month", "branch"
REACH, UNTAGGED = "reach", "untagged"
PARTNER, LIBRARY, CO_ORGANISER = "partner", "library", "co_organiser"

AUDIENCES = [a.value for a in Audience]
AUDIENCE_COLUMNS = {audience: f"aud_{i}" for i, audience in enumerate(AUDIENCES)}
BAND_COLUMNS = {
    AgeBand.AGES_0_5.value: "att_0_5",
    AgeBand.AGES_6_11.value: "att_6_11",
    AgeBand.AGES_12_18.value: "att_12_18",
    AgeBand.ADULTS.value: "att_19",
    AgeBand.UNKNOWN.value: "att_unknown",
}
FIGURES = (
    "delivered",
    "cancelled",
    "planned",
    "all_day",
    "seconds",
    "planned_seconds",
    *BAND_COLUMNS.values(),
)
# Every part's columns, in order.
COLUMNS = ("part", "sig", "visibility", "title", "place", "ref", "ref2", "value_id", "goal_id",
           "events", *FIGURES, *AUDIENCE_COLUMNS.values())  # fmt: skip
# Positions in a result row (the application reads rows as tuples).
PART, SIG, VISIBILITY, TITLE, PLACE, REF, REF2, VALUE_ID, GOAL_ID, EVENTS = range(10)
# ``events`` and the figures, then the delivered sessions per audience.
FIGURE_SLICE = slice(EVENTS, EVENTS + 1 + len(FIGURES))
AUDIENCE_SLICE = slice(FIGURE_SLICE.stop, FIGURE_SLICE.stop + len(AUDIENCES))
DELIVERED = COLUMNS.index("delivered")


def token(strategy_id: int, kind: int, pk: int) -> str:
    """A value's or goal's token in a signature (see ``event.tag_keys``): ``s1:g3``."""
    return f"s{strategy_id}:{'v' if kind == VALUE else 'g'}{pk}"


def tokens_pattern(strategy_id: int) -> str:
    """The ``LIKE`` pattern of a signature holding a token of the strategy."""
    return f"%,s{strategy_id}:%"


def _scope(column: str, *, network: bool) -> str:
    if network:
        return f"{column} IN (SELECT lib.id FROM library lib WHERE lib.network_id = :network)"
    return f"{column} = :library"


def _select(part: str, source: str, **columns: str) -> str:
    """``SELECT`` of one part: ``columns`` by name, ``NULL`` for the others."""
    listed = [f"'{part}' AS part"]
    for name in COLUMNS[1:]:
        # A typed NULL: PostgreSQL reads an untyped one as text in a union of NULLs.
        text = name in ("sig", "visibility", "title")
        missing = "CAST(NULL AS TEXT)" if text else "CAST(NULL AS BIGINT)"
        listed.append(f"{columns.get(name, missing)} AS {name}")
    return f"SELECT {', '.join(listed)} {source}"


def _sums(alias: str) -> dict[str, str]:
    # BIGINT: PostgreSQL sums integers as NUMERIC, which the driver reads as Decimal.
    return {name: f"CAST(SUM({alias}.{name}) AS BIGINT)" for name in FIGURES}


def _span(*, network: bool) -> str:
    """The ``span`` expression: the first and last original start of the period's
    sessions, which bound the attendance ``occ`` reads (a moved session keeps its original
    start, so its counts may lie outside the period itself)."""
    return (
        "SELECT MIN(s.original_start) AS lo, MAX(s.original_start) AS hi"
        f" FROM occurrence s WHERE {_scope('s.library_id', network=network)}"
        " AND s.starts_at >= :start AND s.starts_at < :end"
    )


def _occurrences(dialect_name: str, *, network: bool, boundaries: int) -> str:
    """The ``occ`` expression (it reads ``span``); ``:m1``…``:mN`` are the instants the
    second and later months start."""
    whens = " ".join(f"WHEN o.starts_at < :m{i} THEN {i - 1}" for i in range(1, boundaries + 1))
    month = f"CASE {whens} ELSE {boundaries} END" if boundaries else "0"
    seconds = seconds_between("o.starts_at", "o.ends_at", dialect_name)
    cancelled = "(o.cancelled OR e.status = 'cancelled')"
    delivered = f"CASE WHEN {cancelled} OR o.starts_at >= :as_of THEN 0 ELSE 1 END"
    planned = f"CASE WHEN {cancelled} OR o.starts_at < :as_of THEN 0 ELSE 1 END"
    # Each duration is computed only for the column it lands in (SQLite does not share
    # repeated expressions, and reading two timestamps is the costliest step of a row).
    delivered_seconds = (
        f"CASE WHEN e.all_day OR {cancelled} OR o.starts_at >= :as_of THEN 0 ELSE {seconds} END"
    )
    planned_seconds = (
        f"CASE WHEN e.all_day OR {cancelled} OR o.starts_at < :as_of THEN 0 ELSE {seconds} END"
    )
    band_sums = ", ".join(
        f"SUM(CASE WHEN a.age_band = '{band}' THEN a.count ELSE 0 END) AS {column}"
        for band, column in BAND_COLUMNS.items()
    )
    # Attendance only counts for delivered sessions: the join condition says so once.
    bands = ", ".join(f"COALESCE(att.{column}, 0) AS {column}" for column in BAND_COLUMNS.values())
    return f"""
SELECT o.event_id AS event_id, o.branch_id AS branch_id, {month} AS month,
       e.visibility AS visibility, e.tag_keys AS sig, e.audience_mask AS aud,
       CASE WHEN e.kind = 'bookmobile' OR o.stop_id IS NOT NULL THEN {BOOKMOBILE}
            WHEN e.kind = 'outreach_visit'
                 OR (e.room_id IS NULL AND (e.lat IS NOT NULL OR e.place_name <> ''))
            THEN {OFF_SITE}
            ELSE {IN_BRANCH} END AS place,
       {delivered} AS delivered,
       CASE WHEN {cancelled} THEN 1 ELSE 0 END AS cancelled,
       {planned} AS planned,
       CASE WHEN e.all_day THEN {delivered} ELSE 0 END AS all_day,
       {delivered_seconds} AS seconds,
       {planned_seconds} AS planned_seconds,
       {bands}
FROM occurrence o
JOIN event e ON e.id = o.event_id
LEFT JOIN (SELECT a.event_id AS event_id, a.original_start AS original_start,
                  COALESCE(a.stop_id, 0) AS stop_key, {band_sums}
           FROM attendance a
           WHERE {_scope("a.library_id", network=network)}
             AND a.original_start >= (SELECT sp.lo FROM span sp)
             AND a.original_start <= (SELECT sp.hi FROM span sp)
           GROUP BY a.event_id, a.original_start, COALESCE(a.stop_id, 0)) att
     ON att.event_id = o.event_id AND att.original_start = o.original_start
    AND att.stop_key = COALESCE(o.stop_id, 0) AND {delivered} = 1
WHERE {_scope("o.library_id", network=network)}
  AND {_scope("e.library_id", network=network)}
  AND o.starts_at >= :start AND o.starts_at < :end
  AND e.status <> 'draft'
"""


@functools.lru_cache(maxsize=64)
def coverage_sql(dialect_name: str, *, network: bool, boundaries: int) -> str:
    """The report's one statement (see the module docstring); built once per shape."""
    per_event = ", ".join(f"{sql} AS {name}" for name, sql in _sums("c").items())
    # An event's own columns are the same on each of its rows: SQLite reads them off any
    # row of the group (a documented "bare column"), PostgreSQL needs an aggregate.
    own = ", ".join(
        f"c.{name} AS {name}" if dialect_name == "sqlite" else f"MAX(c.{name}) AS {name}"
        for name in ("visibility", "place", "sig", "aud")
    )
    events = f"SELECT c.event_id AS event_id, {own}, {per_event} FROM occ c GROUP BY c.event_id"
    audiences = {
        column: f"CAST(SUM(CASE WHEN (ev.aud & {1 << i}) <> 0 THEN ev.delivered ELSE 0 END)"
        " AS BIGINT)"
        for i, column in enumerate(AUDIENCE_COLUMNS.values())
    }
    groups = _select(
        GROUP,
        "FROM ev GROUP BY ev.sig",
        sig="ev.sig",
        events="COUNT(*)",
        **_sums("ev"),
        **audiences,
    )
    kinds = _select(
        KIND,
        "FROM ev GROUP BY ev.visibility, ev.place",
        visibility="ev.visibility",
        place="ev.place",
        events="COUNT(*)",
        **_sums("ev"),
    )
    # Figures per (month, branch), summed by the application into months and branches;
    # events counted apart, each once per month and once per branch (a DISTINCT
    # aggregate would sort every group).
    cells = _select(
        CELL,
        "FROM occ c GROUP BY c.month, c.branch_id",
        ref="c.month",
        ref2="c.branch_id",
        **_sums("c"),
    )
    months = _select(
        MONTH,
        "FROM (SELECT DISTINCT c.month AS month, c.event_id AS event_id FROM occ c) d"
        " GROUP BY d.month",
        ref="d.month",
        events="COUNT(*)",
    )
    branches = _select(
        BRANCH,
        "FROM (SELECT DISTINCT c.branch_id AS branch_id, c.event_id AS event_id FROM occ c) d"
        " GROUP BY d.branch_id",
        ref="d.branch_id",
        events="COUNT(*)",
    )
    # Themes and SDGs reach the union of their goals' and values' branches.
    reach = _select(
        REACH,
        "FROM occ r JOIN event_tag t ON t.event_id = r.event_id"
        " WHERE r.delivered = 1 AND r.branch_id IS NOT NULL"
        " GROUP BY r.branch_id, t.value_id, t.goal_id",
        ref="r.branch_id",
        value_id="t.value_id",
        goal_id="t.goal_id",
    )
    untagged = _select(
        UNTAGGED,
        "FROM (SELECT * FROM ev WHERE ev.sig NOT LIKE :strategy_tokens"
        " ORDER BY ev.delivered DESC, ev.event_id LIMIT :untagged_limit) u"
        " JOIN event ue ON ue.id = u.event_id",
        ref="u.event_id",
        title="CAST(ue.title AS TEXT)",
        events="1",
        **{name: f"u.{name}" for name in FIGURES},
    )
    # Events and figures per partner, per library that owns them, and per co-organising
    # library (any library named as one, in the scope or not).
    partners = _select(
        PARTNER,
        "FROM ev JOIN event_partner ep ON ep.event_id = ev.event_id GROUP BY ep.partner_id",
        ref="ep.partner_id",
        events="COUNT(*)",
        **_sums("ev"),
    )
    owners = _select(
        LIBRARY,
        "FROM ev JOIN event le ON le.id = ev.event_id GROUP BY le.library_id",
        ref="le.library_id",
        events="COUNT(*)",
        **_sums("ev"),
    )
    co_organisers = _select(
        CO_ORGANISER,
        "FROM ev JOIN event_co_organiser co ON co.event_id = ev.event_id GROUP BY co.library_id",
        ref="co.library_id",
        events="COUNT(*)",
        **_sums("ev"),
    )
    parts = "\nUNION ALL\n".join(
        [groups, kinds, cells, months, branches, reach, untagged, partners, owners, co_organisers]
    )
    occurrences = _occurrences(dialect_name, network=network, boundaries=boundaries)
    span = _span(network=network)
    return f"WITH span AS ({span}),\nocc AS ({occurrences}),\nev AS ({events})\n{parts}"
