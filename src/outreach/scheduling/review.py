"""A director's review: an editor submits a draft, a director approves or returns it.

Each step is one transaction that writes the approval request, the event's approval state
and an audit entry (who, when, what, the comment). Approving a draft publishes it through
the same update as any other write (checks, conflicts, revision, data version); approving
a held change writes that change, refused with 409 if the event changed since it was
submitted. Permissions are the caller's: these functions trust the user they are given
(an editor of the library to submit, an approver to decide).
"""

from __future__ import annotations

import datetime as dt

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach.errors import Conflict, Invalid, NotFound
from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Event,
    EventStatus,
    StaffUser,
)
from outreach.scheduling import approval, service
from outreach.scheduling.payload import parse_fields

MAX_COMMENT = 2000


def _comment(text: str, *, required: bool) -> str:
    text = text.strip()
    if required and not text:
        raise Invalid({"comment": "say what should change before the event can be published"})
    if len(text) > MAX_COMMENT:
        raise Invalid({"comment": f"must be at most {MAX_COMMENT} characters"})
    return text


async def _audit(
    conn: BaseDBAsyncClient,
    user: StaffUser | None,
    event: Event,
    action: str,
    request: ApprovalRequest,
    comment: str,
) -> None:
    await AuditEntry.record(
        conn,
        user=user,
        library_id=event.library_id,  # type: ignore[attr-defined]
        action=action,
        entity="event",
        entity_id=event.id,
        changes={"approval_request": request.id, "kind": request.kind.value, "comment": comment},
    )


async def submit(event_id: int, *, user: StaffUser | None, note: str = "") -> ApprovalRequest:
    """Ask the library's directors to publish a draft."""
    note = _comment(note, required=False)
    async with in_transaction("default") as conn:
        await service.lock_event(conn, event_id)
        event = await service.load_event(event_id, conn)
        if not approval.asks_approval(event.library):
            raise Invalid({"status": "this library publishes without approval: publish it"})
        if EventStatus(event.status) != EventStatus.DRAFT:
            raise Invalid({"status": "only a draft is submitted for approval"})
        await approval.withdraw_pending(conn, event, ApprovalKind.PUBLISH)
        request = await ApprovalRequest.create(
            event=event,
            library_id=event.library.id,
            kind=ApprovalKind.PUBLISH,
            revision=event.revision,
            note=note,
            submitted_by=user,
            submitted_at=dt.datetime.now(dt.UTC),
            using_db=conn,
        )
        event.approval = ApprovalState.SUBMITTED
        await event.save(using_db=conn, update_fields=["approval"])
        await _audit(conn, user, event, "submit", request, note)
    return request


async def _pending(conn: BaseDBAsyncClient, request_id: int) -> tuple[ApprovalRequest, Event]:
    if not 1 <= request_id <= service.MAX_ID:
        raise NotFound("approval request")
    request = await ApprovalRequest.filter(id=request_id).using_db(conn).first()
    if request is None:
        raise NotFound("approval request")
    await service.lock_event(conn, request.event_id)  # type: ignore[attr-defined]
    event = await service.load_event(request.event_id, conn)  # type: ignore[attr-defined]
    if request.decision != ApprovalDecision.PENDING:
        raise Conflict(
            "already decided", fields={"decision": f"the request is {request.decision.value}"}
        )
    return request, event


async def library_of(request_id: int) -> int:
    """The library an approval request belongs to (for the caller's permission check)."""
    request = (
        await ApprovalRequest.filter(id=request_id).first()
        if 1 <= request_id <= service.MAX_ID
        else None
    )
    if request is None:
        raise NotFound("approval request")
    return request.library_id  # type: ignore[attr-defined,no-any-return]


async def approve(
    request_id: int, *, user: StaffUser | None, comment: str = ""
) -> tuple[ApprovalRequest, service.EventResult]:
    """Publish the submitted draft, or write the held change."""
    comment = _comment(comment, required=False)
    async with in_transaction("default") as conn:
        request, event = await _pending(conn, request_id)
        if request.kind == ApprovalKind.PUBLISH:
            if EventStatus(event.status) != EventStatus.DRAFT:
                raise Conflict("not a draft", fields={"status": "the event is no longer a draft"})
            fields = {"status": EventStatus.PUBLISHED.value}
        else:
            if event.revision != request.revision:
                raise Conflict(
                    "stale change",
                    fields={
                        "revision": "the event was changed after this was submitted:"
                        " return it so that the editor submits it again"
                    },
                )
            fields = parse_fields(request.changes, partial=True)
        warnings = await service.apply_update(conn, event, fields, user=user)
        event.approval = ApprovalState.APPROVED
        await event.save(using_db=conn, update_fields=["approval"])
        request.decision = ApprovalDecision.APPROVED
        request.decided_by = user
        request.decided_at = dt.datetime.now(dt.UTC)
        request.comment = comment
        await request.save(using_db=conn)
        await _audit(conn, user, event, "approve", request, comment)
    return request, service.EventResult(await service.load_event(event.id), warnings)


async def return_to_editor(
    request_id: int, *, user: StaffUser | None, comment: str
) -> ApprovalRequest:
    """Send a submission back with a comment; nothing of it is published."""
    comment = _comment(comment, required=True)
    async with in_transaction("default") as conn:
        request, event = await _pending(conn, request_id)
        if request.kind == ApprovalKind.PUBLISH:
            event.approval = ApprovalState.RETURNED
            await event.save(using_db=conn, update_fields=["approval"])
        request.decision = ApprovalDecision.RETURNED
        request.decided_by = user
        request.decided_at = dt.datetime.now(dt.UTC)
        request.comment = comment
        await request.save(using_db=conn)
        await _audit(conn, user, event, "return", request, comment)
    return request
