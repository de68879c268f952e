"""The strategies as the five source documents write them, read through the real API.

``fixtures/strategies/faithfulness.csv`` has one row per item of each document (its title,
period and approval, each value, theme and goal, each statement of a vision, mission,
value or quality policy): the section, the original words verbatim (typos kept, and named
in ``note``), where the item is modelled (``strategy-slug kind code field``), whether the
model keeps the words ``exact``ly or is a ``loose`` label drawn from them (then
``original`` is the passages, joined by `` … ``), and an English translation.

Rows ``slug outreach <service> name`` are outreach services the document names (Maribor's
mobile collections, home and hospital delivery), served by the library's outreach services.

The tests fail when a row's words are not the document's, when the rows do not follow the
document, when an item of a document is missing from the served strategy or is not in its
document's order there, when a served item has no provenance or names words its document
does not have, and when a target does not say it is a demo target.

Not in the table: the website navigation line at the top of document 000 and the bare
structural headings of document 004 ("Lapin kirjaston ABC", "Strategiset päämäärät"), which
the provenance of its themes and goals names as their sections.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.settings import PROJECT_ROOT
from outreach.web.api_organisations import GoalOut, StatementOut, StrategyOut, TargetOut

TABLE = PROJECT_ROOT / "fixtures" / "strategies" / "faithfulness.csv"
# The five documents, as copied from the shared seeds (/work/shared/seeds) into the project.
SEEDS = PROJECT_ROOT / "fixtures" / "strategies" / "documents"
SHARED = Path("/work/shared/seeds")
DOCUMENTS = {
    "000_a4143d7c882883e0.txt": "kranj",
    "001_a5c606a41850b5d4.txt": "ook-slovenija",
    "002_178e180b2901e94f.txt": "maribor",
    "003_94235a3ebe73fce0.txt": "skopje",
    "004_be89e9b5119daff6.txt": "lapin-kirjasto-2021-2024",
}
COLUMNS = ["document", "section", "kind", "original", "modelled_at", "match", "english", "note"]
JOIN = " … "
DEMO_LABEL = "demo target, not from the strategy"


def _rows() -> list[dict[str, str]]:
    with TABLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def _document(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _passages(row: dict[str, str]) -> list[str]:
    return row["original"].split(JOIN) if row["match"] == "loose" else [row["original"]]


def test_the_documents_are_the_shared_seeds() -> None:
    assert sorted(p.name for p in SEEDS.glob("*.txt")) == sorted(DOCUMENTS)
    if SHARED.is_dir():
        for name in DOCUMENTS:
            assert (SHARED / name).read_bytes() == (SEEDS / name).read_bytes(), name


def test_the_table_quotes_each_document_verbatim_and_in_its_order() -> None:
    rows = _rows()
    assert {row["document"] for row in rows} == set(DOCUMENTS)
    for name in DOCUMENTS:
        text = _document(name)
        last = -1
        for row in (r for r in rows if r["document"] == name):
            assert row["match"] in ("exact", "loose"), row
            assert row["english"].strip(), row
            for passage in _passages(row):
                assert passage in text, f"{name}: not the document's words: {passage!r}"
            position = text.find(_passages(row)[0])
            assert position >= last, f"{name}: out of the document's order: {row['original']!r}"
            last = position


def test_no_item_of_a_document_is_missing_from_the_table() -> None:
    missing = [row for row in _rows() if not row["modelled_at"].strip()]
    assert missing == []


def _located(strategy: dict[str, Any], where: str) -> tuple[str, dict[str, Any], str]:
    """(list name, served item, field) of ``kind code field`` in a served strategy."""
    parts = where.split()
    if parts[0] == "strategy":
        return "strategy", strategy, parts[1]
    kind, code, field = parts
    if kind == "statement":
        items = {s["key"]: s for s in strategy["statements"]}
        return "statements", items[code], field
    if kind == "value":
        return "values", {v["code"]: v for v in strategy["values"]}[code], field
    if kind == "theme":
        return "themes", {t["code"]: t for t in strategy["themes"]}[code], field
    assert kind == "goal", where
    for theme in strategy["themes"]:
        for goal in theme["goals"]:
            if goal["code"] == code:
                return f"goals of {theme['code']}", goal, field
    raise KeyError(where)


def _items(strategy: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for statement in strategy["statements"]:
        yield f"statement {statement['key']}", statement
    for value in strategy["values"]:
        yield f"value {value['code']}", value
    for theme in strategy["themes"]:
        yield f"theme {theme['code']}", theme
        for goal in theme["goals"]:
            yield f"goal {goal['code']}", goal
    for goal in strategy["goals_without_theme"]:
        yield f"goal {goal['code']}", goal


async def test_the_served_strategies_hold_every_item_as_the_table_says(
    demo: str, client: httpx.AsyncClient
) -> None:
    rows = _rows()
    for name, slug in DOCUMENTS.items():
        response = await client.get(f"/api/strategies/{slug}")
        assert response.status_code == 200
        strategy = response.json()
        assert strategy["source_document"] == name
        language = strategy["source_language"]
        order: dict[str, list[str]] = defaultdict(list)
        tabled: set[str] = set()
        # A network's strategy (its slug names no library) has no outreach services.
        offered = await client.get(f"/api/libraries/{slug}/outreach-services")
        services = {s["slug"]: s for s in offered.json()["services"]} if offered.is_success else {}
        for row in (r for r in rows if r["document"] == name):
            where = row["modelled_at"]
            assert where.startswith(f"{slug} "), row
            if where.split()[1] == "outreach":
                # An outreach service the document names (Maribor's mission): served by
                # the library's outreach services, a loose label with the words it is from.
                service = services.pop(where.split()[2])
                assert (service["name"]["en"], service["source"]["match"]) == (
                    row["english"],
                    "loose",
                ), where
                assert service["source"]["words"] == _passages(row), where
                assert service["source"]["document"] == name, where
                continue
            try:
                listed, item, field = _located(strategy, where.removeprefix(f"{slug} "))
            except KeyError:
                pytest.fail(f"{name}: {row['original']!r} is missing from the served {where}")
            if listed != "strategy":
                key = " ".join(where.split()[1:3])
                tabled.add(key)
                if key not in order[listed]:
                    order[listed].append(key)
            if listed == "strategy":
                # The strategy's name, period and approval date have a source each.
                source = strategy["source"]["approved" if field == "approved_on" else field]
                if field in ("period", "approved_on"):
                    assert source["words"] == _passages(row), row
                    continue
            else:
                source = item["source"]
            served = item["text" if field == "text" else field]
            if row["match"] == "exact":
                assert served[language] == row["original"], where
                assert served["en"] == row["english"], where
            else:
                assert source["match"] == "loose", where
                assert source["words"] == _passages(row), where
        served_order = {
            "statements": [f"statement {s['key']}" for s in strategy["statements"]],
            "values": [f"value {v['code']}" for v in strategy["values"]],
            "themes": [f"theme {t['code']}" for t in strategy["themes"]],
        }
        for theme in strategy["themes"]:
            served_order[f"goals of {theme['code']}"] = [
                f"goal {g['code']}" for g in theme["goals"]
            ]
        for listed, keys in order.items():
            assert [k for k in served_order[listed] if k in keys] == keys, f"{slug} {listed}"
        # Everything served is in the table: nothing the documents do not say slips in.
        assert {key for key, _ in _items(strategy)} == tabled, slug
        assert services == {}, f"{slug}: outreach services the table does not name"


async def test_every_item_says_where_it_comes_from(demo: str, client: httpx.AsyncClient) -> None:
    targets = 0
    for name, slug in DOCUMENTS.items():
        strategy = (await client.get(f"/api/strategies/{slug}")).json()
        text = _document(name)
        assert strategy["source"]["document"] == name
        for key, item in _items(strategy):
            source = item["source"]
            assert source is not None, f"{slug} {key} has no provenance"
            assert source["kind"] == "document", f"{slug} {key}"
            assert (source["document"], source["match"] in ("exact", "loose")) == (name, True)
            assert source["section"] in text or source["section"] == "title", f"{slug} {key}"
            for words in source["words"]:
                assert words in text, f"{slug} {key}: {words!r} is not in {name}"
            for target in item.get("targets", []):
                targets += 1
                # None of the five documents sets a numeric target.
                assert (target["demo"], target["label"], target["source"]["kind"]) == (
                    True,
                    DEMO_LABEL,
                    "demo",
                ), f"{slug} {key}"
                assert target["source"]["note"], f"{slug} {key}"
    assert targets == 8


async def test_periods_and_approval_dates_are_the_documents_own(
    demo: str, client: httpx.AsyncClient
) -> None:
    served = {}
    for slug in DOCUMENTS.values():
        strategy = (await client.get(f"/api/strategies/{slug}")).json()
        served[slug] = (strategy["period"], strategy["approved_on"], strategy["in_force"]["source"])
    assert served == {
        "kranj": (None, None, "demo"),
        "ook-slovenija": (None, None, "demo"),
        "maribor": (None, None, "demo"),
        "skopje": (None, None, "demo"),
        "lapin-kirjasto-2021-2024": (
            {"start": "2021-01-01", "end": "2024-12-31"},
            "2021-09-02",
            "document",
        ),
    }


async def test_the_strategy_pages_show_the_documents_words_and_demo_targets(
    demo: str, client: httpx.AsyncClient
) -> None:
    # Each library's page speaks its own language; the document's words stay its own.
    rovaniemi = await client.get("/rovaniemi/")
    assert rovaniemi.status_code == 200
    page = rovaniemi.text
    assert "2021–2024 · hyväksytty 2. syyskuuta 2021" in page
    assert "Lapin kirjaston strategia vastaa ympäristössämme tapahtuviin muutoksiin" in page
    # Goals A1 and A3 carry the two demo targets of the Lapland strategy; no seed file's
    # name (a code name patrons cannot read) is shown as a source.
    assert page.count("(esimerkkitavoite, ei strategiasta)") == 2
    assert "004_be89e9b5119daff6.txt" not in page
    kranj = (await client.get("/kranj/")).text
    assert "Dokument ne navaja obdobja." in kranj
    assert "<h3>VIZIJA</h3>" in kranj
    assert "<h3>POSLANSTVO</h3>" in kranj
    # Kranj's own two demo targets, then the network's one (a target for staff training).
    assert kranj.count("(predstavitveni cilj, ne iz strategije)") == 3
    english = (await client.get("/kranj/?lang=en")).text
    assert "The document states no period." in english
    assert english.count(f"({DEMO_LABEL})") == 3


async def test_the_declared_answer_names_every_field_served(
    demo: str, client: httpx.AsyncClient
) -> None:
    for slug in DOCUMENTS.values():
        body = (await client.get(f"/api/strategies/{slug}")).json()
        StrategyOut.model_validate(body)
        assert set(body) == set(StrategyOut.model_fields), slug
        goal = body["themes"][0]["goals"][0]
        assert set(goal) == set(GoalOut.model_fields), slug
        assert set(body["statements"][0]) == set(StatementOut.model_fields), slug
    lapland = (await client.get("/api/strategies/lapin-kirjasto-2021-2024")).json()
    [target] = lapland["themes"][0]["goals"][0]["targets"]
    assert set(target) == set(TargetOut.model_fields)
