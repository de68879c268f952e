"""Liveness and database status."""

from __future__ import annotations

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from outreach import __version__
from outreach.db import ping
from outreach.schemas import Answer
from outreach.web.boundary import declare
from outreach.web.errors import RETRY_AFTER


class DatabaseStatus(Answer):
    status: str = Field(description="ok or unreachable")
    dialect: str = Field(description="sqlite or postgres")


class Health(Answer):
    """The service's status; a 503 carries the same fields with an ``error``."""

    status: str = Field(description="ok, or degraded while the database cannot be reached")
    version: str
    database: DatabaseStatus


@declare(answer=Health)
async def healthz(request: Request) -> JSONResponse:
    """Service and database status: 200 when both answer, 503 when the database does not."""
    database_ok = await ping()
    body: dict[str, object] = {
        "status": "ok" if database_ok else "degraded",
        "version": __version__,
        "database": {
            "status": "ok" if database_ok else "unreachable",
            "dialect": request.app.state.settings.dialect,
        },
    }
    if database_ok:
        return JSONResponse(body)
    # Like every 503 of the service (the Error schema), it says what is wrong in "error".
    body = {"error": "service unavailable: the database cannot be reached just now", **body}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})


routes = [Route("/healthz", healthz, methods=["GET"])]
