"""Registrations for events with limited places, and the outbox of notices owed to people.

A registration holds the least a library needs to keep someone's place and write to them:
a name or pseudonym, an email address and the party's size (with age bands when the event
asks). Those personal fields are erased a set number of days after the occurrence; the
row, its counts and its status stay for the attendance figures.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.organisations import Library

if TYPE_CHECKING:
    from outreach.models.programme import Event


class RegistrationScope(StrEnum):
    """What one registration books: one occurrence, or every occurrence of a series."""

    OCCURRENCE = "occurrence"
    SERIES = "series"


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class RegistrationPolicy(Model):
    """That an event takes registrations, and how: one row per event that does."""

    id = fields.IntField(primary_key=True)
    event: fields.OneToOneRelation[Event] = fields.OneToOneField(
        "models.Event", related_name="registration_policy", on_delete=fields.CASCADE
    )
    scope = fields.CharEnumField(
        RegistrationScope, max_length=16, default=RegistrationScope.OCCURRENCE
    )
    # Registration opens at ``opens_at`` (NULL: as soon as the event is published) and
    # closes ``closes_before_minutes`` before each occurrence starts, or at ``closes_at``
    # if that comes first.
    opens_at: dt.datetime | None = fields.DatetimeField(null=True)
    closes_at: dt.datetime | None = fields.DatetimeField(null=True)
    closes_before_minutes = fields.IntField(default=0)
    # The largest party one registration may bring (a parent with two children is 3).
    max_party = fields.SmallIntField(default=4)
    # Whether the form asks how many of the party are in each age band.
    asks_age_bands = fields.BooleanField(default=False)
    waitlist = fields.BooleanField(default=True)
    updated_at: dt.datetime = fields.DatetimeField()

    class Meta:
        table = "registration_policy"
        constraints = (
            CheckConstraint(
                check="closes_before_minutes >= 0", name="registration_policy_closes_before"
            ),
            CheckConstraint(check="max_party >= 1", name="registration_policy_max_party"),
        )


class CapacityOverride(Model):
    """The places of one occurrence when they differ from the event's (a smaller room)."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="capacity_overrides", on_delete=fields.CASCADE
    )
    # Keyed like an occurrence override, so it survives occurrence rebuilds.
    original_start: dt.datetime = fields.DatetimeField()
    capacity = fields.IntField()

    class Meta:
        table = "capacity_override"
        unique_together = (("event", "original_start"),)
        constraints = (
            CheckConstraint(check="capacity >= 0", name="capacity_override_not_negative"),
        )


class Registration(Model):
    """One party's place at an occurrence (or at every occurrence of a series)."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="registrations", on_delete=fields.CASCADE
    )
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="registrations", on_delete=fields.CASCADE
    )
    # The occurrence's original start (its RECURRENCE-ID); NULL for a series registration.
    original_start: dt.datetime | None = fields.DatetimeField(null=True)
    status = fields.CharEnumField(RegistrationStatus, max_length=16)
    party_size = fields.SmallIntField()
    # {"0-5": 2, "19+": 1} when the event asks; counts only.
    age_bands: dict[str, int] = fields.JSONField(default=dict)
    # Personal data: NULL once erased.
    name = fields.CharField(max_length=100, null=True)
    email = fields.CharField(max_length=254, null=True)
    # The language the patron registered in: their notices are written in it.
    language = fields.CharField(max_length=8)
    # A random secret in every signed link; erasing the registration clears it, so no
    # link works after erasure.
    secret = fields.CharField(max_length=32, null=True)
    registered_by_staff = fields.BooleanField(default=False)
    created_at: dt.datetime = fields.DatetimeField()
    updated_at: dt.datetime = fields.DatetimeField()
    # When the place came free (cancelled) or the party was checked in or marked absent.
    decided_at: dt.datetime | None = fields.DatetimeField(null=True)
    erased_at: dt.datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "registration"
        indexes = (
            Index(
                fields=("event_id", "original_start", "status"),
                name="registration_occurrence_status",
            ),
            Index(fields=("erased_at", "event_id"), name="registration_erasure"),
        )
        constraints = (
            CheckConstraint(check="party_size >= 1", name="registration_party_positive"),
            CheckConstraint(
                check="(erased_at IS NULL) OR (name IS NULL AND email IS NULL AND secret IS NULL)",
                name="registration_erased_means_empty",
            ),
        )


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Given up after every retry; staff see it on the outbox page.
    FAILED = "failed"
    # Not to be sent any more (its registration was erased before delivery).
    DROPPED = "dropped"


class Notice(Model):
    """An email owed to someone, written in the transaction of the change that causes it
    and delivered by the outbox worker (``outreach.mail``)."""

    id = fields.BigIntField(primary_key=True)
    # What the notice is about, once per person and change: a second enqueue with the
    # same key writes nothing (``confirmation:registration:12``, ``change:…:revision:7``).
    dedupe_key = fields.CharField(max_length=200, unique=True)
    library: fields.ForeignKeyNullableRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="notices", null=True, on_delete=fields.CASCADE
    )
    registration: fields.ForeignKeyNullableRelation[Registration] = fields.ForeignKeyField(
        "models.Registration", related_name="notices", null=True, on_delete=fields.SET_NULL
    )
    template = fields.CharField(max_length=64)
    language = fields.CharField(max_length=8)
    # Personal data: NULL once the registration it was written for is erased.
    recipient = fields.CharField(max_length=254, null=True)
    # The message as written when it was enqueued (in the recipient's language), so that
    # every retry sends the same words; NULL with the recipient on erasure.
    subject = fields.CharField(max_length=300, null=True)
    text = fields.TextField(null=True)
    html = fields.TextField(null=True)
    # [{"filename": "event.ics", "content_type": "text/calendar", "text": "…"}]
    attachments: list[dict[str, Any]] | None = fields.JSONField(null=True)
    # The same Message-ID on every attempt, so a receiving server (and a mail client)
    # can tell a retry of a message it already has.
    message_id = fields.CharField(max_length=200, unique=True)
    status = fields.CharEnumField(NoticeStatus, max_length=16, default=NoticeStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    # Not before: retries back off exponentially.
    due_at: dt.datetime = fields.DatetimeField()
    # A worker that claimed the notice holds it until then; after that (it died) another
    # may take it.
    claimed_until: dt.datetime | None = fields.DatetimeField(null=True)
    # The last failure, as the SMTP reply code and the error's kind (never the server's
    # words, which may quote the address).
    last_error = fields.CharField(max_length=200, default="")
    created_at: dt.datetime = fields.DatetimeField()
    sent_at: dt.datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "notice"
        indexes = (
            Index(fields=("status", "due_at"), name="notice_due"),
            Index(fields=("library_id", "created_at"), name="notice_library_created"),
        )
