"""The typed boundary of the JSON API: path convertors, the one query parser, the one JSON
body reader, and the declarations ``/openapi.json`` is generated from.

- Path parameters are read by the convertors of :mod:`outreach.web.convertors`.
- :func:`read_query` reads the query string into a declared model: unknown parameters, a
  parameter given twice, NUL bytes and out-of-range values are a 422 naming the parameter.
- :func:`read_json` reads a JSON body: another media type is a 415, a body too large a
  413, malformed or too deeply nested JSON a 400, and the declared model names every field
  at fault in a 422.
- :func:`declare` records an endpoint's query, body and answer models for the OpenAPI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from outreach.errors import Invalid
from outreach.schemas import problems_of, validate
from outreach.web.errors import ApiError

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=Callable[..., Any])

DEFAULT_MAX_BODY = 256 * 1024
# Deeper than any declared body goes (a stop's fields sit at depth 3): a deeper one is
# refused before any model looks at it.
MAX_DEPTH = 16
JSON = "application/json"


@dataclass(frozen=True)
class Declaration:
    """What an endpoint reads and answers, for ``/openapi.json``."""

    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    status: int = 200
    # The media type of the answer (a feed, a CSV), and of a body that is not JSON.
    media_type: str = JSON
    body_media_type: str = JSON
    body_required: bool = True
    # Whether a write takes an Idempotency-Key (one that changes nothing ignores it).
    idempotent: bool = True


def declare(
    *,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    answer: type[BaseModel] | None = None,
    status: int = 200,
    media_type: str = JSON,
    body_media_type: str = JSON,
    body_required: bool = True,
    idempotent: bool = True,
) -> Callable[[E], E]:
    """Record what the endpoint reads and answers (the OpenAPI is built from it)."""
    declaration = Declaration(
        query, body, answer, status, media_type, body_media_type, body_required, idempotent
    )

    def mark(endpoint: E) -> E:
        endpoint.__declaration__ = declaration  # type: ignore[attr-defined]
        return endpoint

    return mark


def declaration_of(endpoint: Callable[..., Any]) -> Declaration | None:
    found: Declaration | None = getattr(endpoint, "__declaration__", None)
    return found


def read_query(request: Request, model: type[M]) -> M:
    """The query string as ``model``, or a 422 naming every parameter at fault."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in values:
            problems.setdefault(name, "must be given once")
        values[name] = value
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        problems = {**problems_of(model, exc), **problems}
    if problems:
        raise Invalid(problems)
    return parsed


def _depth(value: object) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            todo.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


async def read_json_value(request: Request, *, max_body: int = DEFAULT_MAX_BODY) -> Any:
    """The JSON value of the body: 415, 413 or 400 when it is no usable JSON."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != JSON:
        raise ApiError(
            415,
            "unsupported media type",
            fields={"content-type": f"must be {JSON}, not {media_type or 'missing'}"[:120]},
        )
    declared = request.headers.get("content-length")
    too_large = ApiError(413, "request too large", fields={"body": f"at most {max_body} bytes"})
    if declared is not None and (
        not re.fullmatch(r"[0-9]{1,12}", declared) or int(declared) > max_body
    ):
        raise too_large
    raw = await request.body()
    if len(raw) > max_body:
        raise too_large
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        found = str(exc)[:200] if isinstance(exc, ValueError) else "nested too deeply"
        raise ApiError(400, "malformed JSON", fields={"body": found}) from None
    if _depth(value) > MAX_DEPTH:
        raise ApiError(
            400, "malformed JSON", fields={"body": f"nested more than {MAX_DEPTH} levels deep"}
        )
    return value


async def read_json(request: Request, model: type[M], *, max_body: int = DEFAULT_MAX_BODY) -> M:
    """The body as ``model``: 415/413/400 for no usable JSON, 422 naming every field."""
    return validate(model, await read_json_value(request, max_body=max_body))


async def read_optional_json(
    request: Request, model: type[M], *, max_body: int = DEFAULT_MAX_BODY
) -> M:
    """As :func:`read_json`, but an empty body is the model's defaults."""
    if not await request.body():
        return validate(model, {})
    return await read_json(request, model, max_body=max_body)
