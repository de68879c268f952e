"""Liveness and database status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from outreach import __version__
from outreach.db import ping
from outreach.web.errors import RETRY_AFTER


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
    if database_ok:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})


routes = [Route("/healthz", healthz, methods=["GET"])]
