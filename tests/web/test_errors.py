"""The JSON error contract, on the smallest apps that show it."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.exceptions import OperationalError

from outreach.web import errors


def _app(exc: Exception) -> Starlette:
    async def fail(request: Request) -> Response:
        raise exc

    return Starlette(
        routes=[Route("/", fail)],
        exception_handlers={
            errors.ApiError: errors.api_error,
            OperationalError: errors.database_error,
            500: errors.server_error,
        },
    )


async def _get(app: Starlette) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/")


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
