"""Small builders for test data, so each test states only what matters to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from outreach.models import (
    ApiToken,
    Branch,
    Goal,
    Library,
    Network,
    Role,
    RoleName,
    Room,
    StaffUser,
    Strategy,
    StrategyValue,
    Theme,
)
from outreach.security import hash_published_password, new_token

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def make_library(
    slug: str = "testlib",
    *,
    name: dict[str, str] | None = None,
    timezone: str = "Europe/Ljubljana",
    language: str = "sl",
    languages: list[str] | None = None,
    network: Network | None = None,
) -> Library:
    return await Library.create(
        slug=slug,
        name=name or {language: f"Knjižnica {slug}", "en": f"{slug} Library"},
        timezone=timezone,
        default_language=language,
        languages=languages or [language, "en"],
        network=network,
    )


async def make_branch(library: Library, slug: str = "central", **extra: Any) -> Branch:
    fields: dict[str, Any] = {
        "name": f"{slug.title()} branch",
        "address": "Rotovški trg 2",
        "postcode": "2000",
        "city": "Maribor",
        "lat": 46.5575,
        "lon": 15.6467,
        "opening_hours": {d: [["08:00", "19:00"]] for d in WEEKDAYS[:5]}
        | {"sat": [["08:00", "13:00"]], "sun": []},
    }
    fields.update(extra)
    return await Branch.create(library=library, slug=slug, **fields)


async def make_room(branch: Branch, slug: str = "hall", capacity: int = 40) -> Room:
    return await Room.create(branch=branch, slug=slug, name=slug.title(), capacity=capacity)


async def make_strategy(
    *, library: Library | None = None, network: Network | None = None, slug: str = "strategy"
) -> Strategy:
    strategy = await Strategy.create(
        slug=slug,
        library=library,
        network=network,
        name={"fi": "Strategia", "en": "Strategy"},
        source_language="fi",
        period_start=dt.date(2021, 1, 1),
        period_end=dt.date(2024, 12, 31),
    )
    value = await StrategyValue.create(
        strategy=strategy, code="rohkeus", name={"fi": "rohkeus", "en": "courage"}
    )
    assert value.id
    theme = await Theme.create(
        strategy=strategy, code="A", name={"fi": "Uudistuva kirjasto", "en": "A renewing library"}
    )
    await Goal.create(
        strategy=strategy,
        theme=theme,
        code="A1",
        position=1,
        name={"fi": "Prosessit vapauttavat", "en": "Processes free staff"},
    )
    return strategy


async def make_user(
    email: str,
    *,
    password: str | None = "correct horse battery",
    roles: list[tuple[RoleName, Library | Network]] | None = None,
) -> StaffUser:
    """A staff user with ``roles``; ``password=None``: none that signs in. A test's password
    is published in its source, so it is hashed light (``hash_published_password``)."""
    user = await StaffUser.create(
        email=email,
        name=email.split("@")[0],
        password_hash="-" if password is None else hash_published_password(password),
    )
    for role, scope in roles or []:
        if isinstance(scope, Network):
            await Role.create(user=user, role=role, network=scope)
        else:
            await Role.create(user=user, role=role, library=scope)
    return user


async def make_token(user: StaffUser) -> str:
    """A new API token of ``user``: the secret a client sends."""
    token = new_token()
    await ApiToken.create(user=user, name="test", prefix=token.prefix, token_hash=token.digest)
    return token.secret


async def make_token_user(email: str, roles: list[tuple[RoleName, Library | Network]]) -> str:
    """A staff user with ``roles`` who uses the API, and their token's secret."""
    return await make_token(await make_user(email, password=None, roles=roles))
