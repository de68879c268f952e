"""Networks, libraries, branches, rooms and partners."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from outreach.models.strategy import Strategy

Translated = dict[str, str]


class ApprovalPolicy(StrEnum):
    """What a library's directors approve before the public sees it."""

    # Editors publish themselves.
    NONE = "none"
    # A new event is published by a director's approval.
    NEW_EVENTS = "new_events"
    # ... and an editor's change to a published event waits for approval too.
    ALL_CHANGES = "all_changes"


class Network(Model):
    """A group of libraries that plans and reports together."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name: Translated = fields.JSONField()
    description: Translated = fields.JSONField(default=dict)
    default_language = fields.CharField(max_length=8)

    libraries: fields.ReverseRelation[Library]
    strategies: fields.ReverseRelation[Strategy]

    class Meta:
        table = "network"


class Library(Model):
    """A public library (possibly with several branches)."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name: Translated = fields.JSONField()
    timezone = fields.CharField(max_length=64)
    default_language = fields.CharField(max_length=8)
    languages: list[str] = fields.JSONField(default=list)
    website = fields.CharField(max_length=300, default="")
    network: fields.ForeignKeyNullableRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="libraries", null=True, on_delete=fields.RESTRICT
    )
    # Where the row's name and town come from when it is no demo library, e.g.
    # "public: list of Slovenian regional central libraries"; NULL for demo libraries.
    source = fields.CharField(max_length=300, null=True)
    # The town of such a member (a demo library's towns are its branches' cities).
    town = fields.CharField(max_length=100, null=True)
    approval = fields.CharEnumField(
        ApprovalPolicy, max_length=16, default=ApprovalPolicy.NONE, db_default="none"
    )

    branches: fields.ReverseRelation[Branch]
    strategies: fields.ReverseRelation[Strategy]

    class Meta:
        table = "library"


class Branch(Model):
    """A building of a library: where events happen and bookmobiles start."""

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="branches", on_delete=fields.CASCADE
    )
    slug = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    address = fields.CharField(max_length=300)
    postcode = fields.CharField(max_length=16, default="")
    city = fields.CharField(max_length=100)
    lat = fields.FloatField()
    lon = fields.FloatField()
    # {"mon": [["08:00", "19:00"]], ..., "sun": []}: local times of the library's zone.
    opening_hours: dict[str, list[list[str]]] = fields.JSONField(default=dict)
    # How the building is reached and used (step-free entrance, lift, toilet, hearing
    # loop), per language; None where nothing is recorded.
    accessibility: Translated | None = fields.JSONField(null=True)

    rooms: fields.ReverseRelation[Room]

    class Meta:
        table = "branch"
        unique_together = (("library", "slug"),)


class Room(Model):
    """A bookable room in a branch."""

    id = fields.IntField(primary_key=True)
    branch: fields.ForeignKeyRelation[Branch] = fields.ForeignKeyField(
        "models.Branch", related_name="rooms", on_delete=fields.CASCADE
    )
    slug = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    capacity = fields.IntField()
    # Whether patrons and partner organisations may ask for it on the public request page.
    requestable = fields.BooleanField(default=False, db_default=False)
    # How the room is reached and used (floor, lift, seating, hearing loop), per language.
    accessibility: Translated | None = fields.JSONField(null=True)

    class Meta:
        table = "room"
        unique_together = (("branch", "slug"),)


class PartnerKind(StrEnum):
    PUBLIC = "public"
    NON_PROFIT = "non_profit"
    COMMUNITY = "community"
    EDUCATION = "education"
    BUSINESS = "business"
    INDIVIDUAL = "individual"


class Partner(Model):
    """An outside body a library runs events with (the partnership theme of Skopje)."""

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="partners", on_delete=fields.CASCADE
    )
    slug = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(PartnerKind, max_length=16)
    website = fields.CharField(max_length=300, default="")
    # Where the partner is known from, as provenance of strategies: a document that names
    # it (section and words), or ``{"kind": "demo", ...}`` for a partner made up for the demo.
    source: dict[str, Any] | None = fields.JSONField(null=True)

    class Meta:
        table = "partner"
        unique_together = (("library", "slug"),)
