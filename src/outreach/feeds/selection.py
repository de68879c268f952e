"""Which public occurrences and series a feed or a programme page shows.

The ``occurrence`` table answers "what happens in this window" with one indexed query;
the series (the event's rule, exdates and overrides) is what a feed then publishes, so
that clients see one recurring event rather than hundreds of copies.

The feed's read path (:func:`public_event_ids`, :func:`load_series`) is plain SQL into
small frozen records rather than model objects: it reads each table once for a whole
feed, and Tortoise's row-to-model work used to cost more than icalendar's serialising.
:func:`public_occurrences` keeps the ORM for pages that page through occurrences; a test
holds the two selections to the same answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from tortoise.queryset import QuerySet

from outreach import publicity
from outreach.db import instant
from outreach.feeds import daylight, sql
from outreach.feeds.filters import FeedFilter, Scope
from outreach.feeds.lru import Lru
from outreach.feeds.sql import Row
from outreach.models import (
    Audience,
    EventAudience,
    EventFormat,
    EventKind,
    EventLanguage,
    EventStatus,
    EventTag,
    Occurrence,
    Translated,
    Visibility,
)
from outreach.scheduling.occurrences import default_horizon_end
from outreach.scheduling.recurrence import (
    UTC,
    WEEKDAYS,
    Rule,
    RuleError,
    local_starts,
    parse_local,
    parse_rule,
    to_local,
    to_utc,
    zone,
)
from outreach.settings import Settings


@dataclass(frozen=True)
class Window:
    """The span a feed covers, fixed for a whole UTC day so that a day's feeds are stable."""

    start: dt.datetime
    end: dt.datetime
    # A cancelled event stays in feeds (as CANCELLED) if cancelled after this instant.
    grace_start: dt.datetime

    @classmethod
    def for_day(cls, settings: Settings, day: dt.date) -> Window:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
        start = midnight - dt.timedelta(days=settings.feed_days_back)
        return cls(
            start=start,
            end=midnight + dt.timedelta(days=settings.feed_days_ahead),
            grace_start=start,
        )


def today() -> dt.date:
    return dt.datetime.now(UTC).date()


async def _event_ids(filt: FeedFilter) -> set[int] | None:
    """Events passing the audience, goal, value, language and search filters, or None when
    none of them is set."""
    ids: set[int] | None = None

    def narrow(found: list[int]) -> None:
        nonlocal ids
        ids = set(found) if ids is None else ids & set(found)

    if filt.audience is not None:
        narrow(
            await EventAudience.filter(audience=filt.audience).values_list("event_id", flat=True)  # type: ignore[arg-type]
        )
    if filt.goal is not None:
        narrow(await EventTag.filter(goal_id__in=filt.goal_ids).values_list("event_id", flat=True))  # type: ignore[arg-type]
    if filt.value is not None:
        narrow(
            await EventTag.filter(value_id__in=filt.value_ids).values_list("event_id", flat=True)  # type: ignore[arg-type]
        )
    if filt.language is not None:
        narrow(
            await EventLanguage.filter(language=filt.language).values_list("event_id", flat=True)  # type: ignore[arg-type]
        )
    if filt.q is not None:
        narrow(list(filt.search_ids))
    return ids


async def public_occurrences(
    scope: Scope,
    filt: FeedFilter,
    start: dt.datetime,
    end: dt.datetime,
    *,
    cancelled_since: dt.datetime | None = None,
) -> QuerySet[Occurrence]:
    """Occurrences overlapping [start, end) of public events (:mod:`outreach.publicity`)
    in the scope that pass the filters; cancelled ones included, private stops not. A
    cancelled event counts if it was cancelled since ``cancelled_since`` (default: start)."""
    query = Occurrence.filter(
        publicity.events("event__", cancelled_since=cancelled_since or start),
        publicity.outside_private_stops(),
        library_id__in=scope.library_ids,
        starts_at__lt=end,
        ends_at__gt=start,
    )
    if filt.kind is not None:
        query = query.filter(event__kind=filt.kind)
    if filt.branch is not None:
        query = query.filter(event__branch_id__in=filt.branch_ids)
    ids = await _event_ids(filt)
    if ids is not None:
        query = query.filter(event_id__in=sorted(ids))
    return query


