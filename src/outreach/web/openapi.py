"""``/openapi.json``, generated from the mounted routes so it cannot drift from them.

Summaries come from each endpoint's docstring; query parameters of the HTTP contract are
listed here once, by path.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from outreach import __version__

_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
_DOCUMENTED_PREFIXES = ("/api/", "/feeds/", "/healthz")

_EVENT_FILTERS = {
    "library": "library slug",
    "branch": "branch slug",
    "kind": "event kind, e.g. workshop",
    "audience": "audience, e.g. 6-11 or seniors",
    "goal": "goal code, e.g. A1",
    "value": "value code",
    "status": "draft, published or cancelled",
    "from": "start of the window (ISO 8601 date or date-time)",
    "to": "end of the window (ISO 8601 date or date-time)",
    "limit": "page size",
    "offset": "items to skip",
}
_FEED_FILTERS = {
    "branch": "branch slug",
    "audience": "audience",
    "kind": "event kind",
    "goal": "goal code",
    "value": "value code",
    "lang": "language of titles and descriptions",
}
_REPORT_FILTERS = {
    "library": "library slug",
    "network": "network slug (instead of library)",
    "strategy": "strategy id or slug",
    "from": "first day (ISO 8601 date)",
    "to": "last day (ISO 8601 date)",
}
QUERY_PARAMETERS: dict[str, dict[str, str]] = {
    "/api/events": _EVENT_FILTERS,
    "/api/occurrences": _EVENT_FILTERS,
    "/api/reports/coverage": _REPORT_FILTERS,
    "/api/reports/coverage.csv": _REPORT_FILTERS,
    "/api/routes": {"library": "library slug (default: every library)"},
    "/api/routes/{id}/emissions": {
        "from": "first local day (ISO 8601 date; default: 364 days before to)",
        "to": "last local day (ISO 8601 date; default: today)",
    },
    "/api/stops/nearest": {
        "lat": "latitude, -90 to 90 (required)",
        "lon": "longitude, -180 to 180 (required)",
        "limit": "how many stops, 1 to 20 (default 5)",
        "library": "library slug (default: every library)",
    },
    "/api/vehicles": {"library": "library slug (default: every library)"},
    "/feeds/{library}.ics": _FEED_FILTERS,
    "/feeds/networks/{slug}.ics": _FEED_FILTERS,
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _flatten(routes: list[BaseRoute], prefix: str = "") -> list[Route]:
    flat: list[Route] = []
    for route in routes:
        if isinstance(route, Route):
            flat.append(route)
        elif isinstance(route, Mount):
            flat.extend(_flatten(list(route.routes), prefix + route.path))
    return flat


def _operation(route: Route, method: str) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or route.name.replace("_", " ")
    path = _PATH_PARAM.sub(r"{\1}", route.path)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    if method == "get":
        parameters += [
            {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}
            for name, text in QUERY_PARAMETERS.get(path, {}).items()
        ]
    responses: dict[str, Any] = {"200": {"description": "OK"}}
    for status in ("400", "401", "403", "404", "409", "422"):
        responses[status] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    operation: dict[str, Any] = {
        "summary": doc.splitlines()[0],
        "operationId": f"{method}_{route.name}",
        "parameters": parameters,
        "responses": responses,
    }
    if method in {"post", "patch", "put"}:
        operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        operation["security"] = [{"bearer": []}, {"session": []}]
    if method == "delete":
        operation["security"] = [{"bearer": []}, {"session": []}]
    return operation


def build_openapi(routes: list[BaseRoute], base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every API, feed and health route."""
    paths: dict[str, dict[str, Any]] = {}
    for route in _flatten(routes):
        if not route.path.startswith(_DOCUMENTED_PREFIXES) or not route.methods:
            continue
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        for method in sorted(m.lower() for m in route.methods if m != "HEAD"):
            paths.setdefault(path, {})[method] = _operation(route, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Outreach", "version": __version__},
        "servers": [{"url": base_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "outreach_session"},
            },
        },
    }


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI description of this service."""
    return JSONResponse(build_openapi(request.app.routes, request.app.state.settings.base_url))


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
