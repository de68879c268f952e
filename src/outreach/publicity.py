"""What the public may see: one rule, read by every public surface.

An event is public only if its visibility is public, it is published or cancelled, it
was published before it was cancelled (it has a ``published_at``: set when it becomes
published, cleared when it goes back to draft, kept when it is cancelled; see
:meth:`outreach.models.Event.save`), and no approval it needed is missing (its
``approval`` is ``not_needed`` or ``approved``: a submitted or returned event is never
public, whatever else a writer set; ``outreach.scheduling.approval``). A bookmobile route
is public if its event is; a stop needs its own visibility public as well. Surfaces may
show less (a feed keeps a cancelled event only for a grace period, a page only what is
coming) but never more. Staff with a role in an event's library see its drafts and
internal items through authenticated endpoints; that exception is the web layer's,
beside its checks of roles.

The rule is written once, as :data:`EVENT_RULE`, and turned into a Tortoise ``Q`` for ORM
queries, a SQL fragment for the feeds' plain SQL, and a test of one loaded event, so the
three cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from outreach.models import ApprovalState, Event, EventStatus, Visibility


def _q(lookup: str, value: Any) -> Q:
    return Q(**{lookup: value})


@dataclass(frozen=True)
class Clause:
    """A condition on one column of ``event``: one of ``values``, or set when ``values``
    is None."""

    column: str
    values: tuple[str, ...] | None

    def q(self, prefix: str) -> Q:
        if self.values is None:
            return _q(f"{prefix}{self.column}__isnull", False)
        return _q(f"{prefix}{self.column}__in", list(self.values))

    def sql(self, alias: str) -> tuple[str, list[object]]:
        if self.values is None:
            return f"{alias}.{self.column} IS NOT NULL", []
        marks = ", ".join("?" for _ in self.values)
        return f"{alias}.{self.column} IN ({marks})", list(self.values)

    def holds(self, event: Event) -> bool:
        value = getattr(event, self.column)
        if self.values is None:
            return value is not None
        return str(getattr(value, "value", value)) in self.values


EVENT_RULE = (
    Clause("visibility", (Visibility.PUBLIC.value,)),
    Clause("status", (EventStatus.PUBLISHED.value, EventStatus.CANCELLED.value)),
    Clause("published_at", None),
    Clause("approval", (ApprovalState.NOT_NEEDED.value, ApprovalState.APPROVED.value)),
)


def events(prefix: str = "", *, cancelled_since: dt.datetime | None = None) -> Q:
    """Public events, as a condition on ``Event`` (or, with ``prefix`` such as
    ``"event__"``, on a model that leads to one). ``cancelled_since``: a cancelled event
    counts only if it was cancelled at or after that instant (the feeds' grace)."""
    condition = Q(*(clause.q(prefix) for clause in EVENT_RULE))
    if cancelled_since is not None:
        condition &= _q(f"{prefix}status", EventStatus.PUBLISHED.value) | _q(
            f"{prefix}cancelled_at__gte", cancelled_since
        )
    return condition


def events_sql(
    alias: str, *, cancelled_since: dt.datetime | None = None
) -> tuple[str, list[object]]:
    """:func:`events` as SQL on the ``event`` table aliased ``alias``, with ``?``
    placeholders (``outreach.sql`` spells them for the driver) and their values."""
    parts: list[str] = []
    params: list[object] = []
    for clause in EVENT_RULE:
        text, values = clause.sql(alias)
        parts.append(text)
        params += values
    if cancelled_since is not None:
        parts.append(f"({alias}.status = ? OR {alias}.cancelled_at >= ?)")
        params += [EventStatus.PUBLISHED.value, cancelled_since]
    return " AND ".join(parts), params


def is_public(event: Event) -> bool:
    """Whether one loaded event passes :func:`events`."""
    return all(clause.holds(event) for clause in EVENT_RULE)


def routes(prefix: str = "") -> Q:
    """Public bookmobile routes: those whose event is public."""
    return events(f"{prefix}event__")


def stops(prefix: str = "") -> Q:
    """Public stops: public themselves, on a public route."""
    return _q(f"{prefix}visibility", Visibility.PUBLIC.value) & routes(f"{prefix}route__")


def outside_private_stops(prefix: str = "") -> Q:
    """Occurrences (``prefix`` leads to one) that are not visits of a private stop; the
    event's own publicity is :func:`events`' business."""
    return _q(f"{prefix}stop_id__isnull", True) | _q(
        f"{prefix}stop__visibility", Visibility.PUBLIC.value
    )


def outside_private_stops_sql(alias: str) -> tuple[str, list[object]]:
    """:func:`outside_private_stops` as SQL on the ``occurrence`` table aliased ``alias``."""
    return (
        f"({alias}.stop_id IS NULL OR EXISTS"
        f" (SELECT 1 FROM stop s WHERE s.id = {alias}.stop_id AND s.visibility = ?))",
        [Visibility.PUBLIC.value],
    )
