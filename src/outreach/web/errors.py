"""The JSON error contract: ``{"error": ..., "fields": {name: problem}}`` (the fields by
the API's paths, which clients read), the same errors as pages for browsers (the fields
in words), and the one layer that answers for the database (:class:`DatabaseErrors`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach import db, i18n
from outreach.errors import Conflict, DomainError, Invalid, NotFound
from outreach.i18n import gettext as _
from outreach.web.field_words import each_said
from outreach.web.language import requested

log = logging.getLogger(__name__)

__all__ = ["ApiError", "Conflict", "DomainError", "Invalid", "NotFound", "status_of"]


class ApiError(DomainError):
    """An error of the HTTP boundary itself (a body that is not JSON, a missing sign-in),
    answered with its own status."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        fields: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(error, fields=fields, extra=extra)
        self.status = status


# The status of each kind of domain error (the most specific class wins).
_STATUS: dict[type[DomainError], int] = {Invalid: 422, NotFound: 404, Conflict: 409}


def status_of(exc: DomainError) -> int:
    """The HTTP status that answers a domain (or boundary) error."""
    if isinstance(exc, ApiError):
        return exc.status
    for kind in type(exc).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 400


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = status_of(exc)
    if wants_html(request.scope):
        return error_page(request, status, exc)
    return JSONResponse(exc.body(), status_code=status)


