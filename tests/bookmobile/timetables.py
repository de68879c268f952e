"""Large timetables in the open mobile-library-stops format, built the way a tester would:
the Somerset file's 126 stops (routes A–Q, one vehicle, every four weeks) copied under
new route codes until there are enough rows. Generated, never stored (``bench/`` uses
them too), and the library they are imported into."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from outreach.bookmobile.open_data import COLUMNS
from outreach.models import Branch, Library

SOMERSET_CSV = Path(__file__).parent / "data" / "mobile_library_stops_somerset.csv"
# Somerset's routes run every four weeks: moving a first date by whole multiples of this
# keeps its weekday and its place in the rule.
PERIOD = dt.timedelta(days=28)


async def create_somerset() -> Library:
    """Somerset's library (English, London time) and its Taunton branch, the depot its
    timetable's routes start from."""
    library = await Library.create(
        slug="somerset",
        name={"en": "Somerset"},
        timezone="Europe/London",
        default_language="en",
        languages=["en"],
    )
    await Branch.create(
        library=library,
        slug="taunton",
        name="Taunton Library",
        address="Paul Street",
        city="Taunton",
        lat=51.0141,
        lon=-3.1029,
    )
    return library


def somerset_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(SOMERSET_CSV.read_text(encoding="utf-8"))))


def large_timetable(
    rows: int = 4900,
    *,
    since: dt.date | None = None,
    runs: int = 26,
    until: dt.date | None = None,
    one_vehicle: bool = False,
) -> str:
    """``rows`` stops: copy ``k`` (1, 2, …) of Somerset's rows has routes ``A{k}``…``Q{k}``.

    Each copy has its own vehicle (``Mobile {k}``), so copies running on the same day do
    not clash, unless ``one_vehicle``. With ``since``, every route's first date moves to its
    first run on or after that day and its last date ``runs - 1`` runs later (so each stop
    has exactly ``runs`` visits); without it the copies keep Somerset's first dates (in
    2019), and ``until`` as their last (default none: visits up to the horizon).
    """
    source = somerset_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    written = 0
    copy = 0
    while written < rows:
        copy += 1
        for row in source:
            if written == rows:
                break
            row = dict(row, route=f"{row['route']}{copy}")
            if not one_vehicle:
                row["mobile"] = f"Mobile {copy}"
            if since is not None:
                first = dt.date.fromisoformat(row["start"])
                if first < since:
                    first += PERIOD * -(-(since - first).days // PERIOD.days)
                row["start"] = first.isoformat()
                row["end"] = (first + PERIOD * (runs - 1)).isoformat()
            elif until is not None:
                row["end"] = until.isoformat()
            writer.writerow(row)
            written += 1
    return out.getvalue()
