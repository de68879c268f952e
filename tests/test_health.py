from __future__ import annotations

import httpx


async def test_healthz_reports_service_and_database(db: str, client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["dialect"] == ("postgres" if db.startswith("postgres") else "sqlite")


async def test_unknown_path_is_json_404(db: str, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE
    from tortoise.context import TortoiseContext

    from outreach.app import create_app
    from outreach.settings import Settings, tortoise_config

    # A SQLite file in a directory that does not exist cannot be opened.
    url = "sqlite:///nonexistent-outreach-dir/unreachable.sqlite3"
    settings = Settings(database_url=url, secret_key="x")
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(url))
        transport = httpx.ASGITransport(app=create_app(settings, manage_database=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/healthz")
    # Its SQL must not linger in the per-connection-name cache the real database uses.
    EXECUTOR_CACHE.clear()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == {"status": "unreachable", "dialect": "sqlite"}
