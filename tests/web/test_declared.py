"""Every operation of /openapi.json says what it answers and what it reads, and every
write says what a client should do after a 503: whether it may have been stored, and
that an Idempotency-Key makes sending it again safe (what the 503 bodies also say, on
a real refused database connection)."""

from __future__ import annotations

import socket
from typing import Any

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach.app import create_app
from outreach.settings import Settings
from outreach.web import errors
from outreach.web.boundary import declaration_of
from outreach.web.openapi import _flatten, build_openapi

BASE_URL = "https://outreach.example.org"
WRITES = ("post", "put", "patch", "delete")
APP = create_app(
    Settings(database_url="sqlite://:memory:", secret_key="x", base_url=BASE_URL),
    manage_database=False,
)
DOCUMENT = build_openapi(APP.routes, BASE_URL)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in DOCUMENT["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_answer_and_body_is_declared() -> None:
    undeclared = []
    for path, method, operation in _operations():
        status, answer = next((s, r) for s, r in operation["responses"].items() if s[0] == "2")
        if status != "204" and not answer.get("content"):
            undeclared.append(f"{method} {path}: answer")
        for content in [
            *answer.get("content", {}).values(),
            *operation.get("requestBody", {}).get("content", {}).values(),
        ]:
            if content["schema"] in ({"type": "object"}, {}):
                undeclared.append(f"{method} {path}: {content['schema']}")
    assert undeclared == []
    bookmobile = DOCUMENT["paths"]["/api/routes/{id}/emissions"]["get"]
    assert bookmobile["responses"]["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/EmissionsOut"}}
    }
    stops = DOCUMENT["paths"]["/api/routes/{id}/stops"]["put"]["requestBody"]
    assert stops["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StopsIn"
    }
    feed = DOCUMENT["paths"]["/feeds/{library}/routes/{id}.ics"]["get"]["responses"]["200"]
    assert feed["content"] == {"text/calendar": {"schema": {"type": "string"}}}
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["StopIn"]["required"] == ["name", "lat", "lon", "arrival", "minutes_parked"]
    assert schemas["StopIn"]["properties"]["arrival"]["pattern"] == (
        "^([01]?[0-9]|2[0-3]):[0-5][0-9](:00)?$"
    )
    assert schemas["NewRoute"]["properties"]["stops"]["maxItems"] == 60


def test_every_write_takes_an_idempotency_key_and_says_what_a_503_means() -> None:
    endpoints = {
        (route.path, method.lower()): route.endpoint
        for route in _flatten(list(APP.routes))
        for method in route.methods or ()
    }
    for path, method, operation in _operations():
        if method not in WRITES:
            assert "may have been stored" not in operation["responses"]["503"]["description"]
            continue
        names = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        route_path = next(p for p, m in endpoints if m == method and _same(p, path))
        declaration = declaration_of(endpoints[(route_path, method)])
        takes_key = declaration is None or declaration.idempotent
        assert names == (["Idempotency-Key"] if takes_key else []), (method, path)
        if takes_key:
            description = operation["responses"]["503"]["description"]
            assert "A write may have been stored even so" in description, (method, path)
            assert "may_have_been_stored" in description


def _same(route_path: str, documented: str) -> bool:
    return route_path.replace(":id}", "}").replace(":slug}", "}") == documented


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_write_answered_503_says_whether_sending_it_again_is_safe() -> None:
    port = _closed_port()

    async def write(request: Request) -> Response:
        await asyncpg.connect(host="127.0.0.1", port=port, user="x", database="x", timeout=5)
        return Response("not reached")

    app = Starlette(
        routes=[Route("/api/things", write, methods=["GET", "POST", "PUT", "DELETE"])],
        middleware=[Middleware(errors.DatabaseErrors)],
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        keyless = await client.post("/api/things", json={})
        keyed = await client.put("/api/things", json={}, headers={"Idempotency-Key": "k-1"})
        read = await client.get("/api/things")
    for response in (keyless, keyed, read):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
    assert keyless.json() == {
        "error": "service unavailable: the database cannot be reached just now; try again in 5"
        " seconds. This write may have been stored: look before sending it again, or send it"
        " with an Idempotency-Key, which makes sending it again safe.",
        "retry_after": 5,
        "may_have_been_stored": True,
        "safe_to_retry": False,
    }
    assert keyed.json() == {
        "error": "service unavailable: the database cannot be reached just now; try again in 5"
        " seconds. This write may have been stored: send it again with the same"
        " Idempotency-Key, which does it at most once.",
        "retry_after": 5,
        "may_have_been_stored": True,
        "safe_to_retry": True,
    }
    assert "may_have_been_stored" not in read.json()
