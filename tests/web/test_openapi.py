"""/openapi.json is generated from the declarations that validate requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
