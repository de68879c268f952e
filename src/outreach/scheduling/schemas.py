"""Declared inputs of the scheduling service: an event (POST and PATCH), one occurrence's
change, attendance counts. The JSON API and the staff forms hand the service the same
payloads, the service validates them with these models, and ``/openapi.json`` shows them.

What needs the database or the event's zone (references to branches, rooms and tags,
times in a daylight-saving gap, rule limits) is checked by the service.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from outreach.i18n import N_
from outreach.i18n import gettext as _
from outreach.models import AgeBand, AttendanceMode, Audience, EventFormat, EventKind, Visibility
from outreach.scheduling.recurrence import RuleError, zone
from outreach.schemas import (
    CODE_PATTERN,
    MAX_ID,
    SLUG_PATTERN,
    Answer,
    Declared,
    Number,
    OneOf,
    Tally,
    Text,
    Whole,
    problem,
    problem_at,
)

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_LIST = 50
MAX_EXDATES = 1000
MAX_CAPACITY = 100_000
MAX_COUNT = 100_000
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"

Language = Annotated[str, Text(16, LANGUAGE_PATTERN, N_("a language code such as sl or en"))]
Slug = Annotated[str, Text(64, SLUG_PATTERN, N_("a slug"))]
Code = Annotated[str, Text(32, CODE_PATTERN, N_("a code such as A1"))]
Id = Annotated[int, Whole(1, MAX_ID)]


def _translated_object(value: object) -> object:
    if not isinstance(value, dict):
        raise problem("translated", _('must be an object of language → text, e.g. {"sl": "…"}'))
    return {k: v.strip() if isinstance(v, str) else v for k, v in value.items()}


def _drop_blanks(value: dict[str, str]) -> dict[str, str]:
    return {language: text for language, text in value.items() if text}


def _some_text(value: dict[str, str]) -> dict[str, str]:
    if not value:
        raise problem("translated", _("must have a text in at least one language"))
    return value


Title = Annotated[
    dict[Language, Annotated[str, Text(MAX_TITLE)]],
    BeforeValidator(_translated_object),
    AfterValidator(_drop_blanks),
    AfterValidator(_some_text),
]
Description = Annotated[
    dict[Language, Annotated[str, Text(MAX_DESCRIPTION)]],
    BeforeValidator(_translated_object),
    AfterValidator(_drop_blanks),
]


def _known_zone(value: str) -> str:
    try:
        zone(value)
    except RuleError as exc:
        raise problem("zone", str(exc)) from None
    return value


def _not_cancelled(value: object) -> object:
    if value == "cancelled":
        raise problem("status", _("cancel an event with DELETE"))
    return value


def _empty_is_none(value: object) -> object:
    return None if value == "" else value


def _http_url(value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise problem("url", _("must be an http(s) URL"))
    return value


def _unique(items: list[Any]) -> list[Any]:
    if len(set(items)) != len(items):
        raise problem("unique", _("must not repeat an item"))
    return items


def _tags_rules(tags: list[TagIn]) -> list[TagIn]:
    if sum(tag.primary for tag in tags) > 1:
        raise problem("tags", _("at most one tag may be primary"))
    if len({(t.goal, t.value, t.strategy) for t in tags}) != len(tags):
        raise problem("tags", _("must not repeat a tag"))
    return tags


class PlaceIn(Declared):
    """An off-site venue: a name, an address and, together, lat and lon."""

    what: ClassVar[str] = "place"
    name: Annotated[str, Text(200)] = ""
    address: Annotated[str, Text(300)] = ""
    lat: Annotated[float, Number(-90, 90)] | None = None
    lon: Annotated[float, Number(-180, 180)] | None = None

    @model_validator(mode="after")
    def _named_and_paired(self) -> PlaceIn:
        if not self.name.strip():
            raise problem_at("name", _("must not be empty"))
        if (self.lat is None) != (self.lon is None):
            raise problem_at("lat" if self.lat is None else "lon", _("lat and lon go together"))
        return self


class TagIn(Declared):
    """A value or goal by code, with its strategy's slug when codes are ambiguous."""

    what: ClassVar[str] = "a tag"
    goal: Code | None = None
    value: Code | None = None
    strategy: Annotated[str, Text(64, SLUG_PATTERN, N_("a strategy slug"))] | None = None
    primary: bool = False

    @model_validator(mode="after")
    def _one_subject(self) -> TagIn:
        if (self.goal is None) == (self.value is None):
            raise problem("tag", _("must name exactly one of goal or value"))
        return self


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


