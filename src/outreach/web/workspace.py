"""Staff pages of the workspace: approvals and each staff member's private feed.

Thin: the rules are in ``outreach.scheduling.review`` (submit, approve, return) and
``outreach.feeds.staff`` (the feed, its secret).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from outreach import staff_access
from outreach.feeds import staff as staff_feed
from outreach.i18n import gettext as _
from outreach.languages import translated as tr
from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    Library,
    Role,
    RoleName,
    Room,
    StaffFeed,
    StaffUser,
)
from outreach.scheduling import approval, approval_notices, review, service
from outreach.scheduling.serialise import data_json, event_data
from outreach.web import auth
from outreach.web.errors import DomainError, status_of
from outreach.web.field_words import each_said
from outreach.web.links import absolute_url, origin
from outreach.web.staff import (
    conflict_rows,
    error_page,
    flash,
    local_time,
    page,
    render,
    resource_names,
)
from outreach.web.staff_forms import first, form_state

RECENT_SHOWN = 20


async def _approver_libraries(user: StaffUser) -> list[Library]:
    ids = [
        r.library_id  # type: ignore[attr-defined]
        for r in await Role.filter(
            user_id=user.id, library_id__isnull=False, role__in=[RoleName.DIRECTOR, RoleName.ADMIN]
        )
    ]
    return await Library.filter(id__in=ids or [0]).order_by("slug")


async def _row(request: ApprovalRequest) -> dict[str, Any]:
    event = request.event
    library = request.library
    lines: list[approval_notices.Line] = []
    stale = ""
    if request.kind == ApprovalKind.CHANGE and request.decision == ApprovalDecision.PENDING:
        loaded = await service.load_event(event.id)
        lines = await approval_notices.describe(None, request, loaded)
        parts = await approval.stale_parts(None, request, data_json(event_data(loaded)))
        if parts:
            stale = await approval_notices.stale_words(None, loaded, parts, for_editor=False)
    return {
        "request": request,
        "title": tr(event.title, library.default_language),
        "library": tr(library.name, library.default_language),
        "submitted": local_time(request.submitted_at, library.timezone),
        "decided": local_time(request.decided_at, library.timezone),
        "by": request.submitted_by.name if request.submitted_by else "",
        "decider": request.decided_by.name if request.decided_by else "",
        "change": request.kind == ApprovalKind.CHANGE,
        "lines": lines,
        "stale": stale,
        "amended": local_time(request.amended_at, library.timezone),
    }


async def approvals(request: Request) -> Response:
    """What waits for the user's decision, and what was decided lately."""
    user: StaffUser = request.state.user
    libraries = await _approver_libraries(user)
    if not libraries:
        return error_page(
            request, 403, _("Not allowed"), _("Only a library's director approves events.")
        )
    ids = [library.id for library in libraries]
    related = ("event", "library", "submitted_by", "decided_by")
    pending = (
        await ApprovalRequest.filter(library_id__in=ids, decision=ApprovalDecision.PENDING)
        .order_by("submitted_at", "id")
        .prefetch_related(*related)
    )
    decided = (
        await ApprovalRequest.filter(
            library_id__in=ids, decision__in=[ApprovalDecision.APPROVED, ApprovalDecision.RETURNED]
        )
        .order_by("-decided_at", "-id")
        .limit(RECENT_SHOWN)
        .prefetch_related(*related)
    )
    return render(
        request,
        "staff/approvals.html",
        {
            "pending": [await _row(r) for r in pending],
            "decided": [await _row(r) for r in decided],
        },
    )


async def _decide(request: Request, *, approving: bool) -> Response:
    user: StaffUser = request.state.user
    request_id = int(request.path_params["request_id"])
    library_id = await review.library_of(request_id)
    if not await auth.may_approve(user, library_id):
        return error_page(
            request, 403, _("Not allowed"), _("Only a library's director approves events.")
        )
    comment = first(form_state(await request.form()), "comment")
    try:
        if approving:
            decided, _result = await review.approve(
                request_id, user=user, comment=comment, base_url=origin(request)
            )
            if decided.kind == ApprovalKind.CHANGE:
                flash(request, _("Approved: the change is published."))
            else:
                flash(request, _("Approved: the event is published as submitted."))
        else:
            await review.return_to_editor(
                request_id, user=user, comment=comment, base_url=origin(request)
            )
            flash(request, _("Returned to the editor with your comment."))
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        flash(
            request,
            _("Nothing was decided:"),
            "error",
            items=await _problems(exc, library_id, request.state.user),
        )
    return RedirectResponse("/staff/approvals", status_code=303)


async def _problems(exc: DomainError, library_id: int, reader: StaffUser) -> list[str]:
    """A refusal in words, a line each: a double booking names the room or person and the
    local times."""
    raw = exc.extra.get("conflicts")
    if isinstance(raw, list):
        library = await Library.get(id=library_id)
        rooms = await Room.filter(branch__library_id=library_id)
        staff = await StaffUser.filter(roles__library_id=library_id).distinct()
        rows = conflict_rows(raw, library, resource_names(rooms, staff), reader=reader)
        return [str(row["message"]) for row in rows]
    return _placed(exc)


