"""Static publishing: every public feed as a file, stable when nothing changed."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from outreach.feeds.publish import publish
from outreach.models import Library, Network
from outreach.scheduling import service
from tests.factories import make_library
from tests.feeds.conftest import BASE_URL, build_programme, feeds_settings


async def test_publish_writes_every_feed_and_is_stable(
    db: str, feeds_app: Starlette, tmp_path: Path
) -> None:
    programme = await build_programme()
    settings = feeds_settings(database_url=db)
    out = tmp_path / "calendars"
    paths = await publish(out, settings)
    assert [p.relative_to(out).as_posix() for p in paths] == [
        "helsinki.ics",
        "ljubljana.ics",
        "ljubljana/goals/A1.ics",
        "skopje.ics",
        "solo.ics",
        "networks/alpe-adria.ics",
        "index.html",
    ]
    index = (out / "index.html").read_text()
    for path in paths[:-1]:
        assert f'href="{path.relative_to(out).as_posix()}"' in index
    # The files hold exactly what the service answers at the same addresses.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=feeds_app), base_url=BASE_URL
    ) as client:
        for name, url in [
            ("ljubljana.ics", "/feeds/ljubljana.ics"),
            ("ljubljana/goals/A1.ics", "/feeds/ljubljana.ics?goal=A1"),
            ("networks/alpe-adria.ics", "/feeds/networks/alpe-adria.ics"),
        ]:
            assert (out / name).read_bytes() == (await client.get(url)).content

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
    assert await publish(out, settings) == paths
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths} == before

    await service.update_event(
        programme.events["book_sale"].id, {"title": {"sl": "Knjižni bazar"}}, user=None
    )
    await publish(out, settings)
    changed = {p.relative_to(out).as_posix() for p in paths if p.read_bytes() != before[p][0]}
    assert changed == {"ljubljana.ics", "networks/alpe-adria.ics"}


async def test_members_known_by_name_only_get_no_empty_feed(db: str, tmp_path: Path) -> None:
    """A network's member without a programme (known by name and town only) is skipped,
    and the progress says so; a library of its own with no events yet keeps its feed."""
    network = await Network.create(slug="regija", name={"sl": "Regija"}, default_language="sl")
    await make_library("clanica", network=network)
    await Library.filter(slug="clanica").update(source="public: a list of members", town="Ptuj")
    await make_library("drugacna", network=network)
    await Library.filter(slug="drugacna").update(source="public: a list of members")
    await make_library("nova")
    steps: list[tuple[str, int, int]] = []

    def progress(step: str, done: int, total: int) -> None:
        steps.append((step, done, total))

    out = tmp_path / "calendars"
    paths = await publish(out, feeds_settings(database_url=db), progress=progress)

    assert [p.relative_to(out).as_posix() for p in paths] == [
        "nova.ics",
        "networks/regija.ics",
        "index.html",
    ]
    assert steps[:2] == [
        ("skipping member libraries without a programme", 1, 2),
        ("skipping member libraries without a programme", 2, 2),
    ]
