"""Room requests: a patron or partner organisation asks for a room and a time; staff approve
(a booking that blocks the room) or decline, each with a message to the requester."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from outreach.models.programme import Visibility

if TYPE_CHECKING:
    from outreach.models.organisations import Library, Room
    from outreach.models.people import StaffUser
    from outreach.models.programme import Event


class RoomRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class RoomRequest(Model):
    """One request for a room at one time: approved, it is a booking of the room.

    The requester's name, organisation, email, phone and purpose are personal data: they
    are set to NULL ``erased_at`` some days after the booking (``outreach.rooms``), and
    never leave the staff pages and the requester's notices. An approved request blocks
    the room in the conflict checks while it has no ``event``; a request made public is
    an event of the programme, whose occurrence blocks the room as every event's does.
    """

    id = fields.IntField(primary_key=True)
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="room_requests", on_delete=fields.CASCADE
    )
    room: fields.ForeignKeyRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="requests", on_delete=fields.CASCADE
    )
    starts_at: dt.datetime = fields.DatetimeField()
    ends_at: dt.datetime = fields.DatetimeField()
    attendees = fields.IntField()
    status = fields.CharEnumField(
        RoomRequestStatus, max_length=16, default=RoomRequestStatus.PENDING
    )
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.INTERNAL)
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="room_requests", null=True, on_delete=fields.SET_NULL
    )
    # The language the requester wrote in: their notices are written in it.
    language = fields.CharField(max_length=8)
    purpose = fields.CharField(max_length=500, null=True)
    name = fields.CharField(max_length=200, null=True)
    organisation = fields.CharField(max_length=200, null=True)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=32, null=True)
    consented_at: dt.datetime = fields.DatetimeField()
    created_at: dt.datetime = fields.DatetimeField()
    # The staff member's message to the requester with the decision.
    message = fields.TextField(default="")
    decided_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="room_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at: dt.datetime | None = fields.DatetimeField(null=True)
    erased_at: dt.datetime | None = fields.DatetimeField(null=True)
    # Signed into the requester's own link; NULL once erased, so the link opens nothing.
    secret = fields.CharField(max_length=32, null=True)
    # The requester withdrew the request: a withdrawn booking no longer holds the room.
    withdrawn_at: dt.datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "room_request"
        indexes = (Index(fields=("room_id", "starts_at"), name="room_request_room_start"),)
        constraints = (
            CheckConstraint(check="ends_at > starts_at", name="room_request_ends_after_start"),
        )