async def public_event_ids(
    scope: Scope, filt: FeedFilter, start: dt.datetime, end: dt.datetime
) -> list[int]:
    """The events that :func:`public_occurrences` draws on, as one plain query: the ids of
    public events (recently cancelled ones too) with an occurrence overlapping [start, end)
    that is not at a private stop, and that pass the filters."""
    db = sql.Sql()
    # The database starts from the scope's events, and occurrences carry their event's
    # library, so the scope is asked of events only.
    event_libraries, event_params = db.among("e.library_id", scope.library_ids)
    public, public_params = publicity.events_sql("e", cancelled_since=start)
    stops, stop_params = publicity.outside_private_stops_sql("o")
    # Asking, per event, whether any occurrence falls in the window stops at the first one
    # (the index on event and original start), where joining every occurrence and then
    # DISTINCT reads them all. The occurrence's library is not asked again: with it,
    # PostgreSQL without fresh statistics (a database just filled) intersected the
    # library's index for every event, 1.8 s instead of 9 ms for 1,000 events.
    where = [
        event_libraries,
        public,
        "EXISTS (SELECT 1 FROM occurrence o WHERE o.event_id = e.id"
        f" AND o.starts_at < ? AND o.ends_at > ? AND {stops})",
    ]
    params = [*event_params, *public_params, end, start, *stop_params]

    def narrow(condition: str, values: list[object]) -> None:
        where.append(condition)
        params.extend(values)

    if filt.kind is not None:
        narrow("e.kind = ?", [filt.kind.value])
    if filt.branch is not None:
        narrow(*db.among("e.branch_id", filt.branch_ids))
    if filt.audience is not None:
        narrow(
            "EXISTS (SELECT 1 FROM event_audience a WHERE a.event_id = e.id AND a.audience = ?)",
            [filt.audience.value],
        )
    if filt.goal is not None:
        goals, values = db.among("t.goal_id", filt.goal_ids)
        narrow(f"EXISTS (SELECT 1 FROM event_tag t WHERE t.event_id = e.id AND {goals})", values)
    if filt.value is not None:
        strategy_values, values = db.among("t.value_id", filt.value_ids)
        narrow(
            f"EXISTS (SELECT 1 FROM event_tag t WHERE t.event_id = e.id AND {strategy_values})",
            values,
        )
    if filt.language is not None:
        narrow(
            "EXISTS (SELECT 1 FROM event_language x WHERE x.event_id = e.id AND x.language = ?)",
            [filt.language],
        )
    if filt.q is not None:
        narrow(*db.among("e.id", filt.search_ids))
    rows = await db.rows(
        f"SELECT e.id FROM event e WHERE {' AND '.join(where)} ORDER BY e.id", params
    )
    return [int(row["id"]) for row in rows]


@dataclass(frozen=True, slots=True)
class LibraryRow:
    """What a feed shows of a library."""

    id: int
    slug: str
    default_language: str


@dataclass(frozen=True, slots=True)
class BranchRow:
    """What a feed shows of a branch: its address and position."""

    id: int
    name: str
    address: str
    postcode: str
    city: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class StopRow:
    """A public bookmobile stop: where it is and when the vehicle parks there."""

    id: int
    name: str
    address: str
    postcode: str
    community: str
    lat: float
    lon: float
    arrival: dt.time
    minutes_parked: int


@dataclass(frozen=True, slots=True)
class GoalRow:
    id: int
    code: str
    name: Translated


@dataclass(frozen=True, slots=True)
class ValueRow:
    id: int
    code: str
    name: Translated


