"""Requests for a director's approval: to publish an event, or to change a published one."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from outreach.models.organisations import Library
    from outreach.models.people import StaffUser
    from outreach.models.programme import Event


class ApprovalKind(StrEnum):
    PUBLISH = "publish"
    CHANGE = "change"


class ApprovalDecision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"
    # A later submission of the same event replaced it before anyone decided.
    WITHDRAWN = "withdrawn"


class ApprovalRequest(Model):
    """One submission and its decision: who asked, when, what, and what the director said.

    A change to a published event is kept here (``changes``, the PATCH body) and written
    to the event only when approved, so the public keeps seeing the approved version.
    """

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="approval_requests", on_delete=fields.CASCADE
    )
    library: fields.ForeignKeyRelation[Library] = fields.ForeignKeyField(
        "models.Library", related_name="approval_requests", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(ApprovalKind, max_length=16)
    changes: dict[str, Any] = fields.JSONField(default=dict)
    # The event's revision the submission was made against.
    revision = fields.IntField()
    note = fields.CharField(max_length=2000, default="")
    submitted_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="submissions", null=True, on_delete=fields.SET_NULL
    )
    submitted_at: dt.datetime = fields.DatetimeField()
    decision = fields.CharEnumField(
        ApprovalDecision, max_length=16, default=ApprovalDecision.PENDING
    )
    decided_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at: dt.datetime | None = fields.DatetimeField(null=True)
    comment = fields.CharField(max_length=2000, default="")

    class Meta:
        table = "approval_request"
        indexes = (("library_id", "decision"), ("event_id", "decision"))
