"""Who may write: bearer tokens and sessions, roles per library."""

from __future__ import annotations

import datetime as dt
import json
from base64 import b64encode

import httpx
from itsdangerous import TimestampSigner

from outreach.models import ApiToken, Event, Network, Role, RoleName, StaffUser
from outreach.settings import Settings

from .conftest import World, event_body, make_user


async def test_writes_need_a_valid_token(world: World, client: httpx.AsyncClient) -> None:
    body = event_body(world)
    assert (await client.post("/api/events", json=body)).status_code == 401
    for header in ("Bearer otk_nonsense", "Bearer ", "Basic ZWRpdG9yOnNlY3JldA==", "otk_x"):
        response = await client.post("/api/events", json=body, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json() == {"error": "authentication required"}
    revoked, secret = await make_user("revoked@mkl.si", [(RoleName.EDITOR, world.ljubljana)])
    await ApiToken.filter(user_id=revoked.id).update(revoked_at=dt.datetime.now(dt.UTC))
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await client.post("/api/events", json=body, headers=auth)).status_code == 401
    inactive, secret = await make_user("inactive@mkl.si", [(RoleName.EDITOR, world.ljubljana)])
    await StaffUser.filter(id=inactive.id).update(is_active=False)
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await client.post("/api/events", json=body, headers=auth)).status_code == 401
    assert await Event.all().count() == 0


async def test_token_use_is_recorded(world: World, client: httpx.AsyncClient) -> None:
    user, secret = await make_user("script@mkl.si", [(RoleName.EDITOR, world.ljubljana)])
    before = dt.datetime.now(dt.UTC)
    response = await client.post(
        "/api/events", json=event_body(world), headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 201
    token = await ApiToken.get(user_id=user.id)
    assert token.last_used_at is not None
    assert token.last_used_at >= before


async def test_roles_decide_who_writes_where(world: World, client: httpx.AsyncClient) -> None:
    body = event_body(world)
    for who in ("director", "outsider"):
        response = await client.post("/api/events", json=body, headers=world.auth(who))
        assert response.status_code == 403, who
    _admin, admin_token = await make_user("admin@mkl.si", [(RoleName.ADMIN, world.ljubljana)])
    created = await client.post(
        "/api/events", json=body, headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert created.status_code == 201
    event_id = created.json()["id"]
    for who in ("director", "outsider"):
        assert (
            await client.patch(
                f"/api/events/{event_id}", json={"capacity": 3}, headers=world.auth(who)
            )
        ).status_code == 403
        assert (
            await client.delete(f"/api/events/{event_id}", headers=world.auth(who))
        ).status_code == 403
        path = f"/api/events/{event_id}/occurrences/2026-12-08T16:00:00Z"
        assert (
            await client.patch(path, json={"cancelled": True}, headers=world.auth(who))
        ).status_code == 403
    event = await Event.get(id=event_id)
    assert (event.revision, event.capacity, event.status.value) == (1, None, "published")
    assert (
        await client.patch(
            f"/api/events/{event_id}", json={"capacity": 3}, headers=world.auth("editor")
        )
    ).status_code == 200


async def test_network_coordinator_reads_but_does_not_write(
    world: World, client: httpx.AsyncClient
) -> None:
    created = await client.post(
        "/api/events", json=event_body(world, status="draft"), headers=world.auth("editor")
    )
    event_id = created.json()["id"]
    coordinator, token = await make_user("coordinator@net.eu", [])
    network = await Network.get(slug="net")
    await Role.create(user=coordinator, network=network, role=RoleName.COORDINATOR)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"/api/events/{event_id}", headers=headers)).status_code == 200
    assert (
        await client.get(f"/api/events/{event_id}/attendance", headers=headers)
    ).status_code == 200
    assert (
        await client.patch(f"/api/events/{event_id}", json={"capacity": 3}, headers=headers)
    ).status_code == 403


def _session_cookie(settings: Settings, session: dict[str, object]) -> str:
    """A cookie as Starlette's SessionMiddleware signs it."""
    data = b64encode(json.dumps(session).encode())
    return TimestampSigner(settings.secret_key).sign(data).decode()


async def test_session_user_can_write(
    world: World, client: httpx.AsyncClient, settings: Settings
) -> None:
    session = {"user_id": world.editor.id, "csrf_token": "t0ken"}
    client.cookies.set("outreach_session", _session_cookie(settings, session))
    # A cookie alone could be forged by another site: API writes need the CSRF header too.
    forged = await client.post("/api/events", json=event_body(world))
    assert forged.status_code == 403
    assert forged.json() == {
        "error": "a signed-in browser must send the X-CSRF-Token header with API writes",
        "fields": {"X-CSRF-Token": "missing or wrong"},
    }
    wrong = await client.post(
        "/api/events", json=event_body(world), headers={"X-CSRF-Token": "other"}
    )
    assert wrong.status_code == 403
    assert await Event.all().count() == 0
    response = await client.post(
        "/api/events", json=event_body(world), headers={"X-CSRF-Token": "t0ken"}
    )
    assert response.status_code == 201
    director = {"user_id": world.director.id, "csrf_token": "t0ken"}
    client.cookies.set("outreach_session", _session_cookie(settings, director))
    assert (
        await client.post(
            "/api/events",
            json=event_body(world, room=world.hall.id),
            headers={"X-CSRF-Token": "t0ken"},
        )
    ).status_code == 403
    # A bad bearer header is judged alone, even beside a good session.
    client.cookies.set("outreach_session", _session_cookie(settings, {"user_id": world.editor.id}))
    bad = await client.post(
        "/api/events",
        json=event_body(world, room=world.hall.id),
        headers={"Authorization": "Bearer nope"},
    )
    assert bad.status_code == 401
