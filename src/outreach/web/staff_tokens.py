"""An administrator makes an API token for someone on their staff, from the users page.

Thin: the rule is :func:`outreach.staff_access.issue_token`. The secret is shown once, on
the page that answers the form (never in a redirect's flash, which a cookie carries), and
only its SHA-256 is kept.
"""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from outreach import staff_access
from outreach.i18n import gettext as _
from outreach.models import Library
from outreach.web.staff import error_page, local_time, page, render
from outreach.web.staff_forms import first, form_state


async def users_page(
    request: Request,
    library_ids: list[int],
    *,
    issued: staff_access.IssuedToken | None = None,
    refused: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The users page (staff/users.html), with a token just made or a refused name."""
    zone = (await Library.get(id=library_ids[0])).timezone

    def local(instant: dt.datetime) -> dt.datetime | None:
        return local_time(instant, zone)

    response = render(
        request,
        "staff/users.html",
        {
            "members": await staff_access.members(library_ids),
            "local": local,
            "issued": issued,
            "refused": refused or {},
        },
        status_code=status_code,
    )
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


async def create_token(request: Request) -> Response:
    """``POST /staff/users/{user_id}/tokens``: a named token, its secret shown once."""
    libraries = await staff_access.administered(request.state.user)
    if not libraries:
        return error_page(
            request, 403, _("Not allowed"), _("Only a library's administrator manages its users.")
        )
    user_id = int(request.path_params["user_id"])
    name = first(form_state(await request.form()), "name")
    try:
        issued = await staff_access.issue_token(request.state.user, user_id, name, libraries)
    except staff_access.TokenNameError as exc:
        refused = {"user": str(user_id), "name": name, "problem": str(exc)}
        return await users_page(request, libraries, refused=refused, status_code=422)
    if issued is None:
        return error_page(request, 404, _("Not found"), _("No such person on your staff."))
    return await users_page(request, libraries, issued=issued)


routes: list[BaseRoute] = [
    Route("/staff/users/{user_id:id}/tokens", page(create_token), methods=["POST"]),
]
