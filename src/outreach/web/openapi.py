"""``/openapi.json``, generated from the mounted routes so it cannot drift from them.

Summaries come from each endpoint's docstring; path parameters from the routes' convertors;
query parameters, request bodies and answers from the models each endpoint declares
(:func:`outreach.web.boundary.declare`), the very models that validate them. Feeds, whose
filters repeat and are read by the feed code itself, are described here by path: their
query parameters and their iCalendar answers.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from outreach import __version__
from outreach.errors import Code
from outreach.strategies import GOAL_DESCRIPTION
from outreach.web.boundary import JSON, Declaration, declaration_of
from outreach.web.convertors import PATH_SCHEMAS
from outreach.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from outreach.web.links import origin

CALENDAR = "text/calendar"
_PATH_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")
_REF = "#/components/schemas/{model}"
_ERROR_STATUSES = ("400", "401", "403", "404", "408", "409", "410", "413", "415", "422", "429")
_DOCUMENTED_PREFIXES = ("/api/", "/feeds/", "/healthz")

_FEED_FILTERS = {
    "branch": "branch slug",
    "audience": "audience",
    "kind": "event kind",
    "goal": GOAL_DESCRIPTION,
    "value": "value code",
    "language": "a language the event is held in",
    "q": "words that begin words of the title or description, in any language",
    "lang": "language of titles and descriptions",
}
QUERY_PARAMETERS: dict[str, dict[str, str]] = {
    "/feeds/{library}.ics": _FEED_FILTERS,
    "/feeds/networks/{slug}.ics": _FEED_FILTERS,
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "codes": {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": [code.value for code in Code]},
            "description": (
                "a stable code of a field's problem, where it has one, to match instead of"
                " the words"
            ),
        },
    },
}
_IDEMPOTENCY = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes the write safe to retry: the same key with the same request gets the first"
        " answer again (marked Idempotent-Replayed: true) and stores nothing twice; the same"
        " key with another request is a 422, and while the first still runs a 409. Kept for"
        " 24 hours, per signed-in user."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


_UNAVAILABLE = (
    "The database cannot be reached just now (or the workers for long work are busy):"
    " try again after Retry-After seconds."
)
_UNAVAILABLE_WRITE = (
    _UNAVAILABLE + " A write may have been stored even so, when the database went away after"
    " its commit and before the answer: the body says so (`may_have_been_stored`). Sent"
    f" again with the same {IDEMPOTENCY_HEADER} it is done at most once; sent again without"
    " one it may be done twice."
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: absent, not null, is how a query leaves a value out."""
    options = schema.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf" and k != "default"}
            return {**kept[0], **rest}
    return {k: v for k, v in schema.items() if k != "default"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema["properties"].items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(field_schema),
        }
        description = field_schema.get("description")
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _flatten(routes: list[BaseRoute], prefix: str = "") -> list[Route]:
    flat: list[Route] = []
    for route in routes:
        if isinstance(route, Route):
            flat.append(route)
        elif isinstance(route, Mount):
            flat.extend(_flatten(list(route.routes), prefix + route.path))
    return flat


def _declarations(routes: list[Route]) -> dict[str, Any]:
    """The JSON Schemas of every declared body and answer, as components."""
    models: set[type[BaseModel]] = set()
    for route in routes:
        declaration = declaration_of(route.endpoint)
        if declaration is not None:
            models |= {m for m in (declaration.body, declaration.answer) if m is not None}
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schemas = models_json_schema([(m, "validation") for m in ordered], ref_template=_REF)
    return dict(sorted(schemas.get("$defs", {}).items()))


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(route: Route, method: str) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or route.name.replace("_", " ")
    path = _PATH_PARAM.sub(r"{\1}", route.path)
    # Feeds (library, network, route and stop) are declared here, by their path, like
    # their filters above: every one answers an iCalendar file.
    feed = Declaration(media_type=CALENDAR) if path.endswith(".ics") else Declaration()
    declaration = declaration_of(route.endpoint) or feed
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_SCHEMAS.get(convertor, {"type": "string"}),
        }
        for name, convertor in _PATH_PARAM.findall(route.path)
    ]
    if declaration.query is not None:
        parameters += _query_parameters(declaration.query)
    elif method == "get":
        parameters += [
            {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}
            for name, text in QUERY_PARAMETERS.get(path, {}).items()
        ]
    writes = method in {"post", "patch", "put", "delete"}
    if writes and declaration.idempotent:
        parameters.append(_IDEMPOTENCY)
    answer: dict[str, Any] = {"description": "OK"}
    if declaration.answer is not None:
        answer["content"] = {declaration.media_type: {"schema": _ref(declaration.answer)}}
    elif declaration.media_type != JSON:  # a feed, a CSV file: text
        answer["content"] = {declaration.media_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(declaration.status): answer}
    for status in _ERROR_STATUSES:
        responses[status] = _error("error")
    responses["503"] = {
        **_error(_UNAVAILABLE_WRITE if writes else _UNAVAILABLE),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
    operation: dict[str, Any] = {
        "summary": doc.splitlines()[0],
        "operationId": f"{method}_{route.name}",
        "parameters": parameters,
        "responses": responses,
    }
    if declaration.body is not None:
        operation["requestBody"] = {
            "required": declaration.body_required,
            "content": {declaration.body_media_type: {"schema": _ref(declaration.body)}},
        }
    elif declaration.body_media_type != JSON:  # a timetable file: text
        operation["requestBody"] = {
            "required": declaration.body_required,
            "content": {declaration.body_media_type: {"schema": {"type": "string"}}},
        }
    if writes:
        operation["security"] = [{"bearer": []}, {"session": []}]
    return operation


def build_openapi(routes: list[BaseRoute], base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every API, feed and health route."""
    paths: dict[str, dict[str, Any]] = {}
    documented = [
        route
        for route in _flatten(routes)
        if route.path.startswith(_DOCUMENTED_PREFIXES) and route.methods
    ]
    for route in documented:
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        for method in sorted(m.lower() for m in route.methods or () if m != "HEAD"):
            paths.setdefault(path, {})[method] = _operation(route, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Outreach", "version": __version__},
        "servers": [{"url": base_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA, **_declarations(documented)},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "outreach_session"},
            },
        },
    }


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI description of this service."""
    # The server is the address asked (or BASE_URL): a client reads the API where it found it.
    return JSONResponse(build_openapi(request.app.routes, origin(request)))


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
