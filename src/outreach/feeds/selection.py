"""Which public occurrences and series a feed or a programme page shows.

The ``occurrence`` table answers "what happens in this window" with one indexed query;
the series (the event's rule, exdates and overrides) is what a feed then publishes, so
that clients see one recurring event rather than hundreds of copies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from outreach.feeds.filters import FeedFilter, Scope
from outreach.models import (
    Audience,
    Branch,
    Event,
    EventAudience,
    EventLanguage,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Occurrence,
    OccurrenceOverride,
    Room,
    Stop,
    StrategyValue,
    Visibility,
)
from outreach.models.bookmobile import Route
from outreach.scheduling.recurrence import (
    UTC,
    RuleError,
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
    """Events passing the audience/goal/value filters, or None when none of them is set."""
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
    return ids


async def public_occurrences(
    scope: Scope, filt: FeedFilter, start: dt.datetime, end: dt.datetime
) -> QuerySet[Occurrence]:
    """Occurrences overlapping [start, end) of public, published (or recently cancelled)
    events in the scope that pass the filters; cancelled ones included, private stops not."""
    query = Occurrence.filter(
        library_id__in=scope.library_ids,
        starts_at__lt=end,
        ends_at__gt=start,
        event__visibility=Visibility.PUBLIC,
    ).filter(
        Q(event__status=EventStatus.PUBLISHED)
        | Q(event__status=EventStatus.CANCELLED, event__cancelled_at__gte=start)
    )
    query = query.filter(Q(stop_id=None) | Q(stop__visibility=Visibility.PUBLIC))
    if filt.kind is not None:
        query = query.filter(event__kind=filt.kind)
    if filt.branch is not None:
        query = query.filter(event__branch_id__in=filt.branch_ids)
    ids = await _event_ids(filt)
    if ids is not None:
        query = query.filter(event_id__in=sorted(ids))
    return query


@dataclass(frozen=True)
class Change:
    """A moved or re-roomed occurrence: published as a RECURRENCE-ID override."""

    original_local: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime
    room: Room | None
    title: dict[str, str]
    note: str


@dataclass(frozen=True)
class Series:
    """One recurring (or one-off) VEVENT: an event, or one stop of a bookmobile route."""

    key: str
    event: Event
    library: Library
    tz: ZoneInfo
    start_local: dt.datetime
    end_local: dt.datetime
    rule: str | None
    # Local original starts the series skips: the event's exdates and cancelled occurrences.
    exdates: tuple[dt.datetime, ...]
    changes: tuple[Change, ...]
    branch: Branch | None
    room: Room | None
    stop: Stop | None
    audiences: tuple[Audience, ...]
    languages: tuple[str, ...]
    goals: tuple[Goal, ...]
    values: tuple[StrategyValue, ...]
    sequence: int
    last_modified: dt.datetime


def _exdates_local(event: Event, start_local: dt.datetime) -> list[dt.datetime]:
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


def _with_bounds(rule: str, last_utc: dt.datetime, *, all_day: bool, tz: ZoneInfo) -> str:
    """The rule ending at ``last_utc`` instead of its own COUNT/UNTIL."""
    parts = [p for p in rule.split(";") if not p.startswith(("COUNT=", "UNTIL="))]
    until = (
        to_local(last_utc, tz).strftime("%Y%m%d")
        if all_day
        else last_utc.strftime("%Y%m%dT%H%M%SZ")
    )
    return ";".join([*parts, f"UNTIL={until}"])


async def load_series(event_ids: list[int]) -> list[Series]:
    """The publishable series of these events, in a stable order (event id, stop position)."""
    if not event_ids:
        return []
    events = (
        await Event.filter(id__in=event_ids)
        .order_by("id")
        .prefetch_related("library", "branch", "room")
    )
    by_event: dict[str, dict[int, list[object]]] = {
        "audiences": defaultdict(list),
        "languages": defaultdict(list),
        "goals": defaultdict(list),
        "values": defaultdict(list),
        "overrides": defaultdict(list),
    }
    for audience in await EventAudience.filter(event_id__in=event_ids).order_by("audience"):
        by_event["audiences"][audience.event_id].append(audience.audience)  # type: ignore[attr-defined]
    for language in await EventLanguage.filter(event_id__in=event_ids).order_by("language"):
        by_event["languages"][language.event_id].append(language.language)  # type: ignore[attr-defined]
    tags = await EventTag.filter(event_id__in=event_ids).prefetch_related("goal", "value")
    for tag in sorted(tags, key=lambda t: (not t.primary, t.id)):
        if tag.goal is not None and not tag.goal.internal:
            by_event["goals"][tag.event_id].append(tag.goal)  # type: ignore[attr-defined]
        if tag.value is not None:
            by_event["values"][tag.event_id].append(tag.value)  # type: ignore[attr-defined]
    for override in (
        await OccurrenceOverride.filter(event_id__in=event_ids)
        .order_by("original_start")
        .prefetch_related("room")
    ):
        by_event["overrides"][override.event_id].append(override)  # type: ignore[attr-defined]

    routes = {
        r.event_id: r  # type: ignore[attr-defined]
        for r in await Route.filter(event_id__in=event_ids)
    }
    stops: dict[int, list[Stop]] = defaultdict(list)
    visits: dict[tuple[int, int], list[dt.datetime]] = defaultdict(list)
    if routes:
        route_ids = [r.id for r in routes.values()]
        for stop in await Stop.filter(
            route_id__in=route_ids, visibility=Visibility.PUBLIC
        ).order_by("position"):
            stops[stop.route_id].append(stop)  # type: ignore[attr-defined]
        rows = (
            await Occurrence.filter(event_id__in=list(routes), stop_id__not_isnull=True)
            .order_by("original_start")
            .values_list("event_id", "stop_id", "original_start")
        )
        for event_id, stop_id, original in rows:
            visits[(event_id, stop_id)].append(original.astimezone(UTC))  # type: ignore[union-attr]

    series: list[Series] = []
    for event in events:
        tz = zone(event.timezone)
        overrides: list[OccurrenceOverride] = by_event["overrides"][event.id]  # type: ignore[assignment]
        common = {
            "event": event,
            "library": event.library,
            "tz": tz,
            "branch": event.branch,
            "room": event.room,
            "audiences": tuple(by_event["audiences"][event.id]),
            "languages": tuple(by_event["languages"][event.id]),
            "goals": tuple(by_event["goals"][event.id]),
            "values": tuple(by_event["values"][event.id]),
        }
        rule = _rule_text(event.rrule, event.timezone, event.all_day) if event.rrule else None
        start_local = to_local(event.starts_at, tz)
        route = routes.get(event.id)
        if route is None:
            series.append(
                _series(
                    f"event-{event.id}",
                    start_local,
                    to_local(event.ends_at, tz),
                    rule,
                    _exdates_local(event, start_local),
                    overrides,
                    common,
                )
            )
            continue
        for stop in stops[route.id]:
            originals = visits[(event.id, stop.id)]
            if not originals:
                continue
            first = to_local(originals[0], tz)
            stop_rule = rule
            if rule is not None and (
                "COUNT=" in rule or "UNTIL=" in rule or route.valid_until is not None
            ):
                stop_rule = _with_bounds(rule, originals[-1], all_day=False, tz=tz)
            arrival = stop.arrival.replace(tzinfo=None)
            skipped = [
                dt.datetime.combine(x.date(), arrival) for x in _exdates_local(event, start_local)
            ]
            own = set(originals)
            series.append(
                _series(
                    f"event-{event.id}-stop-{stop.id}",
                    first,
                    first + dt.timedelta(minutes=stop.minutes_parked),
                    stop_rule,
                    [x for x in skipped if x >= first],
                    [o for o in overrides if o.original_start.astimezone(UTC) in own],
                    {**common, "stop": stop, "room": None},
                )
            )
    return await _pin_around_transitions(series)


def ambiguous(local: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether a local time falls in a daylight-saving gap (absent) or overlap (twice)."""
    return (
        local.replace(tzinfo=tz, fold=0).utcoffset() != local.replace(tzinfo=tz, fold=1).utcoffset()
    )