_REASONS = {
    400: "bad request",
    401: "authentication required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "request too large",
    422: "invalid input",
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and exc.detail != "Not Found" else None
    error = detail or _REASONS.get(exc.status_code, "error")
    if wants_html(request.scope):
        return error_page(request, exc.status_code, headers=exc.headers)
    return JSONResponse({"error": error}, status_code=exc.status_code, headers=exc.headers)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Seconds a client should wait before trying again while the database is unreachable.
RETRY_AFTER = 5
# First path segments that answer JSON whatever the client accepts; the rest are pages.
_MACHINE_PATHS = frozenset({"api", "feeds", "healthz", "openapi.json"})


def wants_html(scope: Scope) -> bool:
    """Whether the request is a browser's for a page (which gets its errors as HTML)."""
    segment = str(scope.get("path", "/")).lstrip("/").partition("/")[0]
    if segment in _MACHINE_PATHS:
        return False
    accept = Request(scope).headers.get("accept", "")
    return "text/html" in accept


def database_unavailable(scope: Scope) -> Response:
    """503 with ``Retry-After``: JSON, or a page for a browser's page request."""
    headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    message = (
        f"The database cannot be reached just now; try again in {RETRY_AFTER} seconds."
        " A write sent again with the same Idempotency-Key is done only once."
    )
    app = scope.get("app")
    templates = getattr(getattr(app, "state", None), "templates", None)
    if templates is not None and wants_html(scope):
        request = Request(scope)
        _page_language(request)
        response: Response = templates.TemplateResponse(
            request,
            "errors/error.html",
            {
                "status": 503,
                "title": _("Temporarily unavailable"),
                "message": _(
                    "The service cannot reach its database just now. Please try again in"
                    " %(seconds)s seconds.",
                    seconds=RETRY_AFTER,
                ),
                "problems": [],
            },
            status_code=503,
            headers=headers,
        )
        return response
    body: dict[str, object] = {
        "error": "service unavailable: " + message[0].lower() + message[1:],
        "retry_after": RETRY_AFTER,
    }
    if scope.get("method", "GET") not in _SAFE_METHODS:
        # The database may have gone away after the write's commit and before its answer:
        # the client cannot tell, and only a key makes sending it again safe.
        keyed = any(name == b"idempotency-key" for name, _ in scope.get("headers", []))
        body["may_have_been_stored"] = True
        body["safe_to_retry"] = keyed
        body["error"] = (
            f"service unavailable: the database cannot be reached just now; try again in"
            f" {RETRY_AFTER} seconds. This write may have been stored: "
            + (
                "send it again with the same Idempotency-Key, which does it at most once."
                if keyed
                else "look before sending it again, or send it with an Idempotency-Key,"
                " which makes sending it again safe."
            )
        )
    return JSONResponse(body, status_code=503, headers=headers)


def lost_race() -> Response:
    return JSONResponse(
        {"error": "a simultaneous change got in the way; nothing was saved, try again"},
        status_code=409,
    )


class DatabaseErrors:
    """ASGI middleware: the one place that maps database failures to HTTP.

    Whatever raised it (an endpoint, a service, authentication, the idempotency layer or
    a commit): a database that cannot be reached or cannot serve now (connection refused
    or lost, server shutting down or starting, SQLite locked or failing I/O) is a 503 with
    ``Retry-After``; a transaction the database rolled back because another got in the
    way is a 409 to retry. Everything else goes on to the 500 handler. Nothing is answered
    once a response has begun (a streamed body cannot be taken back).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            if db.lost_race(exc):
                response = lost_race()
            elif db.unavailable(exc):
                log.warning(
                    "database unavailable: %s %s answered 503 (%s: %s)",
                    scope.get("method"),
                    scope.get("path"),
                    type(exc).__name__,
                    str(exc)[:200],
                )
                response = database_unavailable(scope)
            else:
                raise
            await response(scope, receive, send)


async def server_error(request: Request, exc: Exception) -> Response:
    if wants_html(request.scope):
        return error_page(request, 500)
    return JSONResponse({"error": "internal server error"}, status_code=500)


def _titles() -> dict[int, str]:
    return {
        400: _("This request cannot be answered"),
        401: _("Please sign in"),
        403: _("Not allowed"),
        404: _("Page not found"),
        405: _("This page cannot do that"),
        409: _("This clashes with another change"),
        413: _("Too much was sent"),
        422: _("Some values are not right"),
        500: _("Something went wrong on our side"),
        503: _("Temporarily unavailable"),
    }


def _missing(what: str) -> str:
    """What a 404 page says was not found."""
    match what:
        case "library":
            return _("There is no library at this address.")
        case "event":
            return _("This event does not exist, or it is not public.")
        case "occurrence":
            return _("This event has no date at that time.")
        case "route" | "stop":
            return _("This bookmobile stop or route does not exist, or it is not public.")
        case "vehicle":
            return _("This vehicle does not exist.")
        case "partner":
            return _("This partner does not exist.")
        case "room":
            return _("This room does not exist.")
        case "room request" | "approval request":
            return _("This request does not exist.")
        case "registration":
            return _("This registration does not exist.")
        case "outreach service":
            return _("This outreach service does not exist.")
        case "strategy":
            return _("There is no such strategy.")
        case "network":
            return _("There is no such network.")
        case _:
            return _("There is no page at this address.")


def _message(status: int, exc: Exception | None, request: Request) -> str:
    if isinstance(exc, NotFound):
        # A handler that knows better words (the library has no bookmobile) gives them.
        return exc.message or _missing(exc.what)
    match status:
        case 404:
            return _("There is no page at this address.")
        case 405:
            return _(
                "This address does not take a %(method)s request: follow a link or use"
                " a form on the pages instead.",
                method=request.method,
            )
        case 400 | 422:
            return _("Please correct the values below and try again.")
        case 409:
            return _("Nothing was saved. Reload the page and try again.")
        case 413:
            return _("Please send less at a time.")
        case 500:
            return _("The problem has been logged and nothing was changed. Please try again later.")
        case _:
            return _("Please go back and try again.")


def _page_language(request: Request) -> str:
    """The language the handler chose, else the reader's wish, else the source language."""
    chosen = getattr(request.state, "language", None) or requested(request)
    return i18n.use(chosen or i18n.SOURCE_LANGUAGE)


def error_page(
    request: Request,
    status: int,
    exc: Exception | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A page for a person (in their language) naming the problem, with ``status``; each
    field at fault is said in words (:mod:`outreach.web.field_words`), never by its path."""
    _page_language(request)
    problems = each_said(exc.fields) if isinstance(exc, DomainError) else []
    response: Response = request.app.state.templates.TemplateResponse(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": _titles().get(status, _("This request cannot be answered")),
            "message": _message(status, exc, request),
            "problems": problems,
        },
        status_code=status,
        headers=headers,
    )
    return response
