"""Events, their tags, occurrences, single-occurrence overrides and attendance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.organisations import Branch, Library, Partner, Room, Translated
from outreach.models.strategy import Goal, StrategyValue

if TYPE_CHECKING:
    from outreach.models.bookmobile import Stop, Vehicle
    from outreach.models.people import StaffUser


class EventKind(StrEnum):
    WORKSHOP = "workshop"
    LECTURE = "lecture"
    EXHIBITION = "exhibition"
    READING = "reading"
    DEMOCRACY = "democracy"
    AUTHOR_VISIT = "author_visit"
    CLUB = "club"
    STORYTIME = "storytime"
    STAFF_TRAINING = "staff_training"
    PEER_LEARNING = "peer_learning"
    OUTREACH_VISIT = "outreach_visit"
    DIGITAL_SKILLS = "digital_skills"
    BOOKMOBILE = "bookmobile"


class Audience(StrEnum):
    AGES_0_5 = "0-5"
    AGES_6_11 = "6-11"
    AGES_12_18 = "12-18"
    ADULTS = "19+"
    ALL_AGES = "all"
    FAMILIES = "families"
    SENIORS = "seniors"
    STAFF = "staff"


class AgeBand(StrEnum):
    """Bands in which attendance is counted (library statistics practice)."""

    AGES_0_5 = "0-5"
    AGES_6_11 = "6-11"
    AGES_12_18 = "12-18"
    ADULTS = "19+"
    UNKNOWN = "unknown"


class EventFormat(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class ApprovalState(StrEnum):
    """Where an event stands with its library's directors (``outreach.scheduling.approval``)."""

    # Its library asked for no approval when it was published (or it is a draft nobody
    # submitted yet).
    NOT_NEEDED = "not_needed"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"


class AttendanceMode(StrEnum):
    ON_SITE = "on_site"
    ONLINE = "online"