class EventRow(NamedTuple):
    """The columns of an event that a feed publishes (a tuple: a feed makes a thousand)."""

    id: int
    kind: EventKind
    title: Translated
    description: Translated
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str
    all_day: bool
    rrule: str | None
    exdates: list[str]
    place_name: str
    place_address: str
    lat: float | None
    lon: float | None
    format: EventFormat
    status: EventStatus
    revision: int
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """A change to one occurrence, as stored."""

    original_start: dt.datetime
    cancelled: bool
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    room: RoomRow | None
    title: Translated
    note: str
    revision: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class Change:
    """A moved or re-roomed occurrence: published as a RECURRENCE-ID override."""

    original_local: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime
    room: RoomRow | None
    title: dict[str, str]
    note: str


@dataclass(frozen=True)
class Series:
    """One recurring (or one-off) VEVENT: an event, or one stop of a bookmobile route."""

    key: str
    event: EventRow
    library: LibraryRow
    tz: ZoneInfo
    # The first instance's nominal wall-clock start (all-day: its local midnight).
    start_local: dt.datetime
    # Every instance lasts this long: exact time, or whole local days for all-day series.
    duration: dt.timedelta
    rule: str | None
    # Nominal starts the series skips: the event's exdates and cancelled occurrences.
    exdates: tuple[dt.datetime, ...]
    changes: tuple[Change, ...]
    branch: BranchRow | None
    room: RoomRow | None
    stop: StopRow | None
    audiences: tuple[Audience, ...]
    languages: tuple[str, ...]
    goals: tuple[GoalRow, ...]
    values: tuple[ValueRow, ...]
    sequence: int
    last_modified: dt.datetime
    # Instances in the spring-forward gap, published on their own (see _split).
    detached: tuple[Change, ...] = ()

    @cached_property
    def digest(self) -> bytes:
        """A digest of the record's ``repr``, which names every field's value: two records
        with one digest write the same VEVENTs (the key of ``feeds.build.vevents``). Kept
        on the record, which :data:`made` hands out again while its rows stay the same."""
        return hashlib.blake2b(repr(self).encode(), digest_size=20).digest()

    @property
    def end_local(self) -> dt.datetime:
        """The first instance's local end (all-day: the local midnight after it)."""
        if self.event.all_day:
            return self.start_local + self.duration
        return to_local(to_utc(self.start_local, self.tz) + self.duration, self.tz)


def _exdates_local(event: EventRow, start_local: dt.datetime) -> list[dt.datetime]:
    """The event's exdates as local starts; a bare date skips that day's instance."""
    result = []
    for raw in event.exdates or []:
        try:
            local = parse_local(raw)
        except RuleError:
            continue  # the scheduler skips it too: the feed must match the occurrences
        if len(raw) == 10:
            local = dt.datetime.combine(local.date(), start_local.time())
        result.append(local)
    return result


@lru_cache(maxsize=4096)
def _rule_text(rule: str, tz_name: str, all_day: bool) -> str:
    """The normalised rule (many events share one, and parsing it is not free)."""
    return parse_rule(rule, tz=zone(tz_name), all_day=all_day).text


def _with_until(rule: str, last_local: dt.datetime, tz: ZoneInfo) -> str:
    """The timed rule ending with the instance at nominal ``last_local``, instead of its
    own COUNT/UNTIL; every reader's reading of that instance is at or before UNTIL."""
    parts = [p for p in rule.split(";") if not p.startswith(("COUNT=", "UNTIL="))]
    until = daylight.readers_last_instant(last_local, tz)
    return ";".join([*parts, f"UNTIL={until.strftime('%Y%m%dT%H%M%SZ')}"])


def _until_for_readers(rule: str, start_local: dt.datetime, tz: ZoneInfo) -> str:
    """The timed rule with an UNTIL that no reader's reading of the last instance passes.

    A last instance in a gap or in the repeated hour is read an hour later by some
    clients than by the service; UNTIL then moves to the latest reading (the next
    instance is a day or more later, so nothing is added).
    """
    match = _UNTIL_PART.search(rule)
    if match is None:
        return rule
    until = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    clock = start_local.time()
    until_day = to_local(until, tz).date()
    near = [
        d
        for d in daylight.transition_days(tz.key, start_local.year, until_day.year)
        if d <= until_day and daylight.ambiguous(dt.datetime.combine(d, clock), tz)
    ]
    if not near:
        return rule
    last: dt.datetime | None = None
    for local in local_starts(
        start_local, _parsed_rule(rule, tz.key), tz, until_local=to_local(until, tz)
    ):
        last = local
    if last is None or not daylight.ambiguous(last, tz):
        return rule
    return _with_until(rule, last, tz)


