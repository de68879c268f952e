"""An administrator makes an API token on the users page, over real HTTP: the secret shown
once (not cached, never in a cookie), working at once, audited; a name it cannot keep is
refused beside the field; nobody but the person's administrator makes one."""

from __future__ import annotations

import re

import httpx

from outreach.models import ApiToken, AuditEntry, RoleName
from outreach.security import hash_token
from tests.factories import make_library, make_user
from tests.web.test_workspace import _library, _person, _sign_in

SECRET = re.compile(r'id="new-token" type="text" readonly value="(otk_[\w-]+)"')


async def test_an_admin_makes_a_token_that_works_at_once(
    db: str, client: httpx.AsyncClient
) -> None:
    _, library = await _library()
    await _person("admin@kranj.si", [(RoleName.ADMIN, library)])
    script = await make_user("skripta@kranj.si", password=None, roles=[(RoleName.EDITOR, library)])
    csrf = await _sign_in(client, "admin@kranj.si")
    page = (await client.get("/staff/users")).text
    assert f'<label for="token-name-{script.id}">Nov žeton za skripta: za kaj je</label>' in page
    made = await client.post(
        f"/staff/users/{script.id}/tokens",
        data={"name": "  Spletna stran  ", "csrf_token": csrf},
    )
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    assert "set-cookie" not in made.headers or "otk_" not in made.headers["set-cookie"]
    assert (
        "Žeton »Spletna stran« je ustvarjen. Kopirajte ga zdaj: prikazan je samo tokrat"
        " in ga nihče ne more več prebrati."
    ) in made.text
    found = SECRET.search(made.text)
    assert found is not None
    secret = found.group(1)
    token = await ApiToken.get(token_hash=hash_token(secret))
    assert (token.user_id, token.name, token.prefix) == (script.id, "Spletna stran", secret[:10])  # type: ignore[attr-defined]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/approvals?library=kranj", headers=bearer)).status_code == 200
    # Shown once: the users page lists the token by name and prefix, never the secret.
    listed = (await client.get("/staff/users")).text
    assert secret not in listed
    assert f"<code>{token.prefix}</code>" in listed
    entry = await AuditEntry.get(action="create_token")
    assert (entry.entity, entry.entity_id, entry.changes["user"]) == (
        "api_token",
        str(token.id),
        script.id,
    )


async def test_a_token_needs_a_name_and_a_person_of_the_admins_staff(
    db: str, client: httpx.AsyncClient
) -> None:
    _, library = await _library()
    other = await make_library("skopje", language="mk")
    await _person("admin@kranj.si", [(RoleName.ADMIN, library)])
    script = await make_user("skripta@kranj.si", password=None, roles=[(RoleName.EDITOR, library)])
    stranger = await make_user("tuj@skopje.mk", password=None, roles=[(RoleName.EDITOR, other)])
    csrf = await _sign_in(client, "admin@kranj.si")
    nameless = await client.post(
        f"/staff/users/{script.id}/tokens", data={"name": "   ", "csrf_token": csrf}
    )
    assert nameless.status_code == 422
    assert (
        f'<span class="field-error" id="token-name-{script.id}-error">'
        "Poimenujte žeton, npr. po skripti, ki ga bo uporabljala.</span>"
    ) in nameless.text
    long = await client.post(
        f"/staff/users/{script.id}/tokens", data={"name": "x" * 101, "csrf_token": csrf}
    )
    assert long.status_code == 422
    assert "največ 100 znakov" in long.text
    foreign = await client.post(
        f"/staff/users/{stranger.id}/tokens", data={"name": "urnik", "csrf_token": csrf}
    )
    assert foreign.status_code == 404
    assert await ApiToken.all().count() == 0
    # An editor is no administrator: refused, nothing made.
    await client.post("/staff/logout", data={"csrf_token": csrf})
    await _person("urednik@kranj.si", [(RoleName.EDITOR, library)])
    csrf = await _sign_in(client, "urednik@kranj.si")
    refused = await client.post(
        f"/staff/users/{script.id}/tokens", data={"name": "urnik", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    assert await ApiToken.all().count() == 0
