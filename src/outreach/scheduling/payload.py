"""Event payloads: every problem is collected as ``{field: problem}``.

Two steps, because a PATCH is checked against the event it changes:

1. :func:`parse_fields` checks each given field on its own with the declared models of
   :mod:`outreach.scheduling.schemas` (type, length, choice) and returns them as an
   :class:`EventData` patch; unknown and read-only fields are refused.
2. :func:`resolve_times` interprets ``start``/``end``/``rrule``/``exdates`` of the merged
   data in its time zone (end after start, a bounded rule, readable exdates).

References to other rows (branch, room, partners, tags, staff) are checked by the
service inside its transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from outreach.errors import Invalid
from outreach.i18n import gettext as _
from outreach.models import EventFormat, EventStatus, Visibility
from outreach.scheduling.recurrence import (
    MAX_OCCURRENCES,
    Rule,
    RuleError,
    count_instances,
    first_instance,
    parse_local,
    parse_rule,
    to_local,
    to_utc,
    zone,
)
from outreach.scheduling.schemas import NULLABLE, EventFields, NewEventFields, PlaceIn
from outreach.schemas import validate

# The longest a single occurrence may last (a long exhibition); it also bounds how far
# back the conflict check looks for an occurrence that might still be running.
MAX_DURATION = dt.timedelta(days=366)
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100


@dataclass(frozen=True)
class Place:
    """An off-site venue."""

    name: str
    address: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class TagInput:
    """A value or goal by code, optionally naming its strategy when codes are ambiguous."""

    kind: str  # "goal" or "value"
    code: str
    strategy: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class EventData:
    """An event as the API speaks of it (without its read-only fields).

    ``start``/``end`` are local ISO strings in ``timezone``: date-times, or for all-day
    events dates with ``end`` the last day (inclusive).
    """

    kind: str
    title: dict[str, str]
    start: str
    end: str
    description: dict[str, str] = field(default_factory=dict)
    all_day: bool = False
    timezone: str | None = None
    rrule: str | None = None
    exdates: list[str] = field(default_factory=list)
    branch: str | None = None
    room: int | None = None
    place: Place | None = None
    audiences: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    format: str = EventFormat.IN_PERSON.value
    online_url: str = ""
    capacity: int | None = None
    partners: list[str] = field(default_factory=list)
    co_organisers: list[str] = field(default_factory=list)
    staff: list[int] = field(default_factory=list)
    visibility: str = Visibility.PUBLIC.value
    status: str = EventStatus.DRAFT.value
    tags: list[TagInput] = field(default_factory=list)


FIELDS = tuple(f.name for f in dataclasses.fields(EventData))


@dataclass(frozen=True)
class Times:
    """The resolved times of an event: UTC instants, zone, rule and exdates."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    tz: ZoneInfo
    rule: Rule | None
    exdates: list[str]


class Problems(dict[str, str]):
    """Field → problem; the first problem found for a field wins."""

    def add(self, name: str, problem: str) -> None:
        self.setdefault(name, problem)


def parse_fields(payload: object, *, partial: bool) -> dict[str, Any]:
    """The fields of a POST (``partial=False``) or PATCH body, checked each on its own by
    the declared model (:mod:`outreach.scheduling.schemas`), by field name; raises
    :class:`Invalid` naming every field at fault."""
    checked = validate(EventFields if partial else NewEventFields, payload)
    values: dict[str, Any] = {}
    problems = Problems()
    for name in sorted(checked.model_fields_set):
        value = getattr(checked, name)
        if value is None and name not in NULLABLE:
            problems.add(name, "must not be null")
        elif isinstance(value, PlaceIn):
            values[name] = Place(value.name.strip(), value.address.strip(), value.lat, value.lon)
        elif name == "tags":
            values[name] = [
                TagInput(
                    "goal" if t.goal else "value", t.goal or t.value or "", t.strategy, t.primary
                )
                for t in value
            ]
        else:
            values[name] = value
    if problems:
        raise_problems(problems)
    return values


def _local(
    raw: str, name: str, tz: ZoneInfo, *, all_day: bool, problems: Problems
) -> dt.datetime | None:
    """A local wall-clock time from a payload string (an offset, if given, is converted)."""
    if all_day:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            problems.add(name, _("must be a date (YYYY-MM-DD) for an all-day event"))
            return None
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            problems.add(name, _years())
            return None
        return dt.datetime.combine(day, dt.time())
    if len(raw) <= 10:
        problems.add(name, _("must be a local date-time such as 2026-12-01T10:00:00"))
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        problems.add(name, _("must be a local date-time such as 2026-12-01T10:00:00"))
        return None
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        problems.add(name, _years())
        return None
    if value.tzinfo is not None:
        value = to_local(value, tz)
    return value.replace(microsecond=0)


