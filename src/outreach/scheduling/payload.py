"""Event payloads checked by hand: every problem is collected as ``{field: problem}``.

Two steps, because a PATCH is checked against the event it changes:

1. :func:`parse_fields` checks each given field on its own (type, length, choice) and
   returns them as an :class:`EventData` patch; unknown and read-only fields are refused.
2. :func:`resolve_times` interprets ``start``/``end``/``rrule``/``exdates`` of the merged
   data in its time zone (end after start, a bounded rule, readable exdates).

References to other rows (branch, room, partners, tags, staff) are checked by the
service inside its transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from outreach.models import Audience, EventFormat, EventKind, EventStatus, Visibility
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
from outreach.web.errors import Invalid

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_LIST = 50
MAX_EXDATES = 1000
MAX_CAPACITY = 100_000
# The longest a single occurrence may last (a long exhibition); it also bounds how far
# back the conflict check looks for an occurrence that might still be running.
MAX_DURATION = dt.timedelta(days=366)
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")

READ_ONLY = (
    "id",
    "created_at",
    "updated_at",
    "cancelled_at",
    "starts_at",
    "ends_at",
    "occurrences",
    "revision",
)


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
REQUIRED = ("kind", "title", "start", "end")


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


def shown(text: object, limit: int = 64) -> str:
    """User text safe to echo in an error: cut short, lone surrogates escaped."""
    return str(text)[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def check_text(value: object, name: str, problems: Problems, *, limit: int) -> str | None:
    """A string of at most ``limit`` characters that a database can store, or None."""
    if not isinstance(value, str):
        problems.add(name, "must be a string")
        return None
    if len(value) > limit:
        problems.add(name, f"must be at most {limit} characters")
        return None
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        problems.add(name, "must not contain control characters")
        return None
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
            problems.add(name, "must be valid Unicode text")
            return None
    return value


def check_translated(
    value: object, name: str, problems: Problems, *, limit: int, required: bool
) -> dict[str, str] | None:
    """Language code → text (each at most ``limit`` characters), blanks dropped, or None."""
    if not isinstance(value, dict):
        problems.add(name, 'must be an object of language → text, e.g. {"sl": "…"}')
        return None
    result: dict[str, str] = {}
    for language, text in value.items():
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            problems.add(name, f"{str(language)[:20]!r} is not a language code such as sl or en")
            return None
        checked = check_text(text, f"{name}.{language}", problems, limit=limit)
        if checked is None:
            return None
        if checked.strip():
            result[language] = checked.strip()
    if required and not result:
        problems.add(name, "must have a text in at least one language")
        return None
    return result


def _choice(value: object, name: str, problems: Problems, choices: list[str]) -> str | None:
    if not isinstance(value, str) or value not in choices:
        problems.add(name, f"must be one of {', '.join(choices)}")
        return None
    return value


def _list(
    value: object, name: str, problems: Problems, *, limit: int = MAX_LIST
) -> list[Any] | None:
    if not isinstance(value, list):
        problems.add(name, "must be a list")
        return None
    if len(value) > limit:
        problems.add(name, f"must have at most {limit} items")
        return None
    return value


def _strings(
    value: object, name: str, problems: Problems, pattern: re.Pattern[str], what: str
) -> list[str] | None:
    items = _list(value, name, problems)
    if items is None:
        return None
    for index, item in enumerate(items):
        if not isinstance(item, str) or not pattern.match(item):
            problems.add(f"{name}[{index}]", f"must be {what}")
            return None
    if len(set(items)) != len(items):
        problems.add(name, "must not repeat an item")
        return None
    return list(items)


def _integer(value: object, name: str, problems: Problems, *, low: int, high: int) -> int | None:
    # bool is an int in Python, but true is not a number of seats.
    if not isinstance(value, int) or isinstance(value, bool):
        problems.add(name, "must be a whole number")
        return None
    if not low <= value <= high:
        problems.add(name, f"must be between {low} and {high}")
        return None
    return value


def _number(
    value: object, name: str, problems: Problems, *, low: float, high: float
) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        problems.add(name, "must be a number")
        return None
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        problems.add(name, f"must be between {low:g} and {high:g}")
        return None
    return number


def _place(value: object, problems: Problems) -> Place | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add("place", "must be an object {name, address, lat, lon} or null")
        return None
    unknown = sorted(set(value) - {"name", "address", "lat", "lon"})
    if unknown:
        problems.add(f"place.{unknown[0]}", "is not a field of place")
        return None
    name = check_text(value.get("name", ""), "place.name", problems, limit=200)
    address = check_text(value.get("address", ""), "place.address", problems, limit=300)
    lat = lon = None
    if value.get("lat") is not None:
        lat = _number(value["lat"], "place.lat", problems, low=-90, high=90)
    if value.get("lon") is not None:
        lon = _number(value["lon"], "place.lon", problems, low=-180, high=180)
    if (value.get("lat") is None) != (value.get("lon") is None):
        problems.add(
            "place.lat" if value.get("lat") is None else "place.lon", "lat and lon go together"
        )
    if name is not None and not name.strip():
        problems.add("place.name", "must not be empty")
    if name is None or address is None:
        return None
    return Place(name=name.strip(), address=address.strip(), lat=lat, lon=lon)


def _tags(value: object, problems: Problems) -> list[TagInput] | None:
    items = _list(value, "tags", problems)
    if items is None:
        return None
    tags: list[TagInput] = []
    for index, item in enumerate(items):
        name = f"tags[{index}]"
        if not isinstance(item, dict):
            problems.add(name, 'must be an object such as {"goal": "A1"} or {"value": "…"}')
            return None
        unknown = sorted(set(item) - {"goal", "value", "strategy", "primary"})
        if unknown:
            problems.add(f"{name}.{unknown[0]}", "is not a field of a tag")
            return None
        kinds = [k for k in ("goal", "value") if k in item]
        if len(kinds) != 1:
            problems.add(name, "must name exactly one of goal or value")
            return None
        code = item[kinds[0]]
        if not isinstance(code, str) or not _CODE.match(code):
            problems.add(f"{name}.{kinds[0]}", "must be a code such as A1")
            return None
        strategy = item.get("strategy")
        if strategy is not None and (not isinstance(strategy, str) or not _SLUG.match(strategy)):
            problems.add(f"{name}.strategy", "must be a strategy slug")
            return None
        primary = item.get("primary", False)
        if not isinstance(primary, bool):
            problems.add(f"{name}.primary", "must be true or false")
            return None
        tags.append(TagInput(kinds[0], code, strategy, primary))
    if sum(tag.primary for tag in tags) > 1:
        problems.add("tags", "at most one tag may be primary")
        return None
    if len({(t.kind, t.code, t.strategy) for t in tags}) != len(tags):
        problems.add("tags", "must not repeat a tag")
        return None
    return tags


def parse_fields(payload: object, *, partial: bool) -> dict[str, Any]:
    """Check the fields of a POST (``partial=False``) or PATCH body on their own.

    Returns the checked values by field name; raises :class:`~outreach.web.errors.Invalid`
    through :func:`raise_problems` with every problem found.
    """
    problems = Problems()
    if not isinstance(payload, dict):
        raise_problems({"body": "must be a JSON object"})
    values: dict[str, Any] = {}
    for name in payload:
        if not isinstance(name, str) or name not in FIELDS:
            problem = "is read-only" if name in READ_ONLY else "is not a field of an event"
            problems.add(shown(name), problem)
    if not partial:
        for name in REQUIRED:
            if name not in payload:
                problems.add(name, "is required")
    for name in FIELDS:
        if name not in payload:
            continue
        value = payload[name]
        checked = _check_field(name, value, problems)
        if name not in problems:
            values[name] = checked
    if problems:
        raise_problems(problems)
    return values


def _check_field(name: str, value: object, problems: Problems) -> Any:
    if name == "kind":
        return _choice(value, name, problems, [k.value for k in EventKind])
    if name == "title":
        return check_translated(value, name, problems, limit=MAX_TITLE, required=True)
    if name == "description":
        return check_translated(value, name, problems, limit=MAX_DESCRIPTION, required=False)
    if name in ("start", "end"):
        return check_text(value, name, problems, limit=40)
    if name == "all_day":
        if not isinstance(value, bool):
            problems.add(name, "must be true or false")
        return value
    if name == "timezone":
        if value is None:
            return None
        try:
            zone(value if isinstance(value, str) else "")
        except RuleError as exc:
            problems.add(name, str(exc))
        return value
    if name == "rrule":
        if value is None or value == "":
            return None
        return check_text(value, name, problems, limit=500)
    if name == "exdates":
        items = _list(value, name, problems, limit=MAX_EXDATES)
        if items is not None:
            for index, item in enumerate(items):
                if check_text(item, f"{name}[{index}]", problems, limit=40) is None:
                    return None
        return items
    if name == "branch":
        if value is None:
            return None
        if not isinstance(value, str) or not _SLUG.match(value):
            problems.add(name, "must be a branch slug or null")
        return value
    if name == "room":
        if value is None:
            return None
        return _integer(value, name, problems, low=1, high=2**31 - 1)
    if name == "place":
        return _place(value, problems)
    if name == "audiences":
        items = _strings(value, name, problems, re.compile(r"^.*$"), "an audience")
        choices = [a.value for a in Audience]
        for index, item in enumerate(items or []):
            if item not in choices:
                problems.add(f"{name}[{index}]", f"must be one of {', '.join(choices)}")
        return items
    if name == "languages":
        return _strings(value, name, problems, _LANGUAGE, "a language code such as sl or en")
    if name == "format":
        return _choice(value, name, problems, [f.value for f in EventFormat])
    if name == "online_url":
        url = check_text(value, name, problems, limit=500)
        if url and not url.startswith(("https://", "http://")):
            problems.add(name, "must be an http(s) URL")
        return url
    if name == "capacity":
        if value is None:
            return None
        return _integer(value, name, problems, low=0, high=MAX_CAPACITY)
    if name in ("partners", "co_organisers"):
        return _strings(value, name, problems, _SLUG, "a slug")
    if name == "staff":
        items = _list(value, name, problems)
        for index, item in enumerate(items or []):
            if _integer(item, f"{name}[{index}]", problems, low=1, high=2**31 - 1) is None:
                return None
        if items is not None and len(set(items)) != len(items):
            problems.add(name, "must not repeat an item")
        return items
    if name == "visibility":
        return _choice(value, name, problems, [v.value for v in Visibility])
    if name == "status":
        choices = [EventStatus.DRAFT.value, EventStatus.PUBLISHED.value]
        if value == EventStatus.CANCELLED.value:
            problems.add(name, "cancel an event with DELETE")
            return None
        return _choice(value, name, problems, choices)
    if name == "tags":
        return _tags(value, problems)
    raise AssertionError(name)  # FIELDS and this function list the same names


def _local(
    raw: str, name: str, tz: ZoneInfo, *, all_day: bool, problems: Problems
) -> dt.datetime | None:
    """A local wall-clock time from a payload string (an offset, if given, is converted)."""
    if all_day:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            problems.add(name, "must be a date (YYYY-MM-DD) for an all-day event")
            return None
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            problems.add(name, f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
            return None
        return dt.datetime.combine(day, dt.time())
    if len(raw) <= 10:
        problems.add(name, "must be a local date-time such as 2026-12-01T10:00:00")
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        problems.add(name, "must be a local date-time such as 2026-12-01T10:00:00")
        return None
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        problems.add(name, f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
        return None
    if value.tzinfo is not None:
        value = to_local(value, tz)
    return value.replace(microsecond=0)


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
            "end", "must be after start" if not data.all_day else "must not be before start"
        )
    elif ends_at - starts_at > MAX_DURATION:
        problems.add("end", f"an occurrence may last at most {MAX_DURATION.days} days")
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
            problems.add("rrule", "gives no occurrence from the start on (UNTIL is before it)")
        elif first != start:
            problems.add(
                "start",
                f"{start.isoformat()} is not an occurrence of the rule {rule.text}: the event"
                f" must start on its first occurrence, {first.isoformat()}",
            )
    if rule is not None and "rrule" not in problems:
        until = to_local(horizon_end, tz)
        if count_instances(start, rule, tz, until_local=until) > MAX_OCCURRENCES:
            problems.add(
                "rrule",
                f"produces more than {MAX_OCCURRENCES} occurrences within the horizon:"
                " add COUNT or UNTIL",
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
    return (
        f"{local.isoformat()} does not exist in {tz.key} (the clocks go forward);"
        f" it would be {shifted.strftime('%H:%M')}"
    )


def local_input(instant: dt.datetime, tz: ZoneInfo) -> str:
    """A UTC instant as the local wall-clock time an event's ``start``/``end`` take."""
    return to_local(instant, tz).isoformat()


def raise_problems(problems: Mapping[str, str]) -> NoReturn:
    """Raise the 422 that names every field at fault."""
    raise Invalid(dict(problems))
