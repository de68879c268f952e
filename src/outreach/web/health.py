"""Liveness and database status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from outreach import __version__
from outreach.db import ping


async def healthz(request: Request) -> JSONResponse:
    """Service and database status: 200 when both answer, 503 when the database does not."""
    database_ok = await ping()
    body = {
        "status": "ok" if database_ok else "degraded",
        "version": __version__,
        "database": {
            "status": "ok" if database_ok else "unreachable",
            "dialect": request.app.state.settings.dialect,
        },
    }
    return JSONResponse(body, status_code=200 if database_ok else 503)


routes = [Route("/healthz", healthz, methods=["GET"])]
