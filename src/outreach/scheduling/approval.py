"""The approval rules of a library: who may publish, and which changes wait for a director.

A library's :class:`ApprovalPolicy` says what its directors approve: nothing (editors
publish), new events (an event is published by a director's approval), or also every
change an editor makes to a published event (held in an :class:`ApprovalRequest` and
written only when approved, so the public never sees an unapproved version). An approver
is a director or admin of the library; the web layer decides who is one
(``outreach.web.auth.may_approve``). Submitting, approving and returning are in
:mod:`outreach.scheduling.review`.

Bookmobile routes follow the same rule (``outreach.bookmobile.timetable``): an editor's
new route is a submitted draft; an editor's change to a published route, where every
change waits, is refused rather than held. Cancelling (an event, a route, one run) is
never held: it only takes something away from the public, and people must know at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from outreach.errors import Invalid
from outreach.i18n import gettext as _
from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Event,
    EventStatus,
    Library,
    StaffUser,
)

PUBLISHED = EventStatus.PUBLISHED.value


def asks_approval(library: Library) -> bool:
    return ApprovalPolicy(library.approval) != ApprovalPolicy.NONE


def check_publishing(library: Library, status: object, *, approver: bool) -> None:
    """Refuse to publish without approval where the library asks for it."""
    if status == PUBLISHED and not approver and asks_approval(library):
        raise Invalid(
            {
                "status": _(
                    "a director publishes events in this library: submit the draft for approval"
                )
            }
        )


def state_when_published(library: Library, status: object) -> ApprovalState:
    """The approval state of an event its writer (allowed to) sets to ``status``."""
    if status == PUBLISHED and asks_approval(library):
        return ApprovalState.APPROVED
    return ApprovalState.NOT_NEEDED


def holds_changes(library: Library, status: EventStatus | str) -> bool:
    """Whether a non-approver's change to an event of ``library`` in ``status`` waits for
    a director."""
    return (
        ApprovalPolicy(library.approval) == ApprovalPolicy.ALL_CHANGES
        and EventStatus(status) == EventStatus.PUBLISHED
    )


def change_needs_approval(event: Event) -> bool:
    """Whether a non-approver's change to this event waits for a director."""
    return holds_changes(event.library, event.status)


async def withdraw_pending(conn: BaseDBAsyncClient, event: Event, kind: ApprovalKind) -> None:
    """A new submission replaces the event's undecided one of the same kind."""
    await (
        ApprovalRequest.filter(event_id=event.id, kind=kind, decision=ApprovalDecision.PENDING)
        .using_db(conn)
        .update(decision=ApprovalDecision.WITHDRAWN, decided_at=dt.datetime.now(dt.UTC))
    )


async def withdraw_all_pending(conn: BaseDBAsyncClient, event: Event) -> None:
    """A cancelled event's undecided requests are withdrawn: nothing is left to publish."""
    await (
        ApprovalRequest.filter(event_id=event.id, decision=ApprovalDecision.PENDING)
        .using_db(conn)
        .update(decision=ApprovalDecision.WITHDRAWN, decided_at=dt.datetime.now(dt.UTC))
    )


async def hold_change(
    conn: BaseDBAsyncClient,
    event: Event,
    changes: dict[str, Any],
    *,
    user: StaffUser | None,
    note: str = "",
) -> ApprovalRequest:
    """Keep an already checked change to a published event for a director to approve."""
    await withdraw_pending(conn, event, ApprovalKind.CHANGE)
    request = await ApprovalRequest.create(
        event=event,
        library_id=event.library_id,  # type: ignore[attr-defined]
        kind=ApprovalKind.CHANGE,
        changes=changes,
        revision=event.revision,
        note=note,
        submitted_by=user,
        submitted_at=dt.datetime.now(dt.UTC),
        using_db=conn,
    )
    await AuditEntry.record(
        conn,
        user=user,
        library_id=event.library_id,  # type: ignore[attr-defined]
        action="submit_change",
        entity="event",
        entity_id=event.id,
        changes={"approval_request": request.id, "changes": changes},
    )
    return request