_UNTIL_PART = re.compile(r"UNTIL=(\d{8}T\d{6}Z)")


_EVENTS = """
SELECT e.id, e.kind, e.title, e.description, e.starts_at, e.ends_at, e.timezone,
       e.all_day, e.rrule, e.exdates, e.place_name, e.place_address, e.lat, e.lon,
       e.format, e.status, e.revision, e.updated_at,
       l.id AS library_id, l.slug AS library_slug, l.default_language,
       b.id AS branch_id, b.name AS branch_name, b.address AS branch_address,
       b.postcode AS branch_postcode, b.city AS branch_city,
       b.lat AS branch_lat, b.lon AS branch_lon,
       r.id AS room_id, r.name AS room_name
FROM event e
JOIN library l ON l.id = e.library_id
LEFT JOIN branch b ON b.id = e.branch_id
LEFT JOIN room r ON r.id = e.room_id
WHERE {events}
ORDER BY e.id
"""
_AUDIENCES = "SELECT event_id, audience FROM event_audience WHERE {events} ORDER BY audience"
_LANGUAGES = "SELECT event_id, language FROM event_language WHERE {events} ORDER BY language"
_TAGS = """
SELECT t.id, t.event_id, t."primary" AS is_primary,
       g.id AS goal_id, g.code AS goal_code, g.name AS goal_name, g.internal AS goal_internal,
       v.id AS value_id, v.code AS value_code, v.name AS value_name
FROM event_tag t
LEFT JOIN goal g ON g.id = t.goal_id
LEFT JOIN strategy_value v ON v.id = t.value_id
WHERE {events}
"""
_OVERRIDES = """
SELECT o.event_id, o.original_start, o.cancelled, o.starts_at, o.ends_at, o.title, o.note,
       o.revision, o.updated_at, r.id AS room_id, r.name AS room_name
FROM occurrence_override o
LEFT JOIN room r ON r.id = o.room_id
WHERE {events}
ORDER BY o.original_start
"""
_ROUTES = "SELECT id, event_id, valid_until FROM route WHERE {events}"
_STOPS = """
SELECT id, route_id, name, address, postcode, community, lat, lon, arrival, minutes_parked
FROM stop WHERE {routes} AND visibility = ? ORDER BY position
"""
_VISITS = """
SELECT event_id, stop_id, original_start FROM occurrence
WHERE {events} AND stop_id IS NOT NULL ORDER BY original_start
"""


_KINDS = sql.members(EventKind)
_FORMATS = sql.members(EventFormat)
_STATUSES = sql.members(EventStatus)
_AUDIENCES_BY_VALUE = sql.members(Audience)


def _event_row(row: Row) -> EventRow:
    return EventRow(
        id=row["id"],
        kind=_KINDS[row["kind"]],
        title=sql.translated(row["title"]),
        description=sql.translated(row["description"]),
        starts_at=instant(row["starts_at"]),
        ends_at=instant(row["ends_at"]),
        timezone=row["timezone"],
        all_day=bool(row["all_day"]),
        rrule=row["rrule"],
        exdates=sql.listed(row["exdates"]),
        place_name=row["place_name"],
        place_address=row["place_address"],
        lat=row["lat"],
        lon=row["lon"],
        format=_FORMATS[row["format"]],
        status=_STATUSES[row["status"]],
        revision=row["revision"],
        updated_at=instant(row["updated_at"]),
    )


def _room(row: Row) -> RoomRow | None:
    return None if row["room_id"] is None else RoomRow(id=row["room_id"], name=row["room_name"])


