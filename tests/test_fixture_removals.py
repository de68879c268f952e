"""A strategy's values, themes and goals removed from its fixture are removed from the
database when the fixtures are loaded again, in the load's one transaction; one that events
are still tagged with is refused, with the whole load (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.fixtures import FixtureError, load_fixtures
from outreach.models import Goal, StrategyValue, Target, Theme
from tests.test_fixtures import EVENT, LIBRARY, STRATEGY

FULLER = (
    STRATEGY
    + """
[[values]]
code = "V1"
name = { en = "A value" }
source = { section = "Values" }

[[themes]]
code = "T"
name = { en = "A theme" }
source = { section = "Themes" }

  [[themes.goals]]
  code = "G2"
  name = { en = "Another goal" }
  source = { section = "Goals" }

    [[themes.goals.targets]]
    metric = "hours"
    minimum = 4
    period_start = 2026-01-01
    period_end = 2026-12-31
    source = "demo"
"""
)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


async def _codes() -> tuple[list[str], list[str], list[str], int]:
    return (
        sorted(str(c) for c in await StrategyValue.all().values_list("code", flat=True)),
        sorted(str(c) for c in await Theme.all().values_list("code", flat=True)),
        sorted(str(c) for c in await Goal.all().values_list("code", flat=True)),
        await Target.all().count(),
    )


async def test_removed_items_go_and_tagged_ones_are_refused(db: str, tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    library = LIBRARY.replace("{zone}", "Europe/Ljubljana")
    _write(root, {"organisations/x.toml": library, "strategies/s.toml": FULLER})
    await load_fixtures(root)
    assert await _codes() == (["V1"], ["T"], ["G1", "G2"], 1)

    # The theme, its goal (and the goal's target) and the value leave the fixture.
    _write(root, {"strategies/s.toml": STRATEGY})
    counts = await load_fixtures(root)
    # Three rows deleted, and G1 moves up to the first place.
    assert counts["changed"] == 4
    assert await _codes() == ([], [], ["G1"], 0)

    # G1 is tagged by an event; a fixture without G1 is refused, and nothing changes.
    event = EVENT.replace("{kind}", "lecture").replace("{tag}", "s/G1")
    _write(root, {"strategies/s.toml": FULLER, "events/x.toml": event})
    await load_fixtures(root)
    without_g1 = FULLER.replace(
        '[[goals]]\ncode = "G1"\nname = { en = "A goal" }\nsource = { section = "Goals" }\n', ""
    )
    assert without_g1 != FULLER
    _write(root, {"strategies/s.toml": without_g1, "events/x.toml": event.replace("s/G1", "s/G2")})
    # The event moves to G2 in the same load, so G1 is no longer tagged: it goes.
    await load_fixtures(root)
    assert await _codes() == (["V1"], ["T"], ["G2"], 1)
    # An event the fixtures no longer hold (as one staff made) still serves G2.
    (root / "events" / "x.toml").unlink()
    _write(root, {"strategies/s.toml": STRATEGY})
    with pytest.raises(FixtureError) as failure:
        await load_fixtures(root)
    assert str(failure.value) == (
        "fixtures/strategies/s.toml: strategy 's': goal 'G2' is no longer in the fixture, but"
        " 1 event(s) are still tagged with it; untag them (or keep the goal) and load again"
    )
    assert await _codes() == (["V1"], ["T"], ["G2"], 1)
