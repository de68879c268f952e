"""Static publishing: every public feed as a file, stable when nothing changed."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import httpx
from starlette.applications import Starlette

from outreach.feeds.publish import publish
from outreach.models import Goal, Library, Network
from outreach.scheduling import service
from tests.factories import make_library
from tests.feeds.conftest import BASE_URL, build_programme, feeds_settings
from tests.web.test_goal_filter import NETWORK, ONLY_NETWORK, OWN, two_strategies_sharing_a1


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
        "ljubljana/goals/mklj-2021/A1.ics",
        "ljubljana/goals/A1.ics",
        "skopje.ics",
        "solo.ics",
        "networks/alpe-adria.ics",
        "networks/alpe-adria/goals/mklj-2021/A1.ics",
        "networks/alpe-adria/goals/A1.ics",
        "index.html",
    ]
    index = (out / "index.html").read_text()
    # The goal's feed by its strategy is offered; the one by the bare code only kept.
    assert re.findall(r'href="([^"]+)"', index) == [
        "helsinki.ics",
        "ljubljana.ics",
        "ljubljana/goals/mklj-2021/A1.ics",
        "skopje.ics",
        "solo.ics",
        "networks/alpe-adria.ics",
        "networks/alpe-adria/goals/mklj-2021/A1.ics",
    ]
    # Libraries of four languages: the page's own words in the interface's source language,
    # each library's and network's part in its own.
    assert index.startswith('<!doctype html>\n<html lang="en">\n')
    assert _sections(index) == [
        ("fi", "Helsingin kaupunginkirjasto", "Kalenterien kieli: Suomi"),
        ("sl", "Mestna knjižnica Ljubljana", "Jezik koledarjev: Slovenščina"),
        ("mk", "Градска библиотека Браќа Миладиновци", "Јазик на календарите: Македонски"),
        ("en", "Solo Library", "Calendars in English"),
        ("en", "Alpe–Adria–Baltic libraries", "Calendars in English"),
    ]
    # The files hold exactly what the service answers at the same addresses.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=feeds_app), base_url=BASE_URL
    ) as client:
        for name, url in [
            ("ljubljana.ics", "/feeds/ljubljana.ics"),
            ("ljubljana/goals/A1.ics", "/feeds/ljubljana.ics?goal=A1"),
            ("ljubljana/goals/mklj-2021/A1.ics", "/feeds/ljubljana.ics?goal=mklj-2021:A1"),
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


def _summaries(body: bytes) -> list[str]:
    return sorted(re.findall(r"^SUMMARY:(.+?)\r$", body.decode(), re.M))


async def test_two_strategies_sharing_a_code_get_a_file_each(db: str, tmp_path: Path) -> None:
    await two_strategies_sharing_a1()
    # Names in the libraries' language, each its own, as a patron tells them apart.
    for slug, name in (("kranj-2021", "Kranjski procesi"), ("si-2021", "Omrežni procesi")):
        await Goal.filter(id=(await Goal.get(strategy__slug=slug, code="A1")).id).update(
            name={"sl": name}
        )
    out = tmp_path / "calendars"
    paths = await publish(out, feeds_settings(database_url=db))

    found = {p.relative_to(out).as_posix(): _summaries(p.read_bytes()) for p in paths[:-1]}
    assert found == {
        "kranj.ics": sorted([OWN, NETWORK, ONLY_NETWORK]),
        "kranj/goals/kranj-2021/A1.ics": [OWN],
        "kranj/goals/si-2021/A1.ics": [NETWORK],
        "kranj/goals/si-2021/B7.ics": [ONLY_NETWORK],
        # By the bare code, as before: every goal A1 of Kranj's strategies.
        "kranj/goals/A1.ics": sorted([OWN, NETWORK]),
        "kranj/goals/B7.ics": [ONLY_NETWORK],
        "networks/si-omrezje.ics": sorted([OWN, NETWORK, ONLY_NETWORK]),
        # The network's programme offers its members' strategies' goals too.
        "networks/si-omrezje/goals/kranj-2021/A1.ics": [OWN],
        "networks/si-omrezje/goals/si-2021/A1.ics": [NETWORK],
        "networks/si-omrezje/goals/si-2021/B7.ics": [ONLY_NETWORK],
        "networks/si-omrezje/goals/A1.ics": sorted([OWN, NETWORK]),
        "networks/si-omrezje/goals/B7.ics": [ONLY_NETWORK],
    }
    for path in paths[:-1]:
        body = path.read_bytes()
        assert gzip.decompress(path.with_name(path.name + ".gz").read_bytes()) == body
        assert brotli.decompress(path.with_name(path.name + ".br").read_bytes()) == body
    index = (out / "index.html").read_text()
    assert re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', index) == [
        ("kranj.ics", "Knjižnica kranj"),
        ("kranj/goals/kranj-2021/A1.ics", "Knjižnica kranj · A1 Kranjski procesi"),
        ("kranj/goals/si-2021/A1.ics", "Knjižnica kranj · A1 Omrežni procesi"),
        ("kranj/goals/si-2021/B7.ics", "Knjižnica kranj · B7 Bralna kultura"),
        ("networks/si-omrezje.ics", "Slovensko omrežje"),
        (
            "networks/si-omrezje/goals/kranj-2021/A1.ics",
            "Slovensko omrežje · A1 Kranjski procesi",
        ),
        (
            "networks/si-omrezje/goals/si-2021/A1.ics",
            "Slovensko omrežje · A1 Omrežni procesi",
        ),
        ("networks/si-omrezje/goals/si-2021/B7.ics", "Slovensko omrežje · B7 Bralna kultura"),
    ]
    # The library and its network speak Slovenian: so does the whole page.
    assert index.startswith('<!doctype html>\n<html lang="sl">\n')
    assert (
        "<title>Koledarji knjižničnega programa</title>\n</head>\n<body>\n"
        "<h1>Koledarji knjižničnega programa</h1>\n"
        "<p>Koledar naročite z njegovim naslovom v katerem koli koledarskem programu.</p>\n"
    ) in index
    assert _sections(index) == [
        ("sl", "Knjižnica kranj", "Jezik koledarjev: Slovenščina"),
        ("sl", "Slovensko omrežje", "Jezik koledarjev: Slovenščina"),
    ]
    for english in ("Library programme", "Subscribe", "calendar application", "Calendars in"):
        assert english not in index


def _sections(index: str) -> list[tuple[str, str, str]]:
    """Each section of the index: its language, heading and the line under the heading."""
    return re.findall(r'<section lang="([^"]+)">\n<h2>([^<]+)</h2>\n<p>([^<]+)</p>', index)
