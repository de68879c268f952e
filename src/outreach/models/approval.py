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
    # Nobody decided it: its editor withdrew it, a later submission of the same draft
    # replaced it, or the event (or the occurrence it changes) was cancelled.
    WITHDRAWN = "withdrawn"


class ApprovalRequest(Model):
    """One submission and its decision: who asked, when, what, and what the director said.

    A change to a published event is kept here (``changes``, the PATCH body of what
    differs; ``occurrences``, the changes of single occurrences) and written to the event
    only when approved, so the public keeps seeing the approved version. An event has at
    most one pending change: later changes amend it (``outreach.scheduling.approval``).
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
    # Held changes of single occurrences, by original start in UTC (a change only).
    occurrences: dict[str, Any] | None = fields.JSONField(null=True)
    # What the held change replaces, as it was when first held (a change only).
    base: dict[str, Any] | None = fields.JSONField(null=True)
    # The staff who submitted or amended it, by id, in order.
    editors: list[int] | None = fields.JSONField(null=True)
    amended_at: dt.datetime | None = fields.DatetimeField(null=True)
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