class Event(Model):
    """A programme item, one-off or recurring, whose rule is the source of truth.

    The table has two more columns that are not fields here: ``tag_keys`` and
    ``audience_mask``, copies of the event's tags and audiences that triggers keep for the
    coverage report (migration ``0005_event_profile``). The ORM never writes them, so a
    ``save()`` cannot put back a copy read before the tags changed.
    """

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="events", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(EventKind, max_length=24)
    title: Translated = fields.JSONField()
    description: Translated = fields.JSONField(default=dict)
    # Instants in UTC; ``timezone`` is the zone the rule is expanded in. All-day events
    # start at local midnight of the first day and end at local midnight after the last.
    starts_at: dt.datetime = fields.DatetimeField()
    ends_at: dt.datetime = fields.DatetimeField()
    timezone = fields.CharField(max_length=64)
    all_day = fields.BooleanField(default=False)
    rrule = fields.CharField(max_length=500, null=True)
    # Original local start times (ISO 8601, no offset) of occurrences the rule skips.
    exdates: list[str] = fields.JSONField(default=list)
    branch: fields.ForeignKeyNullableRelation[Branch] = fields.ForeignKeyField(
        "models.Branch", related_name="events", null=True, on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyNullableRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="events", null=True, on_delete=fields.RESTRICT
    )
    place_name = fields.CharField(max_length=200, default="")
    place_address = fields.CharField(max_length=300, default="")
    lat = fields.FloatField(null=True)
    lon = fields.FloatField(null=True)
    format = fields.CharEnumField(EventFormat, max_length=16, default=EventFormat.IN_PERSON)
    online_url = fields.CharField(max_length=500, default="")
    capacity = fields.IntField(null=True)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    status = fields.CharEnumField(EventStatus, max_length=16, default=EventStatus.DRAFT)
    revision = fields.IntField(default=1)
    created_at: dt.datetime = fields.DatetimeField(auto_now_add=True)
    updated_at: dt.datetime = fields.DatetimeField()
    cancelled_at: dt.datetime | None = fields.DatetimeField(null=True)
    # Publicly listed since: set when the event becomes published, cleared when it goes
    # back to draft, kept when it is cancelled (``save()`` keeps it so). A cancelled
    # event without it was never public and stays private (``outreach.publicity``).
    published_at: dt.datetime | None = fields.DatetimeField(null=True)
    # Only ``not_needed`` and ``approved`` events may be public (``outreach.publicity``).
    approval = fields.CharEnumField(
        ApprovalState, max_length=16, default=ApprovalState.NOT_NEEDED, db_default="not_needed"
    )
    created_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="created_events", null=True, on_delete=fields.SET_NULL
    )
    partners: fields.ManyToManyRelation[Partner] = fields.ManyToManyField(
        "models.Partner", related_name="events", through="event_partner"
    )
    co_organisers: fields.ManyToManyRelation[Library] = fields.ManyToManyField(
        "models.Library", related_name="co_organised_events", through="event_co_organiser"
    )
    staff: fields.ManyToManyRelation[StaffUser] = fields.ManyToManyField(
        "models.StaffUser", related_name="assigned_events", through="event_staff"
    )

    audiences: fields.ReverseRelation[EventAudience]
    languages: fields.ReverseRelation[EventLanguage]
    tags: fields.ReverseRelation[EventTag]
    overrides: fields.ReverseRelation[OccurrenceOverride]
    occurrences: fields.ReverseRelation[Occurrence]

    class Meta:
        table = "event"
        indexes = (("library_id", "status"),)
        constraints = (
            CheckConstraint(check="ends_at > starts_at", name="event_ends_after_start"),
            CheckConstraint(check="revision >= 1", name="event_revision_positive"),
            CheckConstraint(
                check="capacity IS NULL OR capacity >= 0", name="event_capacity_not_negative"
            ),
            CheckConstraint(check="(lat IS NULL) = (lon IS NULL)", name="event_lat_lon_together"),
        )

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        """Save, with ``published_at`` following ``status``.

        Kept here rather than by each writer (the scheduling service and the staff forms
        through it, routes and timetable imports, the fixtures loader) because a writer
        that forgot would hide a published event from every public surface. Published
        since the write that published it (its ``updated_at``); bulk writes that bypass
        ``save()`` must set it themselves.
        """
        status = EventStatus(self.status)
        if status == EventStatus.DRAFT:
            since = None
        elif status == EventStatus.PUBLISHED:
            since = self.published_at or self.updated_at
        else:
            since = self.published_at
        if since != self.published_at:
            self.published_at = since
            if update_fields is not None:
                update_fields = [*update_fields, "published_at"]
        await super().save(
            using_db=using_db,
            update_fields=update_fields,
            force_create=force_create,
            force_update=force_update,
        )


class EventAudience(Model):
    """Who an event is for, as rows so that feeds and reports filter in SQL."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="audiences", on_delete=fields.CASCADE
    )
    audience = fields.CharEnumField(Audience, max_length=16)

    class Meta:
        table = "event_audience"
        unique_together = (("event", "audience"),)
        indexes = (("audience", "event_id"),)


class EventLanguage(Model):
    """A language an event is held in (ISO 639-1)."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="languages", on_delete=fields.CASCADE
    )
    language = fields.CharField(max_length=8)

    class Meta:
        table = "event_language"
        unique_together = (("event", "language"),)
        indexes = (("language", "event_id"),)


class EventTag(Model):
    """A value or goal an event serves, at most one of them primary."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="tags", on_delete=fields.CASCADE
    )
    value: fields.ForeignKeyNullableRelation[StrategyValue] = fields.ForeignKeyField(
        "models.StrategyValue", related_name="tags", null=True, on_delete=fields.RESTRICT
    )
    goal: fields.ForeignKeyNullableRelation[Goal] = fields.ForeignKeyField(
        "models.Goal", related_name="tags", null=True, on_delete=fields.RESTRICT
    )
    primary = fields.BooleanField(default=False)

    class Meta:
        table = "event_tag"
        unique_together = (("event", "value"), ("event", "goal"))
        indexes = (("goal_id", "event_id"), ("value_id", "event_id"))
        constraints = (
            CheckConstraint(
                check="(value_id IS NULL) <> (goal_id IS NULL)", name="event_tag_one_subject"
            ),
        )


class OccurrenceOverride(Model):
    """A change to one occurrence, keyed by its original start (iCalendar RECURRENCE-ID)."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="overrides", on_delete=fields.CASCADE
    )
    original_start: dt.datetime = fields.DatetimeField()
    cancelled = fields.BooleanField(default=False)
    starts_at: dt.datetime | None = fields.DatetimeField(null=True)
    ends_at: dt.datetime | None = fields.DatetimeField(null=True)
    room: fields.ForeignKeyNullableRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="overrides", null=True, on_delete=fields.RESTRICT
    )
    title: Translated = fields.JSONField(default=dict)
    note = fields.CharField(max_length=500, default="")
    revision = fields.IntField(default=1)
    updated_at: dt.datetime = fields.DatetimeField()

    class Meta:
        table = "occurrence_override"
        unique_together = (("event", "original_start"),)
        constraints = (
            CheckConstraint(
                check="(starts_at IS NULL) = (ends_at IS NULL)",
                name="override_start_end_together",
            ),
            CheckConstraint(
                check="ends_at IS NULL OR ends_at > starts_at", name="override_ends_after_start"
            ),
        )


