"""The JSON error contract, and the one layer that answers for the database, on the
smallest apps that show them (the real drivers raise the errors)."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.exceptions import OperationalError

from outreach.settings import PROJECT_ROOT
from outreach.web import errors
from outreach.web.templating import make_templates

UNAVAILABLE = {
    "error": "service unavailable: the database cannot be reached just now; try again in 5"
    " seconds. A write sent again with the same Idempotency-Key is done only once.",
    "retry_after": 5,
}


def _app(fail: Exception | Callable[[], Awaitable[None]]) -> Starlette:
    async def endpoint(request: Request) -> Response:
        if isinstance(fail, Exception):
            raise fail
        await fail()
        return Response("not reached")

    app = Starlette(
        routes=[Route("/", endpoint, methods=["GET", "POST"]), Route("/{page}", endpoint)],
        middleware=[Middleware(errors.DatabaseErrors)],
        exception_handlers={errors.DomainError: errors.api_error, 500: errors.server_error},
    )
    app.state.templates = make_templates(PROJECT_ROOT / "templates")
    return app


async def _get(app: Starlette, path: str = "/", **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path, headers=headers)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_lost_race_is_a_409_to_retry() -> None:
    response = await _get(_app(OperationalError("deadlock detected")))
    assert response.status_code == 409
    assert response.json() == {
        "error": "a simultaneous change got in the way; nothing was saved, try again"
    }


async def test_other_database_failures_are_a_json_500_without_details() -> None:
    response = await _get(_app(OperationalError("relation secret_table does not exist")))
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}


async def test_api_error_names_fields() -> None:
    response = await _get(_app(errors.Invalid({"start": "must be before end"})))
    assert response.status_code == 422
    assert response.json() == {"error": "invalid input", "fields": {"start": "must be before end"}}


async def test_a_refused_postgresql_connection_is_a_503_to_retry() -> None:
    port = _closed_port()

    async def connect() -> None:
        await asyncpg.connect(host="127.0.0.1", port=port, user="x", database="x", timeout=5)

    response = await _get(_app(connect))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == UNAVAILABLE


async def test_a_server_that_is_starting_or_stopping_is_a_503() -> None:
    for error in (
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        # What a COMMIT raises on a session the server ended while it was idle.
        asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        ),
    ):
        response = await _get(_app(error))
        assert (response.status_code, response.json()) == (503, UNAVAILABLE), error


async def test_a_locked_sqlite_database_is_a_503(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("INSERT INTO t VALUES (1)")
        finally:
            other.close()

    try:
        response = await _get(_app(write))
    finally:
        holder.close()
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


async def test_a_connection_error_not_raised_by_a_driver_is_not_the_database() -> None:
    async def call_another_service() -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    response = await _get(_app(call_another_service))
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}


async def test_a_browser_asking_for_a_page_gets_the_503_as_html() -> None:
    error = asyncpg.CannotConnectNowError("the database system is shutting down")
    page = await _get(_app(error), "/maribor", accept="text/html,application/xhtml+xml")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Temporarily unavailable</h1>" in page.text
    # The API answers JSON whatever the client accepts.
    api = await _get(_app(error), "/api", accept="text/html")
    assert api.status_code == 503
    assert api.json() == UNAVAILABLE
