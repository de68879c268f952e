"""Declared inputs and answers of room requests (the public request, a staff decision, the
free and busy times of a room), for the JSON API, the pages and ``/openapi.json``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar

from pydantic import Field, field_validator, model_validator

from outreach.i18n import INTERFACE_LANGUAGES
from outreach.i18n import gettext as _
from outreach.models import EventKind
from outreach.schemas import (
    MAX_ID,
    Answer,
    Count,
    Day,
    Declared,
    OneOf,
    Text,
    Whole,
    problem,
    problem_at,
)

MAX_ATTENDEES = 10_000
MAX_DAYS = 35
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# Deliberately loose: one @, something on each side, a dot in the domain. The address is
# proved by the notices reaching it, not by a pattern.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Empty, or digits with the usual separators.
PHONE_PATTERN = r"^(\+?[0-9 ()./-]{5,31})?$"

Id = Annotated[int, Whole(1, MAX_ID)]
Time = Annotated[str, Text(5, TIME_PATTERN, "a time of day such as 17:30")]


class RoomRequestIn(Declared):
    """A request for a room at one time on one day (the library's local time)."""

    what: ClassVar[str] = "the room request"

    library: Annotated[str, Text(64)]
    room: Id
    day: Annotated[dt.date, Day("2027-03-04")]
    start: Time
    end: Time
    attendees: Annotated[int, Whole(1, MAX_ATTENDEES)]
    purpose: Annotated[str, Text(500)]
    name: Annotated[str, Text(200)]
    organisation: Annotated[str, Text(200)] = ""
    email: Annotated[str, Text(254, EMAIL_PATTERN, "an email address such as ana@example.org")]
    phone: Annotated[str, Text(32, PHONE_PATTERN, "a phone number such as +386 4 201 35 00")] = ""
    # The requester agrees that the library keeps these details until they are erased.
    consent: bool
    language: Annotated[str, OneOf(INTERFACE_LANGUAGES)] = "en"
    # A field people never see: a form that fills it in is a robot's (see the page).
    website: Annotated[str, Text(200)] = ""

    @field_validator("purpose", "name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise problem("required", _("is required"))
        return value.strip()

    @field_validator("consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise problem("consent", _("must be given to send the request"))
        return value

    @model_validator(mode="after")
    def _ends_after_start(self) -> RoomRequestIn:
        if self.end <= self.start:
            raise problem_at("end", _("must be after the start"))
        return self


class DecisionIn(Declared):
    """A staff member's answer to a request: approve (internal, or public as an event of
    the programme with its title and kind) or decline, with a message to the requester."""

    what: ClassVar[str] = "the decision"

    decision: Annotated[str, OneOf(("approve", "decline"))]
    message: Annotated[str, Text(2000)] = ""
    public: bool = False
    title: Annotated[str, Text(200)] = ""
    kind: Annotated[str, OneOf(tuple(k.value for k in EventKind if k != EventKind.BOOKMOBILE))] = (
        EventKind.CLUB.value
    )

    @model_validator(mode="after")
    def _public_needs_a_title(self) -> DecisionIn:
        if self.public and self.decision == "approve" and not self.title.strip():
            raise problem_at("title", _("is required to make the booking public"))
        return self


class AvailabilityQuery(Declared):
    """From which local day the busy times are shown (default: today), for how many days."""

    unknown: ClassVar[str] = "is not a parameter"
    from_: Annotated[dt.date, Day()] | None = Field(None, alias="from", description="first day")
    days: Annotated[int, Count(1, MAX_DAYS)] = Field(7, description="how many days")


class Busy(Answer):
    """A time the room is taken: who or what takes it is never said."""

    start: str
    end: str


class RoomAvailability(Answer):
    id: int
    name: str
    branch: str
    capacity: int
    busy: list[Busy]


class AvailabilityOut(Answer):
    """The requestable rooms of a library and when each is taken, from ``from`` for
    ``days`` days (local times with their offset)."""

    library: str
    from_: str = Field(alias="from")
    days: int
    rooms: list[RoomAvailability]


class RoomRequestAccepted(Answer):
    """A request received; staff will answer by email."""

    id: int
    status: str


class RoomRequestOut(Answer):
    """A request as staff see it (personal data until it is erased, then null)."""

    id: int
    library: str
    room: int
    room_name: str
    start: str
    end: str
    attendees: int
    status: str
    visibility: str
    event: int | None
    language: str
    purpose: str | None
    name: str | None
    organisation: str | None
    email: str | None
    phone: str | None
    message: str
    created_at: str
    decided_at: str | None
    erased: bool


class RoomRequestList(Answer):
    requests: list[RoomRequestOut]