def _years() -> str:
    return _("must be between %(first)s and %(last)s", first=EARLIEST_YEAR, last=LATEST_YEAR)


def resolve_times(data: EventData, *, library_timezone: str, horizon_end: dt.datetime) -> Times:
    """Interpret the times of merged event data; raise with every problem found."""
    problems = Problems()
    try:
        tz = zone(data.timezone or library_timezone)
    except RuleError as exc:
        raise_problems({"timezone": str(exc)})
    start = _local(data.start, "start", tz, all_day=data.all_day, problems=problems)
    end = _local(data.end, "end", tz, all_day=data.all_day, problems=problems)
    if data.all_day and end is not None:
        end += dt.timedelta(days=1)  # the last day is inclusive
    if problems:
        raise_problems(problems)
    assert start is not None
    assert end is not None
    starts_at, ends_at = to_utc(start, tz), to_utc(end, tz)
    if not data.all_day:
        # The first start is the series' DTSTART: in the spring-forward gap it would be
        # stored as the shifted time and every later instance would move with it. An end
        # in the gap would be read differently by each calendar client.
        for name, local in (("start", start), ("end", end)):
            problem = absent_time(local, tz)
            if problem is not None:
                problems.add(name, problem)
    if "start" in problems or "end" in problems:
        pass  # comparing a time that does not exist would only add a misleading message
    elif ends_at <= starts_at:
        problems.add(
            "end", _("must be after start") if not data.all_day else _("must not be before start")
        )
    elif ends_at - starts_at > MAX_DURATION:
        problems.add(
            "end", _("an occurrence may last at most %(days)s days", days=MAX_DURATION.days)
        )
    rule = None
    if data.rrule:
        try:
            rule = parse_rule(data.rrule, tz=tz, all_day=data.all_day)
        except RuleError as exc:
            problems.add("rrule", str(exc))
    exdates: list[str] = []
    for index, raw in enumerate(data.exdates):
        try:
            local = parse_local(raw)
        except RuleError as exc:
            problems.add(f"exdates[{index}]", str(exc))
            continue
        exdates.append(local.date().isoformat() if len(raw) == 10 else local.isoformat())
    if rule is not None and "rrule" not in problems and "start" not in problems:
        first = first_instance(start, rule, tz)
        if first is None:
            problems.add("rrule", _("gives no occurrence from the start on (UNTIL is before it)"))
        elif first != start:
            problems.add(
                "start",
                _(
                    "%(start)s is not an occurrence of the rule %(rule)s: the event must start"
                    " on its first occurrence, %(first)s",
                    start=start.isoformat(),
                    rule=rule.text,
                    first=first.isoformat(),
                ),
            )
    if rule is not None and "rrule" not in problems:
        until = to_local(horizon_end, tz)
        if count_instances(start, rule, tz, until_local=until) > MAX_OCCURRENCES:
            problems.add(
                "rrule",
                _(
                    "produces more than %(count)s occurrences within the horizon:"
                    " add COUNT or UNTIL",
                    count=MAX_OCCURRENCES,
                ),
            )
    if problems:
        raise_problems(problems)
    return Times(starts_at, ends_at, tz, rule, sorted(set(exdates)))


def local_iso(instant: dt.datetime, tz: ZoneInfo) -> str:
    """A UTC instant as local ISO 8601 time with its offset (2026-10-25T03:30:00+03:00):
    without it, a time in the repeated autumn hour would name two instants."""
    return instant.astimezone(tz).isoformat()


def absent_time(local: dt.datetime, tz: ZoneInfo) -> str | None:
    """Why a local time cannot be used, when the clocks jump over it; else None."""
    shifted = to_local(to_utc(local, tz), tz)
    if shifted == local:
        return None
    return _(
        "%(time)s does not exist in %(zone)s (the clocks go forward); it would be %(shifted)s",
        time=local.isoformat(),
        zone=tz.key,
        shifted=shifted.strftime("%H:%M"),
    )


def local_input(instant: dt.datetime, tz: ZoneInfo) -> str:
    """A UTC instant as the local wall-clock time an event's ``start``/``end`` take."""
    return to_local(instant, tz).isoformat()


def raise_problems(problems: Mapping[str, str]) -> NoReturn:
    """Raise the 422 that names every field at fault."""
    raise Invalid(dict(problems))
