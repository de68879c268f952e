"""The SQL of the coverage report: three temporary tables, then small grouped queries.

Reading a year of a network's occurrences once is the expensive part, so it happens once,
into temporary tables of the report's own connection and transaction:

- ``occ``: one row per occurrence of the scope (a library, or every library of a network)
  that starts inside the period, draft events left out, classified once: delivered (took
  place before ``as_of``), planned (still to come) or cancelled; its month (a
  parameterised ``CASE`` over month boundaries the application computes in the reporting
  zone, so no date functions are needed); its programme seconds (none for all-day
  sessions) and its attendance by age band (delivered sessions only).
- ``ev``: the same figures summed per event, with the event's visibility, where it
  happened (in a branch, off-site, bookmobile) and ``n``, the number of the strategy's
  values and goals it is tagged with (0: tagged to nothing).
- ``subj``: (event, kind, subject) pairs for the strategy's values, goals, themes (through
  their goals) and UN SDGs (through the values and goals mapped to them), each pair once,
  so that an event with two goals of one theme counts once for the theme.

Every figure column is already a count, so every query just sums. Queries use named
parameters (see :mod:`outreach.reports.sql`); table names are generated, never input.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.models import AgeBand
from outreach.reports.sql import seconds_between

# Subject kinds in ``subj``.
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

    @property
    def subj(self) -> str:
        return f"coverage_subj_{self.suffix}"

    def create(self) -> list[str]:
        return [
            f"CREATE TEMPORARY TABLE {self.occ} (event_id INTEGER NOT NULL, branch_id INTEGER,"
            f" month INTEGER NOT NULL, has_stop INTEGER NOT NULL, {_FIGURE_COLUMNS})",
            f"CREATE INDEX {self.occ}_event ON {self.occ} (event_id)",
            f"CREATE TEMPORARY TABLE {self.ev} (event_id INTEGER PRIMARY KEY,"
            f" visibility VARCHAR(16) NOT NULL, place INTEGER NOT NULL, n INTEGER NOT NULL,"
            f" {_FIGURE_COLUMNS})",
            f"CREATE TEMPORARY TABLE {self.subj} (event_id INTEGER NOT NULL,"
            " kind INTEGER NOT NULL, subject_id INTEGER NOT NULL)",
        ]

    def drop(self) -> list[str]:
        return [f"DROP TABLE {name}" for name in (self.subj, self.ev, self.occ)]


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


def fill_events(t: Tables) -> str:
    """Fill ``ev`` from ``occ``."""
    return f"""
INSERT INTO {t.ev}
SELECT c.event_id, e.visibility,
       CASE WHEN e.kind = 'bookmobile' OR MAX(c.has_stop) = 1 THEN {BOOKMOBILE}
            WHEN e.kind = 'outreach_visit'
                 OR (e.room_id IS NULL AND (e.lat IS NOT NULL OR e.place_name <> ''))
            THEN {OFF_SITE}
            ELSE {IN_BRANCH} END,
       (SELECT COUNT(*) FROM event_tag t
        LEFT JOIN goal g ON g.id = t.goal_id
        LEFT JOIN strategy_value v ON v.id = t.value_id
        WHERE t.event_id = c.event_id
          AND (g.strategy_id = :strategy OR v.strategy_id = :strategy)),
       {sums("c")}
FROM {t.occ} c
JOIN event e ON e.id = c.event_id
GROUP BY c.event_id, e.id
"""


def fill_subjects(t: Tables) -> str:
    """Fill ``subj`` for the events of ``ev``."""
    return f"""
INSERT INTO {t.subj}
SELECT t.event_id, {VALUE}, t.value_id
FROM {t.ev} ev
JOIN event_tag t ON t.event_id = ev.event_id
JOIN strategy_value v ON v.id = t.value_id
WHERE v.strategy_id = :strategy
UNION ALL
SELECT t.event_id, {GOAL}, t.goal_id
FROM {t.ev} ev
JOIN event_tag t ON t.event_id = ev.event_id
JOIN goal g ON g.id = t.goal_id
WHERE g.strategy_id = :strategy
UNION ALL
SELECT DISTINCT t.event_id, {THEME}, g.theme_id
FROM {t.ev} ev
JOIN event_tag t ON t.event_id = ev.event_id
JOIN goal g ON g.id = t.goal_id
WHERE g.strategy_id = :strategy AND g.theme_id IS NOT NULL
UNION ALL
SELECT DISTINCT x.event_id, {SDG}, x.sdg
FROM (
    SELECT t.event_id AS event_id, gs.sustainabledevelopmentgoal_id AS sdg
    FROM {t.ev} ev
    JOIN event_tag t ON t.event_id = ev.event_id
    JOIN goal g ON g.id = t.goal_id
    JOIN goal_sdg gs ON gs.goal_id = g.id
    WHERE g.strategy_id = :strategy
    UNION ALL
    SELECT t.event_id, vs.sustainabledevelopmentgoal_id
    FROM {t.ev} ev
    JOIN event_tag t ON t.event_id = ev.event_id
    JOIN strategy_value v ON v.id = t.value_id
    JOIN strategy_value_sdg vs ON vs.strategy_value_id = v.id
    WHERE v.strategy_id = :strategy
) x
"""


def subjects_query(t: Tables) -> str:
    """Figures per (kind, subject, number of tags of the event)."""
    return (
        f"SELECT s.kind AS kind, s.subject_id AS subject_id, ev.n AS n, COUNT(*) AS events, "
        f"{sums('ev')} FROM {t.subj} s JOIN {t.ev} ev ON ev.event_id = s.event_id "
        "GROUP BY s.kind, s.subject_id, ev.n"
    )


def subject_branches_query(t: Tables) -> str:
    """The branches where each subject had a delivered session."""
    return (
        f"SELECT DISTINCT s.kind AS kind, s.subject_id AS subject_id, c.branch_id AS branch_id "
        f"FROM {t.subj} s JOIN {t.occ} c ON c.event_id = s.event_id "
        "WHERE c.delivered = 1 AND c.branch_id IS NOT NULL"
    )


def audiences_query(t: Tables) -> str:
    """Delivered sessions per (subject, audience), and per audience for the whole scope
    (kind 0)."""
    return (
        "SELECT s.kind AS kind, s.subject_id AS subject_id, ea.audience AS audience, "
        f"SUM(ev.delivered) AS delivered FROM {t.subj} s "
        f"JOIN {t.ev} ev ON ev.event_id = s.event_id "
        "JOIN event_audience ea ON ea.event_id = s.event_id "
        "GROUP BY s.kind, s.subject_id, ea.audience "
        "UNION ALL "
        f"SELECT 0, 0, ea.audience, SUM(ev.delivered) FROM {t.ev} ev "
        "JOIN event_audience ea ON ea.event_id = ev.event_id GROUP BY ea.audience"
    )


def sections_query(t: Tables) -> str:
    """Figures per (visibility, place, tagged): every event falls in exactly one group."""
    tagged = "CASE WHEN ev.n > 0 THEN 1 ELSE 0 END"
    return (
        f"SELECT ev.visibility AS visibility, ev.place AS place, {tagged} AS tagged, "
        f"COUNT(*) AS events, {sums('ev')} FROM {t.ev} ev "
        f"GROUP BY ev.visibility, ev.place, {tagged}"
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
        "WHERE ev.n = 0 ORDER BY ev.delivered DESC, ev.event_id LIMIT :untagged_limit"
    )
