"""A director's review: an editor submits a draft, a director approves or returns it.

Each step is one transaction that writes the approval request, the event's approval state
and an audit entry (who, when, what, the comment). Approving a draft publishes it through
the same update as any other write (checks, conflicts, revision, data version); approving
a held change writes that change, refused with 409 if the event changed since it was
submitted. Permissions are the caller's: these functions trust the user they are given
(an editor of the library to submit, an approver to decide).

The people concerned are told by e-mail through the outbox, in the same transaction: the
library's directors and admins of a submission, the editor who submitted of the decision,
each in their own language (their preference, else the library's). ``base_url`` is where
the staff pages are, for the links in those notices.
"""

from __future__ import annotations

import datetime as dt

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach.errors import Conflict, Invalid, NotFound
from outreach.i18n import gettext as _
from outreach.languages import translated
from outreach.mail.outbox import enqueue
from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Event,
    EventStatus,
    Library,
    RoleName,
    StaffUser,
)
from outreach.scheduling import approval, service
from outreach.scheduling.payload import parse_fields

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


def _language(person: StaffUser, library: Library) -> str:
    return person.language or library.default_language


async def _tell_approvers(
    conn: BaseDBAsyncClient,
    event: Event,
    request: ApprovalRequest,
    user: StaffUser | None,
    base_url: str,
) -> None:
    library = event.library
    approvers = (
        await StaffUser.filter(
            is_active=True,
            roles__library_id=library.id,
            roles__role__in=[RoleName.DIRECTOR, RoleName.ADMIN],
        )
        .distinct()
        .using_db(conn)
    )
    for person in approvers:
        if user is not None and person.id == user.id:
            continue
        lang = _language(person, library)
        await enqueue(
            conn,
            person.email,
            "approval_requested",
            lang,
            {
                "name": person.name,
                "editor": user.name if user is not None else "",
                "title": translated(event.title, lang, library.default_language),
                "library": translated(library.name, lang, library.default_language),
                "note": request.note,
                "approvals_url": f"{base_url}/staff/approvals",
            },
            f"approval_requested:{request.id}:{person.id}",
            library_id=library.id,
        )


async def _tell_submitter(
    conn: BaseDBAsyncClient,
    event: Event,
    request: ApprovalRequest,
    user: StaffUser | None,
    base_url: str,
) -> None:
    submitter_id = request.submitted_by_id  # type: ignore[attr-defined]
    if submitter_id is None or (user is not None and submitter_id == user.id):
        return
    person = await StaffUser.filter(id=submitter_id, is_active=True).using_db(conn).first()
    if person is None:
        return
    library = event.library
    lang = _language(person, library)
    await enqueue(
        conn,
        person.email,
        "approval_decided",
        lang,
        {
            "name": person.name,
            "director": user.name if user is not None else "",
            "approved": request.decision == ApprovalDecision.APPROVED,
            "title": translated(event.title, lang, library.default_language),
            "library": translated(library.name, lang, library.default_language),
            "comment": request.comment,
            "event_url": f"{base_url}/staff/events/{event.id}",
        },
        f"approval_decided:{request.id}",
        library_id=library.id,
    )


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
    await _tell_approvers(conn, event, request, user, base_url)
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
        else:
            if event.revision != request.revision:
                raise Conflict(
                    "stale change",
                    fields={
                        "revision": _(
                            "the event was changed after this was submitted:"
                            " return it so that the editor submits it again"
                        )
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
        await _tell_submitter(conn, event, request, user, base_url)
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
        request.decision = ApprovalDecision.RETURNED
        request.decided_by = user
        request.decided_at = dt.datetime.now(dt.UTC)
        request.comment = comment
        await request.save(using_db=conn)
        await _audit(conn, user, event, "return", request, comment)
        await _tell_submitter(conn, event, request, user, base_url)
    return request
