"""The SQL of the coverage report: two temporary tables, then small grouped queries.

Reading a year of a network's occurrences once is the expensive part, so it happens once,
into temporary tables of the report's own connection and transaction:

- ``occ``: one row per occurrence of the scope (a library, or every library of a network)
  that starts inside the period, draft events left out, classified once: delivered (took
  place before ``as_of``), planned (still to come) or cancelled; its month (a
  parameterised ``CASE`` over month boundaries the application computes in the reporting
  zone, so no date functions are needed); its programme seconds (none for all-day
  sessions) and its attendance by age band (delivered sessions only).
- ``ev``: the same figures summed per event, with the event's visibility, where it
  happened (in a branch, off-site, bookmobile) and its *signature*: the values and goals
  of the strategy it is tagged with, as text such as ``g3,v1`` (empty: tagged to nothing).

Events with the same signature serve the same values, goals, themes and SDGs, so the
queries group events by signature; the application maps the few hundred signatures to
their subjects. Each event is in exactly one group, so event counts add up without
``DISTINCT``, an event with two goals of one theme counts once for the theme, and split
hours are each group's hours divided by the number of its tags.

Every figure column is already a count, so every query just sums. ``CROSS JOIN`` (with
the join condition in ``WHERE``) makes SQLite read the small temporary table first and
look the large one up by its index; PostgreSQL plans it like any inner join. Queries use named
parameters (see :mod:`outreach.reports.sql`); table names are generated, never input.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.models import AgeBand
from outreach.reports.sql import seconds_between

# Kinds of subject the report counts for.
VALUE, THEME, GOAL, SDG = 1, 2, 3, 4
# Where an event happened.
IN_BRANCH, OFF_SITE, BOOKMOBILE = 0, 1, 2

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
_FIGURE_COLUMNS = ", ".join(f"{name} BIGINT NOT NULL" for name in FIGURES)


def sums(alias: str) -> str:
    """``SUM`` of every figure column of ``alias``."""
    return ", ".join(f"SUM({alias}.{name}) AS {name}" for name in FIGURES)


@dataclass(frozen=True)
class Tables:
    """The names of one report's temporary tables."""

    suffix: str

    @property
    def occ(self) -> str:
        return f"coverage_occ_{self.suffix}"

    @property
    def ev(self) -> str:
        return f"coverage_ev_{self.suffix}"

    def create(self) -> list[str]:
        return [
            f"CREATE TEMPORARY TABLE {self.occ} (event_id INTEGER NOT NULL, branch_id INTEGER,"
            f" month INTEGER NOT NULL, has_stop INTEGER NOT NULL, {_FIGURE_COLUMNS})",
            f"CREATE INDEX {self.occ}_event ON {self.occ} (event_id)",
            f"CREATE TEMPORARY TABLE {self.ev} (event_id INTEGER PRIMARY KEY,"
            f" visibility VARCHAR(16) NOT NULL, place INTEGER NOT NULL, sig TEXT NOT NULL,"
            f" {_FIGURE_COLUMNS})",
        ]

    def drop(self) -> list[str]:
        return [f"DROP TABLE {name}" for name in (self.ev, self.occ)]


def _scope_condition(column: str, *, network: bool) -> str:
    if network:
        return f"{column} IN (SELECT lib.id FROM library lib WHERE lib.network_id = :network)"
    return f"{column} = :library"


def fill_occurrences(t: Tables, dialect_name: str, *, network: bool, boundaries: int) -> str:
    """Fill ``occ``; ``:m1``…``:mN`` are the instants the second and later months start."""
    whens = " ".join(f"WHEN o.starts_at < :m{i} THEN {i - 1}" for i in range(1, boundaries + 1))
    month = f"CASE {whens} ELSE {boundaries} END" if boundaries else "0"
    seconds = seconds_between("o.starts_at", "o.ends_at", dialect_name)
    cancelled = "(o.cancelled OR e.status = 'cancelled')"
    delivered = f"CASE WHEN {cancelled} OR o.starts_at >= :as_of THEN 0 ELSE 1 END"
    planned = f"CASE WHEN {cancelled} OR o.starts_at < :as_of THEN 0 ELSE 1 END"
    duration = f"CASE WHEN e.all_day THEN 0 ELSE {seconds} END"
    bands = ", ".join(
        f"{delivered} * COALESCE(SUM(CASE WHEN a.age_band = '{band}' THEN a.count END), 0)"
        for band in BAND_COLUMNS
    )
    # Grouped by the occurrence (and its event, on which the other columns depend) only
    # to sum its attendance rows, one per age band and mode.
    return f"""
INSERT INTO {t.occ}
SELECT o.event_id, o.branch_id, {month},
       CASE WHEN o.stop_id IS NULL THEN 0 ELSE 1 END,
       {delivered},
       CASE WHEN {cancelled} THEN 1 ELSE 0 END,
       {planned},
       CASE WHEN e.all_day THEN {delivered} ELSE 0 END,
       {delivered} * {duration},
       {planned} * {duration},
       {bands}
FROM occurrence o
JOIN event e ON e.id = o.event_id
LEFT JOIN attendance a ON a.event_id = o.event_id AND a.original_start = o.original_start
     AND COALESCE(a.stop_id, 0) = COALESCE(o.stop_id, 0)
WHERE {_scope_condition("o.library_id", network=network)}
  AND o.starts_at >= :start AND o.starts_at < :end
  AND e.status <> 'draft'
GROUP BY o.id, e.id
"""