# Each event's series by the stored rows they are made from (the event's row with its
# library, branch and room, its audiences, languages, tags with their goals and values,
# overrides, route, public stops and visits): a process rebuilding a feed after one edit
# makes the edited event's series anew and hands out the others' records again, with
# their digests (``Series.digest``) already computed. The key holds every value the
# series are made from, so it cannot go stale: an event whose rows change in any way is
# a new key, and an entry nobody asks for again falls out. About 3.7 KB an entry (key and
# records, measured with tracemalloc on bench/feeds.py's events): at most ~75 MB.
made: Lru[tuple[object, ...], list[Series]] = Lru(20_000)


def _by_event(rows: list[Row], column: str = "event_id") -> dict[int, list[Row]]:
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[column]].append(row)
    return grouped


def _stored(rows: list[Row]) -> tuple[tuple[object, ...], ...]:
    return tuple(tuple(row) for row in rows)


def _goals_and_values(tags: list[Row]) -> tuple[tuple[GoalRow, ...], tuple[ValueRow, ...]]:
    goals = [
        GoalRow(id=t["goal_id"], code=t["goal_code"], name=sql.translated(t["goal_name"]))
        for t in tags
        if t["goal_id"] is not None and not t["goal_internal"]
    ]
    values = [
        ValueRow(id=t["value_id"], code=t["value_code"], name=sql.translated(t["value_name"]))
        for t in tags
        if t["value_id"] is not None
    ]
    return tuple(goals), tuple(values)


def _override_row(row: Row) -> OverrideRow:
    return OverrideRow(
        original_start=instant(row["original_start"]),
        cancelled=bool(row["cancelled"]),
        starts_at=sql.maybe_instant(row["starts_at"]),
        ends_at=sql.maybe_instant(row["ends_at"]),
        room=_room(row),
        title=sql.translated(row["title"]),
        note=row["note"],
        revision=row["revision"],
        updated_at=instant(row["updated_at"]),
    )


def _stop_row(row: Row) -> StopRow:
    return StopRow(
        id=row["id"],
        name=row["name"],
        address=row["address"],
        postcode=row["postcode"],
        community=row["community"],
        lat=row["lat"],
        lon=row["lon"],
        arrival=sql.time_of_day(row["arrival"]),
        minutes_parked=row["minutes_parked"],
    )


