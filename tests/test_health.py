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
