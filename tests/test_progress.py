"""Progress of long commands: plain lines when piped (exactly), a bar on a terminal."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from outreach import i18n
from outreach.bookmobile.open_data import ImportResult, import_summary
from outreach.models import EmissionFactor, Fuel, Library
from outreach.progress import Reporter
from outreach.settings import PROJECT_ROOT
from tests.bookmobile.timetables import large_timetable
from tests.factories import make_branch, make_library
from tests.test_cli import outreach


def test_piped_progress_is_a_line_per_tenth_and_one_at_the_end() -> None:
    out = io.StringIO()
    progress = Reporter("import-stops", out, terminal=False)
    for done in range(26):
        progress("saving routes", done, 25)
    progress("writing visits", 0, 0)
    progress("updating routes", 1, 2)
    progress.close()
    assert out.getvalue() == (
        "import-stops: saving routes 3/25 (12%)\n"
        "import-stops: saving routes 5/25 (20%)\n"
        "import-stops: saving routes 8/25 (32%)\n"
        "import-stops: saving routes 10/25 (40%)\n"
        "import-stops: saving routes 13/25 (52%)\n"
        "import-stops: saving routes 15/25 (60%)\n"
        "import-stops: saving routes 18/25 (72%)\n"
        "import-stops: saving routes 20/25 (80%)\n"
        "import-stops: saving routes 23/25 (92%)\n"
        "import-stops: saving routes 25/25 (100%)\n"
        "import-stops: writing visits 0/0 (100%)\n"
        "import-stops: updating routes 1/2 (50%)\n"
    )


def test_on_a_terminal_the_bar_is_redrawn_at_most_ten_times_a_second() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = Reporter("publish", out, terminal=True, clock=lambda: now[0])
    progress("writing files", 1, 4)
    now[0] = 0.05
    progress("writing files", 2, 4)  # too soon: not drawn
    now[0] = 0.2
    progress("writing files", 3, 4)
    progress("writing files", 4, 4)  # the end is always drawn
    progress("building feeds", 1, 2)
    progress.close()
    # Each drawing goes back to the start of the line and clears what is left of it.
    assert out.getvalue() == (
        "\rpublish: writing files [#####---------------]  25%  1/4\x1b[K"
        "\rpublish: writing files [###############-----]  75%  3/4\x1b[K"
        "\rpublish: writing files [####################] 100%  4/4\x1b[K\n"
        "\rpublish: building feeds [##########----------]  50%  1/2\x1b[K\n"
    )


async def test_the_import_command_reports_its_steps_on_stderr_when_piped(
    db: str, tmp_path: Path
) -> None:
    # The command speaks the library's default language: Slovenian, later Macedonian.
    library = await make_library("somerset", timezone="Europe/London", language="sl")
    await make_branch(library, "taunton", lat=51.0141, lon=-3.1029)
    await EmissionFactor.create(
        slug="diesel-test",
        fuel=Fuel.DIESEL,
        vehicle_class="Rigid 7.5-17 t",
        kg_co2e_per_km=0.6,
        source="Test diesel factor",
        year=2024,
    )
    path = tmp_path / "stops.csv"
    path.write_text(large_timetable(20, since=dt.date(2026, 1, 1)), encoding="utf-8")
    code, out, err = await outreach(db, "import-stops", str(path), "--library", "somerset")
    assert code == 0, err
    assert out.splitlines() == [
        "Prebranih postajališč: 20.",
        "Nove proge: A1, B1 in C1.",
        "Nova vozila, z emisijskim faktorjem za dizel, dokler ga ne popravite: Mobile 1.",
        # The import's own warnings, also in the library's language.
        "Opozorilo: proga C1: Butleigh School → Baltonsborough Village Hall (Plygrp): za 5,0 km"
        " je pri 40 km/h treba približno 8 min, vozni red pa pusti 5 min.",
    ]
    checked = (
        "import-stops: checking routes 1/3 (33%)\n"
        "import-stops: checking routes 2/3 (66%)\n"
        "import-stops: checking routes 3/3 (100%)\n"
    )
    assert err == (
        checked + "import-stops: saving routes 1/3 (33%)\n"
        "import-stops: saving routes 2/3 (66%)\n"
        "import-stops: saving routes 3/3 (100%)\n"
        # 20 stops, 26 runs each.
        "import-stops: writing visits 520/520 (100%)\n"
    )
    await Library.filter(id=library.id).update(default_language="mk")
    code, out, err = await outreach(db, "import-stops", str(path), "--library", "somerset")
    assert (code, out, err) == (
        0,
        "Прочитани се 20 постојки.\nНепроменети рути: A1, B1 и C1.\n"
        "Предупредување: рута C1: Butleigh School → Baltonsborough Village Hall (Plygrp): за"
        " 5,0 km при 40 km/h се потребни околу 8 мин., а возниот ред остава 5 мин.\n",
        checked,
    )
    code, out, err = await outreach(db, "extend-horizon")
    assert (code, out, err) == (
        0,
        "rebuilt the occurrences of 3 recurring event(s) up to the horizon\n",
        "extend-horizon: rebuilding events 1/3 (33%)\n"
        "extend-horizon: rebuilding events 2/3 (66%)\n"
        "extend-horizon: rebuilding events 3/3 (100%)\n",
    )


async def test_load_fixtures_and_publish_report_their_steps_when_piped(
    db: str, tmp_path: Path
) -> None:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for name in ("sdgs.toml", "emission_factors.toml"):
        (fixtures / name).write_bytes((PROJECT_ROOT / "fixtures" / name).read_bytes())
    code, out, err = await outreach(db, "load-fixtures", "--dir", str(fixtures))
    assert (code, out.startswith("fixtures loaded: "), err) == (
        0,
        True,
        "load-fixtures: loading files 1/2 (50%)\nload-fixtures: loading files 2/2 (100%)\n",
    )
    await make_library("somerset", timezone="Europe/London", language="en")
    code, out, err = await outreach(db, "publish", "--out", str(tmp_path / "calendars"))
    assert (code, out, err) == (
        0,
        f"published 2 file(s) under {tmp_path / 'calendars'}\n",
        "publish: building feeds 1/1 (100%)\npublish: writing files 1/1 (100%)\n",
    )


def test_the_import_summary_counts_in_the_language_s_numbers() -> None:
    result = ImportResult(
        created=["A1"],
        unchanged=["B1", "C1"],
        stops=1234,
        warnings=["route A1: 30 km in 5 minutes"],
    )
    with i18n.speaking("sl"):
        assert import_summary(result) == [
            "Prebranih postajališč: 1.234.",
            "Nove proge: A1.",
            "Nespremenjene proge: B1 in C1.",
            "Opozorilo: route A1: 30 km in 5 minutes.",
        ]
    with i18n.speaking("mk"):
        assert import_summary(result)[0] == "Прочитани се 1.234 постојки."