def _placed(exc: DomainError) -> list[str]:
    """Each field's problem after its place in words, in the page's language; the
    refusal's message where it names no field."""
    return each_said(exc.fields) or [exc.error]


async def withdraw(request: Request) -> Response:
    """An editor takes back their own request (from the dashboard or the event's page)."""
    user: StaffUser = request.state.user
    request_id = int(request.path_params["request_id"])
    if user.id not in await review.editors_of(request_id):
        return error_page(
            request, 403, _("Not allowed"), _("Only an editor who made a request withdraws it.")
        )
    state = form_state(await request.form())
    try:
        withdrawn = await review.withdraw(request_id, user=user)
        flash(request, _("Withdrawn: nothing of it is published."))
        target = f"/staff/events/{withdrawn.event_id}"  # type: ignore[attr-defined]
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        flash(request, _("Nothing was withdrawn:"), "error", items=_placed(exc))
        target = "/staff/"
    back = first(state, "next")
    return RedirectResponse(back if back == "/staff/" else target, status_code=303)


async def approve(request: Request) -> Response:
    return await _decide(request, approving=True)


async def return_to_editor(request: Request) -> Response:
    return await _decide(request, approving=False)


async def submit(request: Request) -> Response:
    """An editor submits a draft from its page."""
    user: StaffUser = request.state.user
    event = await service.load_event(request.path_params["event_id"])
    await auth.require_library_role(request, event.library.id, (RoleName.EDITOR,))
    note = first(form_state(await request.form()), "note")
    try:
        await review.submit(event.id, user=user, note=note, base_url=origin(request))
        flash(request, _("Submitted: a director will approve or return it."))
    except DomainError as exc:
        if status_of(exc) in (401, 403, 404):
            raise
        flash(request, _("Nothing was submitted:"), "error", items=_placed(exc))
    return RedirectResponse(f"/staff/events/{event.id}", status_code=303)


async def feed_page(request: Request) -> Response:
    """The user's private feed: make a new address (shown once) or turn it off."""
    user: StaffUser = request.state.user
    secret = None
    if request.method == "POST":
        action = first(form_state(await request.form()), "action")
        if action == "revoke":
            if await staff_feed.revoke(user):
                flash(request, _("Your feed is turned off: its address no longer works."))
            return RedirectResponse("/staff/feed", status_code=303)
        secret = await staff_feed.issue(user)
    feed = await StaffFeed.get_or_none(user_id=user.id)
    return render(
        request,
        "staff/feed.html",
        {
            "feed": feed,
            "url": absolute_url(request, f"/staff/calendar/{secret}.ics") if secret else None,
            "since": local_time(feed.created_at, "UTC") if feed else None,
        },
    )


async def calendar(request: Request) -> Response:
    """The feed itself, for calendar programs: only with the secret, else 404."""
    user = await staff_feed.holder(request.path_params["secret"])
    if user is None:
        return Response("Not found\n", status_code=404, media_type="text/plain")
    settings = request.app.state.settings
    body = await staff_feed.build(
        user, settings, day=dt.datetime.now(dt.UTC).date(), lang=user.language or "en"
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, no-store"},
    )


async def _administered(request: Request) -> list[int] | Response:
    libraries = await staff_access.administered(request.state.user)
    if not libraries:
        return error_page(
            request, 403, _("Not allowed"), _("Only a library's administrator manages its users.")
        )
    return libraries


async def users(request: Request) -> Response:
    """The staff of the admin's libraries and their API tokens."""
    libraries = await _administered(request)
    if isinstance(libraries, Response):
        return libraries
    zone = (await Library.get(id=libraries[0])).timezone

    def local(instant: dt.datetime) -> dt.datetime | None:
        return local_time(instant, zone)

    return render(
        request,
        "staff/users.html",
        {"members": await staff_access.members(libraries), "local": local},
    )


async def revoke_token(request: Request) -> Response:
    libraries = await _administered(request)
    if isinstance(libraries, Response):
        return libraries
    token = await staff_access.revoke_token(
        request.state.user, int(request.path_params["token_id"]), libraries
    )
    if token is None:
        return error_page(request, 404, _("Not found"), _("No such token."))
    flash(request, _("The token “%(name)s” is revoked.", name=token.name))
    return RedirectResponse("/staff/users", status_code=303)


routes: list[BaseRoute] = [
    Route("/staff/users", page(users), methods=["GET"]),
    Route("/staff/tokens/{token_id:id}/revoke", page(revoke_token), methods=["POST"]),
    Route("/staff/approvals", page(approvals), methods=["GET"]),
    Route("/staff/approvals/{request_id:id}/approve", page(approve), methods=["POST"]),
    Route("/staff/approvals/{request_id:id}/return", page(return_to_editor), methods=["POST"]),
    Route("/staff/approvals/{request_id:id}/withdraw", page(withdraw), methods=["POST"]),
    Route("/staff/events/{event_id:id}/submit", page(submit), methods=["POST"]),
    Route("/staff/feed", page(feed_page), methods=["GET", "POST"]),
    Route("/staff/calendar/{secret:str}.ics", calendar, methods=["GET"]),
]