class Occurrence(Model):
    """One dated instance of an event, materialised up to a rolling horizon.

    Rebuilt from the event's rule and overrides whenever the event changes; it exists
    so that conflict checks, feeds and reports are indexed range queries.
    """

    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="occurrences", on_delete=fields.CASCADE
    )
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="occurrences", on_delete=fields.CASCADE
    )
    original_start: dt.datetime = fields.DatetimeField()
    starts_at: dt.datetime = fields.DatetimeField()
    ends_at: dt.datetime = fields.DatetimeField()
    cancelled = fields.BooleanField(default=False)
    branch: fields.ForeignKeyNullableRelation[Branch] = fields.ForeignKeyField(
        "models.Branch", related_name="occurrences", null=True, on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyNullableRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="occurrences", null=True, on_delete=fields.RESTRICT
    )
    vehicle: fields.ForeignKeyNullableRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="occurrences", null=True, on_delete=fields.RESTRICT
    )
    stop: fields.ForeignKeyNullableRelation[Stop] = fields.ForeignKeyField(
        "models.Stop", related_name="occurrences", null=True, on_delete=fields.CASCADE
    )

    class Meta:
        table = "occurrence"
        indexes = (
            # original_start too: a report reads the period's first and last original
            # start from the index alone.
            Index(
                fields=("library_id", "starts_at", "original_start"),
                name="occurrence_library_sessions",
            ),
            Index(fields=("room_id", "starts_at"), name="occurrence_room_start"),
            Index(fields=("vehicle_id", "starts_at"), name="occurrence_vehicle_start"),
            Index(fields=("event_id", "original_start"), name="occurrence_event_original"),
            Index(fields=("stop_id", "starts_at"), name="occurrence_stop_start"),
        )
        constraints = (
            CheckConstraint(check="ends_at > starts_at", name="occurrence_ends_after_start"),
        )


class Attendance(Model):
    """How many came to one occurrence, by age band and mode. Counts only, never people."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="attendance", on_delete=fields.CASCADE
    )
    # The event's library, copied (as on occurrences) so that reports read a library's
    # attendance through an index instead of the whole table.
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="attendance", on_delete=fields.CASCADE
    )
    # Keyed like an override so that counts survive occurrence rebuilds.
    original_start: dt.datetime = fields.DatetimeField()
    stop: fields.ForeignKeyNullableRelation[Stop] = fields.ForeignKeyField(
        "models.Stop", related_name="attendance", null=True, on_delete=fields.CASCADE
    )
    age_band = fields.CharEnumField(AgeBand, max_length=16)
    mode = fields.CharEnumField(AttendanceMode, max_length=16)
    count = fields.IntField()
    recorded_at: dt.datetime = fields.DatetimeField()

    class Meta:
        table = "attendance"
        unique_together = (("event", "original_start", "stop", "age_band", "mode"),)
        indexes = (Index(fields=("library_id", "original_start"), name="attendance_library_start"),)
        constraints = (CheckConstraint(check="count >= 0", name="attendance_count_not_negative"),)


class DataVersion(Model):
    """A counter bumped by every write that can change a feed, for caches to key on.

    It lives in the database so that several app processes agree on it.
    """

    scope = fields.CharField(max_length=64, primary_key=True)
    version = fields.BigIntField(default=0)
    changed_at: dt.datetime = fields.DatetimeField()

    class Meta:
        table = "data_version"