async def load_series(event_ids: list[int]) -> list[Series]:
    """The publishable series of these events, in a stable order (event id, stop position).

    A handful of set-based queries of plain rows, whatever the number of events; an
    event whose rows are the ones its series were made from before takes those (:data:`made`).
    """
    if not event_ids:
        return []
    db = sql.Sql()
    where, params = db.among("event_id", event_ids)
    event_rows = await db.rows(_EVENTS.format(events=db.among("e.id", event_ids)[0]), params)
    audiences = _by_event(await db.rows(_AUDIENCES.format(events=where), params))
    languages = _by_event(await db.rows(_LANGUAGES.format(events=where), params))
    tags = await db.rows(_TAGS.format(events=db.among("t.event_id", event_ids)[0]), params)
    tags_of = _by_event(sorted(tags, key=lambda t: (not t["is_primary"], t["id"])))
    overrides = _by_event(
        await db.rows(_OVERRIDES.format(events=db.among("o.event_id", event_ids)[0]), params)
    )
    routes = {row["event_id"]: row for row in await db.rows(_ROUTES.format(events=where), params)}
    stops: dict[int, list[Row]] = {}
    visits: dict[int, list[Row]] = {}
    if routes:
        route_where, route_params = db.among("route_id", [r["id"] for r in routes.values()])
        stops = _by_event(
            await db.rows(
                _STOPS.format(routes=route_where), [*route_params, Visibility.PUBLIC.value]
            ),
            "route_id",
        )
        visit_where, visit_params = db.among("event_id", list(routes))
        visits = _by_event(await db.rows(_VISITS.format(events=visit_where), visit_params))

    series: list[Series] = []
    # Many events share a library and a branch: one record each.
    libraries: dict[int, LibraryRow] = {}
    branches: dict[int | None, BranchRow | None] = {None: None}
    for row in event_rows:
        event_id = row["id"]
        route = routes.get(event_id)
        key = (
            tuple(row),
            _stored(audiences.get(event_id, [])),
            _stored(languages.get(event_id, [])),
            _stored(tags_of.get(event_id, [])),
            _stored(overrides.get(event_id, [])),
            None
            if route is None
            else (
                tuple(route),
                _stored(stops.get(route["id"], [])),
                _stored(visits.get(event_id, [])),
            ),
        )
        known = made.get(key)
        if known is not None:
            series += known
            continue
        own: list[Series] = []
        event = _event_row(row)
        tz = zone(event.timezone)
        own_overrides = [_override_row(o) for o in overrides.get(event_id, [])]
        library = libraries.get(row["library_id"])
        if library is None:
            library = libraries[row["library_id"]] = LibraryRow(
                id=row["library_id"],
                slug=row["library_slug"],
                default_language=row["default_language"],
            )
        if row["branch_id"] not in branches:
            branches[row["branch_id"]] = BranchRow(
                id=row["branch_id"],
                name=row["branch_name"],
                address=row["branch_address"],
                postcode=row["branch_postcode"],
                city=row["branch_city"],
                lat=row["branch_lat"],
                lon=row["branch_lon"],
            )
        goals, values = _goals_and_values(tags_of.get(event_id, []))
        common: dict[str, Any] = {
            "event": event,
            "library": library,
            "tz": tz,
            "branch": branches[row["branch_id"]],
            "room": _room(row),
            "audiences": tuple(
                _AUDIENCES_BY_VALUE[a["audience"]] for a in audiences.get(event_id, [])
            ),
            "languages": tuple(a["language"] for a in languages.get(event_id, [])),
            "goals": goals,
            "values": values,
        }
        rule = _rule_text(event.rrule, event.timezone, event.all_day) if event.rrule else None
        # The event's own start is never in a gap (refused on input): its local time is
        # the nominal time of day of every instance.
        start_local = to_local(event.starts_at, tz)
        if event.all_day:
            duration = to_local(event.ends_at, tz) - start_local
        else:
            duration = event.ends_at - event.starts_at
            if rule is not None:
                rule = _until_for_readers(rule, start_local, tz)
        if route is None:
            own.append(
                _series(
                    f"event-{event.id}",
                    start_local,
                    duration,
                    rule,
                    _exdates_local(event, start_local),
                    own_overrides,
                    common,
                )
            )
        else:
            originals_of: dict[int, list[dt.datetime]] = defaultdict(list)
            for visit in visits.get(event_id, []):
                originals_of[visit["stop_id"]].append(instant(visit["original_start"]))
            for stop in map(_stop_row, stops.get(route["id"], [])):
                originals = originals_of[stop.id]
                if not originals:
                    continue
                first = daylight.nominal(originals[0], stop.arrival, tz)
                stop_rule = rule
                if rule is not None and (
                    "COUNT=" in rule or "UNTIL=" in rule or route["valid_until"] is not None
                ):
                    last = daylight.nominal(originals[-1], stop.arrival, tz)
                    stop_rule = _with_until(rule, last, tz)
                skipped = [
                    dt.datetime.combine(x.date(), stop.arrival)
                    for x in _exdates_local(event, start_local)
                ]
                visited = set(originals)
                own.append(
                    _series(
                        f"event-{event.id}-stop-{stop.id}",
                        first,
                        dt.timedelta(minutes=stop.minutes_parked),
                        stop_rule,
                        [x for x in skipped if x >= first],
                        [o for o in own_overrides if o.original_start in visited],
                        {**common, "stop": stop, "room": None},
                    )
                )
        made.put(key, own)
        series += own
    # Occurrences exist up to the horizon, so no instance after it needs pinning.
    return await _pin_around_transitions(series, default_horizon_end())


@lru_cache(maxsize=4096)
def _parsed_rule(rule: str, tz_name: str) -> Rule:
    return parse_rule(rule, tz=zone(tz_name), all_day=False)


def _rule_instances(one: Series, until: dt.datetime) -> list[dt.datetime]:
    """The nominal starts the series' rule gives up to ``until``, exdates not applied."""
    assert one.rule is not None
    rule = _parsed_rule(one.rule, one.tz.key)
    return list(local_starts(one.start_local, rule, one.tz, until_local=until))


