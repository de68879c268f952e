"""CSRF protection for staff pages and the patron's link pages (a registration's, a room
request's): a per-session token echoed in every form.

The token lives in the signed session cookie and each unsafe request must send it back,
in the ``csrf_token`` form field or the ``X-CSRF-Token`` header. Another site can make a
browser send the cookie but cannot read the token, so it cannot forge the request.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from outreach.i18n import gettext as _

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SESSION_KEY = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

Endpoint = Callable[[Request], Awaitable[Response]]


def csrf_token(request: Request) -> str:
    """The session's token, created on first use."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


def rotate_csrf_token(request: Request) -> str:
    """A fresh token, so that one seen before a login is useless after it."""
    token = secrets.token_urlsafe(32)
    request.session[SESSION_KEY] = token
    return token


def token_is_valid(request: Request, form: FormData) -> bool:
    """Whether the request carries the session's token (compared in constant time)."""
    expected = request.session.get(SESSION_KEY)
    sent = form.get(FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not expected or not isinstance(sent, str):
        return False
    return secrets.compare_digest(expected.encode(), sent.encode())


def refusal() -> str:
    """What a patron's page says to a form sent back without the session's token (from
    another site, or from before the session began): nothing was done."""
    return _("Nothing was changed: the form was too old. Please try again on this page.")


def protect(
    endpoint: Endpoint, *, on_failure: Callable[[Request], Awaitable[Response]]
) -> Endpoint:
    """Wrap ``endpoint`` so that unsafe methods without the right token get ``on_failure``.

    The form is parsed here once; Starlette caches it, so the endpoint reads it again
    for free.
    """

    @wraps(endpoint)
    async def checked(request: Request) -> Response:
        if request.method not in SAFE_METHODS:
            form = await request.form()
            if not token_is_valid(request, form):
                return await on_failure(request)
        return await endpoint(request)

    return checked