@lru_cache(maxsize=64)
def transitions(tz_name: str, first_year: int, last_year: int) -> tuple[dt.datetime, ...]:
    """The UTC instants (to 15 minutes) at which the zone's offset changes."""
    tz = ZoneInfo(tz_name)
    found: list[dt.datetime] = []
    day = dt.datetime(first_year, 1, 1, tzinfo=UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=UTC)
    offset = day.astimezone(tz).utcoffset()
    while day < end:
        following = day + dt.timedelta(days=1)
        if following.astimezone(tz).utcoffset() != offset:
            moment = day
            while moment.astimezone(tz).utcoffset() == offset:
                moment += dt.timedelta(minutes=15)
            found.append(moment)
            offset = moment.astimezone(tz).utcoffset()
        day = following
    return tuple(found)


# How many years past a series' start its instances are checked against zone changes;
# occurrences are materialised three years ahead at most.
_YEARS_CHECKED = 12


@lru_cache(maxsize=1024)
def _troubled_starts(
    tz_name: str, time_of_day: dt.time, duration: dt.timedelta, first_year: int
) -> tuple[dt.datetime, ...]:
    """Local starts at ``time_of_day`` that are absent, doubled or span a zone change.

    It depends only on the zone, the time and the duration, so thousands of series at
    ordinary hours share one cached (and usually empty) answer.
    """
    tz = ZoneInfo(tz_name)
    found: list[dt.datetime] = []
    for moment in transitions(tz_name, first_year, first_year + _YEARS_CHECKED):
        day = to_local(moment, tz).date()
        for candidate_day in (day - dt.timedelta(days=1), day):
            nominal = dt.datetime.combine(candidate_day, time_of_day)
            start = to_utc(nominal, tz)
            if ambiguous(nominal, tz) or start < moment < start + duration:
                found.append(nominal)
    return tuple(found)


