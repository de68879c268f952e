"""A director's review: an editor submits a draft, a director approves or returns it.

Each step is one transaction that writes the approval request, the event's approval state
and an audit entry (who, when, what, the comment). Approving a draft publishes it through
the same update as any other write (checks, conflicts, revision, data version); approving
a held change writes that change. Permissions are the caller's: these functions trust
the user they are given (an editor of the library to submit, an approver to decide).

A held change (one per event, amended by later changes: see
:mod:`outreach.scheduling.approval`) is approved only if nothing it replaces changed since
it was held, and is written with its occurrences' changes in the same transaction, the
conflicts checked again (the room may have been booked meanwhile). Its editor may
withdraw it (or a draft's submission) before anyone decides.

The people concerned are told by e-mail through the outbox, in the same transaction
(:mod:`outreach.scheduling.approval_notices`): the library's directors and admins of a
submission, the editors who made it of the decision, each in their own language.
"""

from __future__ import annotations

import datetime as dt

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach.errors import Conflict, Invalid, NotFound
from outreach.i18n import gettext as _
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
from outreach.scheduling import approval, approval_notices, service
from outreach.scheduling.serialise import data_json, event_data

MAX_COMMENT = 2000


def _comment(text: str, *, required: bool) -> str:
    text = text.strip()
    if required and not text:
        raise Invalid({"comment": _("say what should change before the event can be published")})
    if len(text) > MAX_COMMENT:
        raise Invalid({"comment": _("must be at most %(count)s characters", count=MAX_COMMENT)})
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


# The audit log's action for each decision a director makes.
_ACTIONS = {ApprovalDecision.APPROVED: "approve", ApprovalDecision.RETURNED: "return"}


async def _decide(
    conn: BaseDBAsyncClient,
    request: ApprovalRequest,
    event: Event,
    decision: ApprovalDecision,
    *,
    user: StaffUser | None,
    comment: str,
) -> None:
    """Record a director's decision on ``request``, who made it, when and why, and audit it."""
    request.decision = decision
    request.decided_by = user
    request.decided_at = dt.datetime.now(dt.UTC)
    request.comment = comment
    await request.save(using_db=conn)
    await _audit(conn, user, event, _ACTIONS[decision], request, comment)


async def submit(
    event_id: int, *, user: StaffUser | None, note: str = "", base_url: str = ""
) -> ApprovalRequest:
    """Ask the library's directors to publish a draft."""
    note = _comment(note, required=False)
    async with in_transaction("default") as conn:
        await service.lock_event(conn, event_id)
        event = await service.load_event(event_id, conn)
        if not approval.asks_approval(event.library):
            raise Invalid({"status": _("this library publishes without approval: publish it")})
        if EventStatus(event.status) != EventStatus.DRAFT:
            raise Invalid({"status": _("only a draft is submitted for approval")})
        request = await submit_in(conn, event, user=user, note=note, base_url=base_url)
    return request


async def submit_in(
    conn: BaseDBAsyncClient,
    event: Event,
    *,
    user: StaffUser | None,
    note: str = "",
    base_url: str = "",
) -> ApprovalRequest:
    """Submit a checked draft (its library loaded) in the caller's transaction: the
    request, the event's state, the audit entry and the approvers' notices."""
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
    await approval_notices.tell_approvers(conn, event, request, user, base_url)
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
        raise Conflict("already decided", fields={"decision": _("someone decided it already")})
    return request, event


async def _request(request_id: int) -> ApprovalRequest:
    """The approval request of this id, else :class:`NotFound`."""
    request = (
        await ApprovalRequest.filter(id=request_id).first()
        if 1 <= request_id <= service.MAX_ID
        else None
    )
    if request is None:
        raise NotFound("approval request")
    return request


async def library_of(request_id: int) -> int:
    """The library an approval request belongs to (for the caller's permission check)."""
    request = await _request(request_id)
    return request.library_id  # type: ignore[attr-defined,no-any-return]


async def editors_of(request_id: int) -> set[int]:
    """The staff who made an approval request (submitted or amended it)."""
    request = await _request(request_id)
    ids = set(request.editors or [])
    if request.submitted_by_id is not None:  # type: ignore[attr-defined]
        ids.add(request.submitted_by_id)  # type: ignore[attr-defined]
    return ids


async def approve(
    request_id: int, *, user: StaffUser | None, comment: str = "", base_url: str = ""
) -> tuple[ApprovalRequest, service.EventResult]:
    """Publish the submitted draft, or write the held change."""
    comment = _comment(comment, required=False)
    async with in_transaction("default") as conn:
        request, event = await _pending(conn, request_id)
        if request.kind == ApprovalKind.PUBLISH:
            if EventStatus(event.status) != EventStatus.DRAFT:
                raise Conflict(
                    "not a draft", fields={"status": _("the event is no longer a draft")}
                )
            fields = {"status": EventStatus.PUBLISHED.value}
            worded: dict[str, list[approval_notices.Line]] = {}
            warnings = await service.apply_update(conn, event, fields, user=user)
        else:
            stale = await approval.stale_parts(conn, request, data_json(event_data(event)))
            if stale:
                raise Conflict(
                    "stale change",
                    fields={
                        "revision": await approval_notices.stale_words(
                            conn, event, stale, for_editor=False
                        )
                    },
                )
            worded = await approval_notices.lines_for_editors(conn, request, event)
            warnings = await service.apply_held(
                conn, event, request.changes, request.occurrences or {}, user=user
            )
            event = await service.load_event(event.id, conn)
        event.approval = ApprovalState.APPROVED
        await event.save(using_db=conn, update_fields=["approval"])
        await _decide(conn, request, event, ApprovalDecision.APPROVED, user=user, comment=comment)
        await approval_notices.tell_editors(conn, event, request, user, base_url, worded)
    return request, service.EventResult(await service.load_event(event.id), warnings)


async def return_to_editor(
    request_id: int, *, user: StaffUser | None, comment: str, base_url: str = ""
) -> ApprovalRequest:
    """Send a submission back with a comment; nothing of it is published."""
    comment = _comment(comment, required=True)
    async with in_transaction("default") as conn:
        request, event = await _pending(conn, request_id)
        if request.kind == ApprovalKind.PUBLISH:
            event.approval = ApprovalState.RETURNED
            await event.save(using_db=conn, update_fields=["approval"])
        await _decide(conn, request, event, ApprovalDecision.RETURNED, user=user, comment=comment)
        worded = await approval_notices.lines_for_editors(conn, request, event)
        await approval_notices.tell_editors(conn, event, request, user, base_url, worded)
    return request


async def withdraw(request_id: int, *, user: StaffUser) -> ApprovalRequest:
    """An editor takes back their own request before anyone decided it: nothing of it is
    published (a draft's submission leaves the draft unsubmitted). The caller checks that
    ``user`` is one of :func:`editors_of` the request."""
    async with in_transaction("default") as conn:
        request, event = await _pending(conn, request_id)
        if request.kind == ApprovalKind.PUBLISH:
            event.approval = ApprovalState.NOT_NEEDED
            await event.save(using_db=conn, update_fields=["approval"])
        await approval.withdraw(conn, request, user)
    return request