def _counted_from(rule: str, skipped: int) -> str:
    """The rule with its COUNT lessened by the instances before a later DTSTART."""
    match = re.search(r"COUNT=(\d+)", rule)
    if match is None:
        return rule
    return rule.replace(match.group(0), f"COUNT={int(match.group(1)) - skipped}")


def _within(local: dt.datetime, first: dt.datetime, last: dt.datetime | None) -> bool:
    return first <= local and (last is None or local <= last)


def _period(local: dt.datetime, rule: str) -> tuple[int, ...]:
    """The day, week (from WKST), month or year of the rule's FREQ that holds ``local``."""
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    day = local.date()
    match parts["FREQ"]:
        case "DAILY":
            return (day.toordinal(),)
        case "WEEKLY":
            first = WEEKDAYS.index(parts.get("WKST", "MO"))
            return ((day - dt.timedelta(days=(day.weekday() - first) % 7)).toordinal(),)
        case "MONTHLY":
            return (day.year, day.month)
        case _:
            return (day.year,)


def _split(one: Series, detached: list[dt.datetime], instances: list[dt.datetime]) -> list[Series]:
    """The series as segments whose rules never meet a time in the spring-forward gap.

    libical (Evolution, KDE) goes wrong wherever its iterator meets the series' time of
    day on a day the clocks jump over: it reads it shifted (02:30 as 03:30), carries
    that shift into the instances it gives next (a week later at 03:30), also when that
    day is only a candidate (the last Friday of a month is found among all its days),
    and converts a nominal 02:30 in an EXDATE or RECURRENCE-ID to another instant than
    the one it iterated, so no override can correct it. So the instances in the period
    of the rule (day, week, month or year) that holds such a day are published as
    VEVENTs of their own (``…-at-<nominal>``), the series ends before them and goes on
    from the next instance after them (``…-from-<nominal>``, COUNT lessened). No rule of
    the feed then expands through the gap.
    """
    assert one.rule is not None
    cut = set(detached)
    segments: list[Series] = []
    runs: list[list[dt.datetime]] = [[]]
    begins = [0]
    for position, local in enumerate(instances):
        if local in cut:
            if runs[-1]:
                runs.append([])
                begins.append(position + 1)
            else:
                begins[-1] = position + 1
            continue
        runs[-1].append(local)
    for number, (part, begin) in enumerate(zip(runs, begins, strict=True)):
        if not part:
            continue
        last_segment = number == len(runs) - 1
        first, last = part[0], None if last_segment else part[-1]
        rule = (
            _counted_from(one.rule, begin)
            if last_segment
            else _with_until(one.rule, part[-1], one.tz)
        )
        segments.append(
            replace(
                one,
                key=one.key if begin == 0 else f"{one.key}-from-{first:%Y%m%dT%H%M%S}",
                start_local=first,
                rule=rule,
                exdates=tuple(x for x in one.exdates if _within(x, first, last)),
                changes=tuple(
                    c
                    for c in one.changes
                    if c.original_local not in cut and _within(c.original_local, first, last)
                ),
            )
        )
    own = tuple(c for c in one.changes if c.original_local in cut)
    if own:
        # The instances published on their own, named after the series as a whole.
        segments.append(replace(one, rule=None, changes=(), exdates=(), detached=own))
    return segments


