"""Declared inputs and answers of registration (the JSON API and the forms share them)."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, model_validator

from outreach.i18n import N_
from outreach.i18n import gettext as _
from outreach.models import AgeBand, RegistrationScope
from outreach.schemas import Answer, Declared, OneOf, Tally, Text, Whole, problem, problem_at

MAX_PARTY = 50
MAX_CAPACITY = 100_000
MAX_MINUTES = 60 * 24 * 60
# A deliberately plain check (RFC 5321 sizes, one @, a dotted domain, no spaces or angle
# brackets): whether the address exists only delivery can tell.
_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"]{1,64}@([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
BANDS = tuple(b.value for b in AgeBand if b is not AgeBand.UNKNOWN)


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise problem(
            "email", _("must be an email address such as %(example)s", example="ana@example.org")
        )
    return value


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise problem("name", _("must not be empty (a first name or a pseudonym will do)"))
    return value


Email = Annotated[str, Text(254), AfterValidator(_email)]
Name = Annotated[str, Text(100), AfterValidator(_name)]
Party = Annotated[int, Whole(1, MAX_PARTY)]
Bands = dict[Annotated[str, OneOf(BANDS)], Annotated[int, Tally(MAX_PARTY)]]
Instant = Annotated[str, Text(40)]
Language = Annotated[str, Text(16, r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", N_("a language code"))]


def _bands_fit(party: int | None, bands: dict[str, int] | None) -> None:
    if bands and party is not None and sum(bands.values()) != party:
        raise problem_at("age_bands", _("must add up to the party size (%(party)s)", party=party))


class RegistrationIn(Declared):
    """A patron's registration (the public form and ``POST …/registrations``)."""

    what: ClassVar[str] = "a registration"
    original_start: Instant | None = Field(
        default=None,
        description="The occurrence (its original start, UTC); omitted for a series.",
    )
    name: Name
    email: Email
    party_size: Party = 1
    age_bands: Bands | None = Field(
        default=None, description="How many of the party are in each age band."
    )
    language: Language | None = None
    consent: bool = Field(description="The patron agreed to the consent text shown.")
    # The honeypot: a field people never see and robots fill in.
    website: Annotated[str, Text(200)] = ""

    @model_validator(mode="after")
    def _check(self) -> RegistrationIn:
        if not self.consent:
            raise problem_at("consent", _("must be given to register"))
        _bands_fit(self.party_size, self.age_bands)
        return self


class StaffRegistrationIn(Declared):
    """A registration taken by staff (by phone): the email is optional."""

    what: ClassVar[str] = "a registration"
    original_start: Instant | None = None
    name: Name
    email: Email | None = None
    party_size: Party = 1
    age_bands: Bands | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _check(self) -> StaffRegistrationIn:
        _bands_fit(self.party_size, self.age_bands)
        return self


class RegistrationChange(Declared):
    """What a patron may change through their link."""

    what: ClassVar[str] = "a change of registration"
    name: Name | None = None
    party_size: Party | None = None
    age_bands: Bands | None = None

    @model_validator(mode="after")
    def _check(self) -> RegistrationChange:
        _bands_fit(self.party_size, self.age_bands)
        return self


class CheckIn(Declared):
    """Staff mark a party as come, absent, or (undoing) still expected."""

    what: ClassVar[str] = "a check-in"
    status: Annotated[str, OneOf(("attended", "no_show", "confirmed"))]


class PolicyIn(Declared):
    """That an event takes registrations, and how (``PUT …/registration-policy``)."""

    what: ClassVar[str] = "a registration policy"
    scope: Annotated[str, OneOf(tuple(s.value for s in RegistrationScope))] = "occurrence"
    opens_at: Instant | None = None
    closes_at: Instant | None = None
    closes_before_minutes: Annotated[int, Whole(0, MAX_MINUTES)] = 0
    max_party: Annotated[int, Whole(1, MAX_PARTY)] = 4
    asks_age_bands: bool = False
    waitlist: bool = True


class CapacityIn(Declared):
    """The places of one occurrence (``null``: the event's again)."""

    what: ClassVar[str] = "a capacity"
    capacity: Annotated[int, Whole(0, MAX_CAPACITY)] | None


class Received(Answer):
    """The public answer to a registration: the same whether or not the address was
    registered already, so it tells nobody who else is."""

    message: str


class PlacesOut(Answer):
    original_start: str | None
    capacity: int | None
    confirmed: int
    waitlisted: int
    left: int | None
    open: bool
    reason: str | None


class RegistrationOut(Answer):
    """One registration as its holder (through the link) or staff see it."""

    id: int
    event: int
    original_start: str | None
    status: str
    party_size: int
    age_bands: dict[str, int]
    name: str | None
    email: str | None
    language: str
    position: int | None = Field(default=None, description="Place on the waitlist (1 = next).")


class RegistrationList(Answer):
    registrations: list[RegistrationOut]
    places: PlacesOut
    attended: int
    no_shows: int


class PolicyOut(Answer):
    event: int
    scope: str
    opens_at: str | None
    closes_at: str | None
    closes_before_minutes: int
    max_party: int
    asks_age_bands: bool
    waitlist: bool


class NoticeOut(Answer):
    id: int
    template: str
    language: str
    recipient: str | None
    subject: str | None
    status: str
    attempts: int
    created_at: str
    sent_at: str | None
    last_error: str


class NoticeList(Answer):
    notices: list[NoticeOut]
