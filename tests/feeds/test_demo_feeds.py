"""Every feed of the demo data: served, small enough, and read right by every reader."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from outreach.feeds.publish import publish
from outreach.feeds.selection import Window, today
from outreach.models import Library, Network
from outreach.settings import Settings
from tests.feeds.readers import (
    dateutil_reader,
    libical_problems,
    libical_reader,
    node_reader,
    python_reader,
    service_instances,
    zones,
)


async def test_demo_feeds_agree_with_the_service(
    demo: str, client: httpx.AsyncClient, settings: Settings
) -> None:
    window = Window.for_day(settings, today())
    tzs = await zones()
    feeds: list[tuple[str, tuple[str, ...]]] = []
    for library in await Library.all().order_by("slug"):
        feeds.append((f"/feeds/{library.slug}.ics", (library.slug,)))
    for network in await Network.all().order_by("slug"):
        members = await Library.filter(network_id=network.id).values_list("slug", flat=True)
        feeds.append((f"/feeds/networks/{network.slug}.ics", tuple(str(m) for m in members)))
    assert feeds
    seen = 0
    for path, libraries in feeds:
        response = await client.get(path)
        assert response.status_code == 200, path
        # Google reads at most about 1 MB.
        assert len(response.content) < 1_000_000, path
        expected = await service_instances(libraries, None, window)
        seen += len(expected)
        assert python_reader(response.content, window, tzs) == expected, path
        assert dateutil_reader(response.content, window, tzs) == expected, path
        assert libical_reader(response.content, window, tzs) == expected, path
        # Node.js starts slowly: the networks' feeds hold every library's series.
        if path.startswith("/feeds/networks/"):
            assert node_reader(response.content, window, tzs) == expected, path
    if not seen:
        pytest.skip("the demo data has no occurrences in the current feed window")


async def test_libical_accepts_the_demo_feeds(demo: str, client: httpx.AsyncClient) -> None:
    """No X-LIC-ERROR from libical's parser or its restriction check (Evolution, KDE)."""
    paths = [f"/feeds/{slug}.ics" for slug in await Library.all().values_list("slug", flat=True)]
    paths += [
        f"/feeds/networks/{slug}.ics" for slug in await Network.all().values_list("slug", flat=True)
    ]
    assert paths
    problems: dict[str, list[str]] = {}
    for path in sorted(paths):
        response = await client.get(path)
        assert response.status_code == 200, path
        problems[path] = libical_problems(response.content)
    assert problems == {path: [] for path in paths}


async def test_demo_publishing_is_stable(demo: str, settings: Settings, tmp_path: Path) -> None:
    first = await publish(tmp_path, settings)
    before = {p: p.read_bytes() for p in first}
    assert len(first) > 2
    assert await publish(tmp_path, settings) == first
    assert {p: p.read_bytes() for p in first} == before
