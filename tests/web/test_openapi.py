"""/openapi.json is generated from the declarations that validate requests."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx
import pytest

import outreach
from outreach.errors import Code
from outreach.scheduling.schemas import NewEvent

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
async def spec(db: str, client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/openapi.json")).json()
    return body


async def test_bodies_and_answers_come_from_the_models(spec: dict[str, Any]) -> None:
    create = spec["paths"]["/api/events"]["post"]
    assert create["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewEvent"}}},
    }
    assert create["responses"]["201"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/EventWritten"}}
    }
    assert create["responses"]["415"]["content"]["application/json"]["schema"] == ERROR
    schemas = spec["components"]["schemas"]
    assert (
        schemas["NewEvent"]["properties"]
        == NewEvent.model_json_schema(ref_template="#/components/schemas/{model}")["properties"]
    )
    assert schemas["NewEvent"]["required"] == ["kind", "title", "start", "end", "library"]
    assert schemas["NewEvent"]["additionalProperties"] is False
    assert schemas["PlaceIn"]["properties"]["lat"]["anyOf"][0] == {
        "type": "number",
        "minimum": -90,
        "maximum": 90,
    }


async def test_parameters_come_from_convertors_and_query_models(spec: dict[str, Any]) -> None:
    event = spec["paths"]["/api/events/{event_id}"]["get"]["parameters"]
    assert event == [
        {
            "name": "event_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        }
    ]
    coverage = {p["name"]: p for p in spec["paths"]["/api/reports/coverage"]["get"]["parameters"]}
    assert list(coverage) == ["library", "network", "strategy", "from", "to"]
    assert coverage["from"]["schema"] == {
        "type": "string",
        "format": "date",
        "title": "From",
        "description": "first day",
    }
    assert coverage["from"]["description"] == "first day"
    library = spec["paths"]["/api/libraries/{slug}"]["get"]["parameters"][0]
    assert library["schema"] == {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}


async def test_writes_document_the_idempotency_key(spec: dict[str, Any]) -> None:
    def names(path: str, method: str) -> list[str]:
        return [p["name"] for p in spec["paths"][path][method]["parameters"] if p["in"] == "header"]

    assert names("/api/events", "post") == ["Idempotency-Key"]
    assert names("/api/events/{event_id}", "delete") == ["Idempotency-Key"]
    assert names("/api/routes/{id}/stops", "put") == ["Idempotency-Key"]
    assert names("/api/events", "get") == []
    # Optimising changes nothing: it ignores the header.
    assert names("/api/routes/{id}/optimise", "post") == []


def _registry(node: ast.expr) -> bool:
    """Whether ``node`` names the registry of codes (``Code``, ``errors.Code``, ``Problem``)."""
    if isinstance(node, ast.Name):
        return node.id in ("Code", "Problem")
    return isinstance(node, ast.Attribute) and node.attr == "Code"


def _given(codes: ast.expr) -> list[str]:
    """The texts an error body's ``codes`` mapping gives as they are (``{"x": "busy"}``);
    not the JSON Schema that describes the member."""
    if isinstance(codes, ast.Dict) and not any(
        isinstance(key, ast.Constant) and key.value == "type" for key in codes.keys
    ):
        values = codes.values
    elif isinstance(codes, ast.DictComp):
        values = [codes.value]
    else:
        values = []
    return [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]


def _codes_raised() -> dict[str, str]:
    """Every stable code the source gives, each with the first place that gives it: a
    member named by the registry (``Code.X``, or ``Problem.X``, its name in the timetable)
    and a text written straight into an error body's ``codes``."""
    found: dict[str, str] = {}
    source = Path(outreach.__file__).parent
    for file in sorted(source.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{file.relative_to(source)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and _registry(node.value):
                found.setdefault(node.attr, where)
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "codes":
                        for code in _given(value):
                            found.setdefault(code, where)
    return found


async def test_the_error_body_lists_every_stable_code_the_service_gives(
    spec: dict[str, Any],
) -> None:
    codes = spec["components"]["schemas"]["Error"]["properties"]["codes"]
    listed = codes["additionalProperties"]["enum"]
    assert listed == [
        "overlap",
        "past_midnight",
        "off_rule",
        "ends_before_start",
        "code_taken",
        "foreign_stop",
        "stop_twice",
        "no_run",
        "vehicle_busy",
        "approval_needed",
        "occurrence_coincides",
    ]
    raised = _codes_raised()
    # A code given by a member's name is listed by its value; a text given as it is, as is.
    by_name = {code.name: code.value for code in Code}
    given = {by_name.get(name, name): where for name, where in raised.items()}
    assert {code: where for code, where in given.items() if code not in listed} == {}
    # And every listed code is given somewhere: none is a promise the service never keeps.
    assert sorted(set(listed) - set(given)) == []