def signature(dialect_name: str) -> str:
    """The tags of event ``c.event_id`` in the strategy as text, e.g. ``g3,v1``."""
    key = "CASE WHEN t.goal_id IS NULL THEN 'v' || t.value_id ELSE 'g' || t.goal_id END"
    # The order inside a signature does not matter: the application reads it as a set.
    joined = (
        f"string_agg({key}, ',')" if dialect_name == "postgres" else f"group_concat({key}, ',')"
    )
    return f"""(SELECT COALESCE({joined}, '') FROM event_tag t
        WHERE t.event_id = c.event_id
          AND (t.goal_id IN (SELECT g.id FROM goal g WHERE g.strategy_id = :strategy)
               OR t.value_id IN (SELECT v.id FROM strategy_value v
                                 WHERE v.strategy_id = :strategy)))"""


def fill_events(t: Tables, dialect_name: str) -> str:
    """Fill ``ev`` from ``occ``."""
    return f"""
INSERT INTO {t.ev}
SELECT c.event_id, e.visibility,
       CASE WHEN e.kind = 'bookmobile' OR MAX(c.has_stop) = 1 THEN {BOOKMOBILE}
            WHEN e.kind = 'outreach_visit'
                 OR (e.room_id IS NULL AND (e.lat IS NOT NULL OR e.place_name <> ''))
            THEN {OFF_SITE}
            ELSE {IN_BRANCH} END,
       {signature(dialect_name)},
       {sums("c")}
FROM {t.occ} c
JOIN event e ON e.id = c.event_id
GROUP BY c.event_id, e.id
"""


def groups_query(t: Tables) -> str:
    """Figures per (signature, visibility, place): every event is in exactly one group."""
    return (
        f"SELECT ev.sig AS sig, ev.visibility AS visibility, ev.place AS place, "
        f"COUNT(*) AS events, {sums('ev')} FROM {t.ev} ev "
        "GROUP BY ev.sig, ev.visibility, ev.place"
    )


def audiences_query(t: Tables) -> str:
    """Delivered sessions per (signature, audience)."""
    return (
        "SELECT ev.sig AS sig, ea.audience AS audience, SUM(ev.delivered) AS delivered "
        f"FROM {t.ev} ev CROSS JOIN event_audience ea WHERE ea.event_id = ev.event_id "
        "GROUP BY ev.sig, ea.audience"
    )


def tag_branches_query(t: Tables) -> str:
    """The branches where each value or goal (of any strategy) had a delivered session;
    themes and SDGs reach the union of their goals' and values' branches."""
    return (
        "SELECT DISTINCT c.branch_id AS branch_id, tg.value_id AS value_id, "
        f"tg.goal_id AS goal_id FROM {t.occ} c CROSS JOIN event_tag tg "
        "WHERE tg.event_id = c.event_id AND c.delivered = 1 AND c.branch_id IS NOT NULL"
    )


def months_query(t: Tables) -> str:
    """Figures per month (0: the period's first)."""
    return (
        f"SELECT c.month AS month, COUNT(DISTINCT c.event_id) AS events, {sums('c')} "
        f"FROM {t.occ} c GROUP BY c.month"
    )


def branches_query(t: Tables) -> str:
    """Figures per branch (``NULL``: no branch, such as off-site visits)."""
    return (
        f"SELECT c.branch_id AS branch_id, COUNT(DISTINCT c.event_id) AS events, {sums('c')} "
        f"FROM {t.occ} c GROUP BY c.branch_id"
    )


def untagged_query(t: Tables) -> str:
    """The events tagged to nothing in the strategy, busiest first."""
    figures = ", ".join(f"ev.{name} AS {name}" for name in FIGURES)
    return (
        f"SELECT ev.event_id AS event_id, 1 AS events, {figures} FROM {t.ev} ev "
        "WHERE ev.sig = '' ORDER BY ev.delivered DESC, ev.event_id LIMIT :untagged_limit"
    )