class EventFields(Declared):
    """The fields of an event, each optional (what a PATCH may change)."""

    what: ClassVar[str] = "an event"
    read_only: ClassVar[tuple[str, ...]] = READ_ONLY

    kind: Annotated[str, OneOf(tuple(k.value for k in EventKind))] | None = None
    title: Title | None = None
    description: Description | None = None
    start: (
        Annotated[str, Text(40), Field(description="local date-time, or a date for all-day events")]
        | None
    ) = None
    end: (
        Annotated[
            str, Text(40), Field(description="local date-time, or the last day of an all-day event")
        ]
        | None
    ) = None
    all_day: bool | None = None
    timezone: Annotated[str, Text(64), AfterValidator(_known_zone)] | None = None
    rrule: Annotated[
        Annotated[str, Text(500)] | None,
        BeforeValidator(_empty_is_none),
        Field(description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;COUNT=4"),
    ] = None
    exdates: Annotated[list[Annotated[str, Text(40)]], Field(max_length=MAX_EXDATES)] | None = None
    branch: Annotated[str, Text(64, SLUG_PATTERN, N_("a branch slug or null"))] | None = None
    room: Id | None = None
    place: PlaceIn | None = None
    audiences: (
        Annotated[
            list[Annotated[str, OneOf(tuple(a.value for a in Audience))]],
            Field(max_length=MAX_LIST),
            AfterValidator(_unique),
        ]
        | None
    ) = None
    languages: (
        Annotated[list[Language], Field(max_length=MAX_LIST), AfterValidator(_unique)] | None
    ) = None
    format: Annotated[str, OneOf(tuple(f.value for f in EventFormat))] | None = None
    online_url: Annotated[str, Text(500), AfterValidator(_http_url)] | None = None
    capacity: Annotated[int, Whole(0, MAX_CAPACITY)] | None = None
    partners: Annotated[list[Slug], Field(max_length=MAX_LIST), AfterValidator(_unique)] | None = (
        None
    )
    co_organisers: (
        Annotated[list[Slug], Field(max_length=MAX_LIST), AfterValidator(_unique)] | None
    ) = None
    staff: Annotated[list[Id], Field(max_length=MAX_LIST), AfterValidator(_unique)] | None = None
    visibility: Annotated[str, OneOf(tuple(v.value for v in Visibility))] | None = None
    status: (
        Annotated[str, OneOf(("draft", "published")), BeforeValidator(_not_cancelled)] | None
    ) = None
    tags: Annotated[list[TagIn], Field(max_length=MAX_LIST), AfterValidator(_tags_rules)] | None = (
        None
    )


# Fields that null clears; for every other field null is refused.
NULLABLE = frozenset({"timezone", "rrule", "branch", "room", "place", "capacity"})


class NewEventFields(EventFields):
    """The fields of a new event: ``kind``, ``title``, ``start`` and ``end`` are required."""

    kind: Annotated[str, OneOf(tuple(k.value for k in EventKind))]  # type: ignore[assignment]
    title: Title  # type: ignore[assignment]
    start: Annotated[str, Text(40)]  # type: ignore[assignment]
    end: Annotated[str, Text(40)]  # type: ignore[assignment]


class NewEvent(NewEventFields):
    """``POST /api/events``: a new event of ``library``."""

    required: ClassVar[dict[str, str]] = {
        "library": N_("is required: the slug of the organising library")
    }
    library: Annotated[str, Text(64)] = Field(description="the slug of the organising library")


class EventChange(EventFields):
    """``PATCH /api/events/{id}``: the fields to change; ``revision``, if given, must be
    the event's current one."""

    read_only: ClassVar[tuple[str, ...]] = tuple(n for n in READ_ONLY if n != "revision")
    revision: Annotated[int, Whole(1, MAX_ID)] | None = None
    library: Annotated[str, Text(64)] | None = Field(default=None, description="cannot be changed")


class OccurrenceChange(Declared):
    """``PATCH /api/events/{id}/occurrences/{start}``: move one occurrence (start and end
    together), give it another room or its own title (``{}`` takes the series' back), or
    cancel it."""

    what: ClassVar[str] = "an occurrence change"
    start: Annotated[str, Text(40)] | None = None
    end: Annotated[str, Text(40)] | None = None
    room: Annotated[int, Whole(1, MAX_ID)] | None = None
    title: Description | None = None
    cancelled: bool | None = None
    note: Annotated[str, Text(500)] | None = None


class CountIn(Declared):
    """People at one session of one age band, on site or online."""

    what: ClassVar[str] = "a count"
    age_band: Annotated[str, OneOf(tuple(b.value for b in AgeBand))] = "unknown"
    mode: Annotated[str, OneOf(tuple(m.value for m in AttendanceMode))] = "on_site"
    count: Annotated[int, Tally(MAX_COUNT)]


def _one_to_twenty(value: object) -> object:
    if not isinstance(value, list) or not 1 <= len(value) <= 20:
        raise problem("counts", _("must be a list of 1 to 20 counts"))
    return value


def _no_repeated_band(counts: list[CountIn]) -> list[CountIn]:
    if len({(c.age_band, c.mode) for c in counts}) != len(counts):
        raise problem("unique", _("must not repeat an age band and mode"))
    return counts


class AttendanceIn(Declared):
    """``POST /api/events/{id}/attendance``: counts for one past occurrence (of one stop,
    for a bookmobile route)."""

    what: ClassVar[str] = "attendance"
    original_start: Annotated[str, Text(40)] = Field(
        description="the occurrence's original start in UTC, e.g. 2026-12-01T09:00:00Z"
    )
    stop: Annotated[int, Whole(1, MAX_ID)] | None = None
    counts: Annotated[
        list[CountIn],
        BeforeValidator(_one_to_twenty),
        Field(min_length=1, max_length=20),
        AfterValidator(_no_repeated_band),
    ]


class PlaceOut(Answer):
    name: str
    address: str
    lat: float | None
    lon: float | None


class TagOut(Answer):
    goal: str | None = None
    value: str | None = None
    strategy: str | None
    primary: bool


class EventOut(Answer):
    """An event as the API answers it: its fields, revision and instants in UTC."""

    id: int
    library: str
    kind: str
    title: dict[str, str]
    description: dict[str, str]
    start: str
    end: str
    all_day: bool
    timezone: str | None
    rrule: str | None
    exdates: list[str]
    branch: str | None
    room: int | None
    place: PlaceOut | None
    audiences: list[str]
    languages: list[str]
    format: str
    online_url: str
    capacity: int | None
    partners: list[str]
    co_organisers: list[str]
    staff: list[int] | None = Field(None, description="only for staff of the library")
    visibility: str
    status: str
    tags: list[TagOut]
    revision: int
    starts_at: str
    ends_at: str
    created_at: str
    updated_at: str
    cancelled_at: str | None


class EventWritten(EventOut):
    """The event after a write, with warnings (e.g. outside the branch's opening hours)."""

    warnings: list[Any]
    # The approval request a change waits in, where the library's directors approve
    # every change to a published event (the event above is as it still is).
    pending_approval: int | None = None


class EventPage(Answer):
    events: list[EventOut]
    count: int
    next: str | None


class OccurrenceOut(Answer):
    event: int
    title: dict[str, str]
    original_start: str
    start: str
    end: str
    local_start: str
    local_end: str
    timezone: str
    all_day: bool
    cancelled: bool
    branch: str | None
    room: int | None
    stop: int | None
    vehicle: int | None


class OccurrencePage(Answer):
    occurrences: list[OccurrenceOut]
    count: int
    next: str | None


class CountOut(Answer):
    age_band: str
    mode: str
    count: int


class SessionOut(Answer):
    original_start: str
    stop: int | None
    counts: list[CountOut]
    total: int


class AttendanceOut(Answer):
    """Attendance counts per occurrence (and stop) of an event."""

    event: int
    attendance: list[SessionOut]