async def _pin_around_transitions(series: list[Series], horizon: dt.datetime) -> list[Series]:
    """Publish the fragile instances (see :mod:`outreach.feeds.daylight`) so that every
    reader gives them the service's start and end.

    Each fragile instance gets a RECURRENCE-ID override with its start and end as the
    service computed them, unless it is already moved or cancelled; a series is split
    around the times of day it has in a spring-forward gap (:func:`_split`). Instances are matched
    to what is stored by their original start in UTC, which names each one exactly.
    """
    wanted: dict[tuple[int, int | None, dt.datetime], tuple[int, dt.datetime]] = {}
    splits: dict[int, tuple[list[dt.datetime], list[dt.datetime]]] = {}
    for index, one in enumerate(series):
        if one.rule is None or one.event.all_day:
            continue
        fragile = [
            (local, gap)
            for local, gap in daylight.fragile_starts(
                one.tz.key,
                one.start_local.time(),
                one.duration,
                one.start_local.year,
                horizon.year,
            )
            if local >= one.start_local
        ]
        if not fragile:
            continue
        instances = _rule_instances(one, to_local(horizon, one.tz))
        gap_periods = {_period(local, one.rule) for local, gap in fragile if gap}
        detached = [x for x in instances if _period(x, one.rule) in gap_periods]
        present = set(instances) - set(detached)
        pins = [local for local, gap in fragile if not gap and local in present]
        handled = {to_utc(c.original_local, one.tz) for c in one.changes}
        handled |= {to_utc(x, one.tz) for x in one.exdates}
        stop_id = one.stop.id if one.stop is not None else None
        for local in pins + [x for x in detached if x not in one.exdates]:
            original = to_utc(local, one.tz)
            if original not in handled:
                wanted[(one.event.id, stop_id, original)] = (index, local)
        if detached:
            splits[index] = (detached, instances)
    if not wanted and not splits:
        return series
    extra: dict[int, list[Change]] = defaultdict(list)
    if wanted:
        db = sql.Sql()
        events, params = db.among("event_id", sorted({key[0] for key in wanted}))
        instants = sorted({key[2] for key in wanted})
        rows = await db.rows(
            "SELECT event_id, stop_id, original_start, starts_at, ends_at FROM occurrence"
            f" WHERE {events} AND original_start IN ({', '.join('?' for _ in instants)})",
            [*params, *instants],
        )
        for row in rows:
            key = (row["event_id"], row["stop_id"], instant(row["original_start"]))
            if key not in wanted:
                continue
            index, local = wanted[key]
            extra[index].append(
                Change(
                    original_local=local,
                    starts_at=instant(row["starts_at"]),
                    ends_at=instant(row["ends_at"]),
                    room=None,
                    title={},
                    note="",
                )
            )
    result: list[Series] = []
    for index, one in enumerate(series):
        if extra.get(index):
            changes = sorted([*one.changes, *extra[index]], key=lambda c: c.original_local)
            one = replace(one, changes=tuple(changes))
        if index in splits:
            result += _split(one, *splits[index])
        else:
            result.append(one)
    return result


def _series(
    key: str,
    start_local: dt.datetime,
    duration: dt.timedelta,
    rule: str | None,
    exdates: list[dt.datetime],
    overrides: list[OverrideRow],
    common: dict[str, Any],
) -> Series:
    event: EventRow = common["event"]
    tz: ZoneInfo = common["tz"]
    changes: list[Change] = []
    cancelled: list[dt.datetime] = []
    # Every component of a series carries one SEQUENCE and LAST-MODIFIED that move with
    # any change to the event or to one of its occurrences, so clients take each change.
    sequence = event.revision + sum(o.revision for o in overrides)
    last_modified = max([event.updated_at, *(o.updated_at for o in overrides)])
    clock = start_local.time()
    for override in overrides:
        original_local = daylight.nominal(override.original_start, clock, tz)
        if override.cancelled:
            # EXDATE is the one cancellation every client honours.
            cancelled.append(original_local)
            continue
        original_utc = override.original_start
        starts_at = override.starts_at or original_utc
        ends_at = override.ends_at or original_utc + duration
        changes.append(
            Change(
                original_local=original_local,
                starts_at=starts_at,
                ends_at=ends_at,
                room=override.room,
                title=override.title or {},
                note=override.note,
            )
        )
    return Series(
        key=key,
        start_local=start_local,
        duration=duration,
        rule=rule,
        exdates=tuple(sorted(set(exdates) | set(cancelled))),
        changes=tuple(changes),
        sequence=sequence,
        last_modified=last_modified,
        stop=common.get("stop"),
        **{k: v for k, v in common.items() if k != "stop"},
    )