async def _pin_around_transitions(series: list[Series]) -> list[Series]:
    """Publish instances that clients would read differently as explicit overrides.

    Where a rule meets a daylight-saving change, RFC 5545 defines the instant (the offset
    before a gap, the first of an overlap, an exact duration), but clients differ: ical.js
    reads a gap time with the later offset and an overlap time as the second one, and
    recurring-ical-events ends such an instance on wall-clock time. So each instance
    whose local start is absent or doubled, or that spans the change, also gets a
    RECURRENCE-ID override with its start and end as the service computed them.
    """
    wanted: dict[tuple[int, int | None, dt.datetime], tuple[int, dt.datetime]] = {}
    for index, one in enumerate(series):
        if one.rule is None or one.event.all_day:
            continue
        skipped = {c.original_local for c in one.changes} | set(one.exdates)
        for nominal in _troubled_starts(
            one.tz.key,
            one.start_local.time(),
            one.end_local - one.start_local,
            one.start_local.year,
        ):
            if nominal < one.start_local or nominal in skipped:
                continue
            stop_id = one.stop.id if one.stop is not None else None
            wanted[(one.event.id, stop_id, to_utc(nominal, one.tz))] = (index, nominal)
    if not wanted:
        return series
    rows = await Occurrence.filter(
        event_id__in=sorted({key[0] for key in wanted}),
        original_start__in=sorted({key[2] for key in wanted}),
    ).values_list("event_id", "stop_id", "original_start", "starts_at", "ends_at")
    extra: dict[int, list[Change]] = defaultdict(list)
    for event_id, stop_id, original, starts_at, ends_at in rows:
        key = (event_id, stop_id, original.astimezone(UTC))  # type: ignore[union-attr]
        if key not in wanted:
            continue
        index, nominal = wanted[key]
        extra[index].append(
            Change(
                original_local=nominal,
                starts_at=starts_at.astimezone(UTC),  # type: ignore[union-attr]
                ends_at=ends_at.astimezone(UTC),  # type: ignore[union-attr]
                room=None,
                title={},
                note="",
            )
        )
    return [
        replace(
            one, changes=tuple(sorted([*one.changes, *extra[i]], key=lambda c: c.original_local))
        )
        if extra.get(i)
        else one
        for i, one in enumerate(series)
    ]


def _series(
    key: str,
    start_local: dt.datetime,
    end_local: dt.datetime,
    rule: str | None,
    exdates: list[dt.datetime],
    overrides: list[OccurrenceOverride],
    common: dict[str, object],
) -> Series:
    event = common["event"]
    tz = common["tz"]
    assert isinstance(event, Event)
    assert isinstance(tz, ZoneInfo)
    changes: list[Change] = []
    cancelled: list[dt.datetime] = []
    # Every component of a series carries one SEQUENCE and LAST-MODIFIED that move with
    # any change to the event or to one of its occurrences, so clients take each change.
    sequence = event.revision + sum(o.revision for o in overrides)
    last_modified = max(
        [event.updated_at.astimezone(UTC), *(o.updated_at.astimezone(UTC) for o in overrides)]
    )
    for override in overrides:
        original_local = to_local(override.original_start, tz)
        if override.cancelled:
            # EXDATE is the one cancellation every client honours.
            cancelled.append(original_local)
            continue
        original_utc = override.original_start.astimezone(UTC)
        starts_at = override.starts_at or original_utc
        ends_at = override.ends_at or original_utc + (end_local - start_local)
        changes.append(
            Change(
                original_local=original_local,
                starts_at=starts_at.astimezone(UTC),
                ends_at=ends_at.astimezone(UTC),
                room=override.room,
                title=override.title or {},
                note=override.note,
            )
        )
    return Series(
        key=key,
        start_local=start_local,
        end_local=end_local,
        rule=rule,
        exdates=tuple(sorted(set(exdates) | set(cancelled))),
        changes=tuple(changes),
        sequence=sequence,
        last_modified=last_modified,
        stop=common.get("stop"),  # type: ignore[arg-type]
        **{k: v for k, v in common.items() if k != "stop"},  # type: ignore[arg-type]
    )
