"""The JSON error contract: ``{"error": ..., "fields": {name: problem}}``."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """An error answered as JSON with a status and, where it helps, per-field problems."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        fields: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields or {}
        self.extra = extra or {}

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.error}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class NotFound(ApiError):
    def __init__(self, what: str) -> None:
        super().__init__(404, f"{what} not found")


class Invalid(ApiError):
    """422 naming the fields at fault."""

    def __init__(self, fields: dict[str, str], error: str = "invalid input") -> None:
        super().__init__(422, error, fields=fields)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


_REASONS = {
    400: "bad request",
    401: "authentication required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "request too large",
    422: "invalid input",
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and exc.detail != "Not Found" else None
    error = detail or _REASONS.get(exc.status_code, "error")
    return JSONResponse({"error": error}, status_code=exc.status_code, headers=exc.headers)


_RETRYABLE = ("deadlock detected", "could not serialize access")


async def database_error(request: Request, exc: Exception) -> Response:
    """A write that lost a race with another one is the client's to retry, not a crash."""
    if any(marker in str(exc) for marker in _RETRYABLE):
        return JSONResponse(
            {"error": "a simultaneous change got in the way; nothing was saved, try again"},
            status_code=409,
        )
    return await server_error(request, exc)


async def server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal server error"}, status_code=500)
