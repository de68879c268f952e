"""The approvals API: submit a draft, list what waits, approve or return it. Thin: the
rules are in ``outreach.scheduling.approval`` and ``outreach.scheduling.review``."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from outreach.models import ApprovalDecision, ApprovalRequest, Event, Library, RoleName
from outreach.scheduling import review
from outreach.scheduling.serialise import utc_iso
from outreach.schemas import CODE_PATTERN, Answer, Declared, OneOf, Text, shown
from outreach.web.auth import may_approve, require_library_role, require_user
from outreach.web.boundary import declare, read_json, read_query
from outreach.web.errors import ApiError, Invalid, NotFound
from outreach.web.links import origin

SUBMIT_ROLES = (RoleName.EDITOR, RoleName.ADMIN)


class Submission(Declared):
    what: ClassVar[str] = "a submission"
    note: Annotated[str, Text(review.MAX_COMMENT)] = ""


class Decision(Declared):
    what: ClassVar[str] = "a decision"
    comment: Annotated[str, Text(review.MAX_COMMENT)] = ""


class ApprovalFilters(Declared):
    unknown: ClassVar[str] = "is not a filter"
    library: Annotated[str, Text(64, CODE_PATTERN, "a slug or code")]
    decision: Annotated[str, OneOf(tuple(d.value for d in ApprovalDecision))] | None = None


class ApprovalOut(Answer):
    """One submission and its decision."""

    id: int
    event: int
    library: str
    kind: str
    changes: dict[str, Any]
    # Held changes of single occurrences, by original start in UTC.
    occurrences: dict[str, dict[str, Any]]
    revision: int
    note: str
    submitted_by: int | None
    submitted_at: str
    # Who submitted or amended it, and when it was last amended.
    editors: list[int]
    amended_at: str | None
    decision: str
    decided_by: int | None
    decided_at: str | None
    comment: str


class ApprovalList(Answer):
    approvals: list[ApprovalOut]


def approval_json(request: ApprovalRequest, library: str) -> dict[str, Any]:
    return {
        "id": request.id,
        "event": request.event_id,  # type: ignore[attr-defined]
        "library": library,
        "kind": request.kind.value,
        "changes": request.changes,
        "occurrences": request.occurrences or {},
        "revision": request.revision,
        "note": request.note,
        "submitted_by": request.submitted_by_id,  # type: ignore[attr-defined]
        "submitted_at": utc_iso(request.submitted_at),
        "editors": list(request.editors or []),
        "amended_at": utc_iso(request.amended_at) if request.amended_at else None,
        "decision": request.decision.value,
        "decided_by": request.decided_by_id,  # type: ignore[attr-defined]
        "decided_at": utc_iso(request.decided_at) if request.decided_at else None,
        "comment": request.comment,
    }


async def _slug(library_id: int) -> str:
    return (await Library.get(id=library_id)).slug


@declare(body=Submission, answer=ApprovalOut, status=201)
async def submit(request: Request) -> JSONResponse:
    """Ask the library's directors to publish a draft."""
    user = await require_user(request)
    event = await Event.get_or_none(id=request.path_params["event_id"])
    if event is None:
        raise NotFound("event")
    await require_library_role(request, event.library_id, SUBMIT_ROLES)  # type: ignore[attr-defined]
    body = await read_json(request, Submission)
    submitted = await review.submit(event.id, user=user, note=body.note, base_url=origin(request))
    return JSONResponse(approval_json(submitted, await _slug(submitted.library_id)), 201)  # type: ignore[attr-defined]


async def _approver(request: Request) -> tuple[int, Any]:
    user = await require_user(request)
    request_id: int = request.path_params["request_id"]
    library_id = await review.library_of(request_id)
    await require_library_role(request, library_id, tuple(RoleName))
    if not await may_approve(user, library_id):
        raise ApiError(403, "forbidden: only a director of the library approves")
    return request_id, user


@declare(body=Decision, answer=ApprovalOut)
async def approve(request: Request) -> JSONResponse:
    """Publish the draft, or write the held change; 409 if the event changed meanwhile."""
    request_id, user = await _approver(request)
    body = await read_json(request, Decision)
    decided, _ = await review.approve(
        request_id, user=user, comment=body.comment, base_url=origin(request)
    )
    return JSONResponse(approval_json(decided, await _slug(decided.library_id)))  # type: ignore[attr-defined]


@declare(body=Decision, answer=ApprovalOut)
async def return_to_editor(request: Request) -> JSONResponse:
    """Send it back with a comment (required); nothing of it is published."""
    request_id, user = await _approver(request)
    body = await read_json(request, Decision)
    decided = await review.return_to_editor(
        request_id, user=user, comment=body.comment, base_url=origin(request)
    )
    return JSONResponse(approval_json(decided, await _slug(decided.library_id)))  # type: ignore[attr-defined]


@declare(answer=ApprovalOut)
async def withdraw(request: Request) -> JSONResponse:
    """The editor who made a request takes it back before anyone decided it."""
    user = await require_user(request)
    request_id: int = request.path_params["request_id"]
    library_id = await review.library_of(request_id)
    await require_library_role(request, library_id, tuple(RoleName))
    if user.id not in await review.editors_of(request_id):
        raise ApiError(403, "forbidden: only an editor who made it withdraws it")
    withdrawn = await review.withdraw(request_id, user=user)
    return JSONResponse(approval_json(withdrawn, await _slug(withdrawn.library_id)))  # type: ignore[attr-defined]


@declare(query=ApprovalFilters, answer=ApprovalList)
async def list_approvals(request: Request) -> JSONResponse:
    """A library's submissions, newest first; for its staff."""
    filters = read_query(request, ApprovalFilters)
    library = await Library.get_or_none(slug=filters.library)
    if library is None:
        raise Invalid({"library": f"no library {shown(filters.library)!r}"})
    await require_library_role(request, library.id, tuple(RoleName))
    query = ApprovalRequest.filter(library_id=library.id)
    if filters.decision:
        query = query.filter(decision=filters.decision)
    rows = await query.order_by("-submitted_at", "-id").limit(200)
    return JSONResponse({"approvals": [approval_json(r, library.slug) for r in rows]})


routes: list[BaseRoute] = [
    Route("/api/events/{event_id:id}/submit", submit, methods=["POST"]),
    Route("/api/approvals", list_approvals, methods=["GET"]),
    Route("/api/approvals/{request_id:id}/approve", approve, methods=["POST"]),
    Route("/api/approvals/{request_id:id}/return", return_to_editor, methods=["POST"]),
    Route("/api/approvals/{request_id:id}/withdraw", withdraw, methods=["POST"]),
]
