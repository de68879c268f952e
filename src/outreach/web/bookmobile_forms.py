"""The staff forms of bookmobile routes and their stops, to and from the API's payloads.

A route's form names its day and how often it runs (or a rule for anything else); its
stops are rows of one form that works without JavaScript: "up", "down", "remove" and "add a
stop" rewrite the rows and show them again, unsaved, and "save" sends them all. A stop that
moves takes the place's time slot with it (the arrival of the row it moves to), so that the
times stay in order. Problems the API names (``stops[2].lat``, ``valid_from``) are shown
beside their fields, in the staff member's language.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.dates import get_day_names

from outreach import i18n
from outreach.bookmobile.schemas import STOP_FIELDS
from outreach.bookmobile.timetable import Found, Problem
from outreach.i18n import gettext
from outreach.models import Stop, Visibility
from outreach.scheduling.recurrence import zone

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ROUTE_FIELDS = (
    "code",
    "name",
    "vehicle",
    "depot",
    "weekday",
    "every",
    "rrule",
    "valid_from",
    "valid_until",
    "detour_factor",
)
MAX_ROWS = 60
# ``stops[2].lat`` (declared models) or ``stops.2.lat`` (older messages).
_STOP_FIELD = re.compile(r"^stops(?:\[(\d+)\]|\.(\d+))(?:\.(\w+))?$")

Row = dict[str, str]


def weekday_choices() -> list[tuple[str, str]]:
    """(RRULE day, its name in the current language), Monday first."""
    names = get_day_names("wide", locale=i18n.locale())
    return [(code, names[i]) for i, code in enumerate(WEEKDAYS)]


def every_choices() -> list[tuple[str, str]]:
    return [
        ("1", gettext("every week")),
        ("2", gettext("every other week")),
        ("3", gettext("every third week")),
        ("4", gettext("every fourth week")),
    ]


def rule_from_form(form: Mapping[str, str]) -> str:
    """The rule typed in, else the weekly rule of the day and interval chosen."""
    typed = form.get("rrule", "").strip()
    if typed:
        return typed
    every = form.get("every", "1")
    interval = f";INTERVAL={every}" if every in ("2", "3", "4") else ""
    return f"FREQ=WEEKLY{interval};BYDAY={form.get('weekday', '')}"


def picker_from_rule(rrule: str | None) -> Row:
    """The day and interval of a plain weekly rule; any other rule stays typed out."""
    parts = dict(part.split("=", 1) for part in (rrule or "").split(";") if "=" in part)
    plain = (
        parts.get("FREQ") == "WEEKLY"
        and parts.get("BYDAY") in WEEKDAYS
        and parts.get("INTERVAL", "1") in ("1", "2", "3", "4")
        and set(parts) <= {"FREQ", "BYDAY", "INTERVAL", "WKST"}
    )
    if plain:
        return {"weekday": parts["BYDAY"], "every": parts.get("INTERVAL", "1"), "rrule": ""}
    return {"weekday": "", "every": "1", "rrule": rrule or ""}


def blank_row() -> Row:
    return dict.fromkeys(STOP_FIELDS, "") | {"visibility": Visibility.PUBLIC.value}


def rows_from_stops(stops: Sequence[Stop]) -> list[Row]:
    return [
        {
            "id": str(stop.id),
            "name": stop.name,
            "community": stop.community,
            "address": stop.address,
            "postcode": stop.postcode,
            "lat": f"{stop.lat:g}",
            "lon": f"{stop.lon:g}",
            "arrival": f"{stop.arrival:%H:%M}",
            "minutes_parked": str(stop.minutes_parked),
            "visibility": stop.visibility.value,
        }
        for stop in stops
    ]


def rows_from_form(form: Mapping[str, Any]) -> list[Row]:
    """The stop rows as sent: ``stop-<i>-<field>`` for ``i`` below ``rows``."""
    raw = str(form.get("rows", "0"))
    count = min(int(raw), MAX_ROWS) if raw.isdigit() else 0
    return [
        {name: str(form.get(f"stop-{i}-{name}", "")).strip()[:1000] for name in STOP_FIELDS}
        for i in range(count)
    ]


def action_of(form: Mapping[str, Any]) -> str:
    """The button pressed: ``up-<i>``, ``down-<i>``, ``remove-<i>``, ``add``, else ``save``
    (also for Enter in a field). Each button's name says what it does and its value which
    row, so that no word sits in a value."""
    for verb in ("up", "down", "remove"):
        row = str(form.get(verb, ""))
        if row.isdigit():
            return f"{verb}-{row}"
    return "add" if "add" in form else "save"


def is_blank(row: Row) -> bool:
    return not any(row[name] for name in STOP_FIELDS if name not in ("visibility", "id"))


@dataclass
class Edited:
    """Rows after an action, and what to tell the person about it."""

    rows: list[Row]
    note: str = ""


def apply_action(rows: list[Row], action: str) -> Edited:
    """``up-<i>``, ``down-<i>``, ``remove-<i>`` or ``add`` on the rows (nothing is saved)."""
    rows = [dict(row) for row in rows]
    unsaved = gettext("Not saved yet: save the stops to keep this order.")
    if action == "add":
        if len(rows) < MAX_ROWS:
            rows.append(blank_row())
        return Edited(rows, gettext("A row for a new stop is added at the end."))
    verb, _, raw = action.partition("-")
    if not raw.isdigit() or int(raw) >= len(rows):
        return Edited(rows)
    i = int(raw)
    if verb == "remove":
        name = rows[i]["name"] or gettext("the empty row")
        del rows[i]
        return Edited(
            rows, gettext("%(stop)s is removed from the list.", stop=name) + " " + unsaved
        )
    j = i - 1 if verb == "up" else i + 1 if verb == "down" else -1
    if not 0 <= j < len(rows):
        return Edited(rows)
    # The stops change places; each time slot stays where it is.
    rows[i]["arrival"], rows[j]["arrival"] = rows[j]["arrival"], rows[i]["arrival"]
    rows[i], rows[j] = rows[j], rows[i]
    return Edited(rows, unsaved)


def _number(raw: str, kind: type[int] | type[float]) -> Any:
    """The number typed (a comma as the decimal mark too), else the text for the API to name."""
    text = raw.replace(",", ".") if kind is float else raw
    try:
        return kind(text)
    except ValueError:
        return raw


@dataclass
class StopsPayload:
    """The API's stops from the rows, and which row each one came from."""

    stops: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def stops_payload(rows: Sequence[Row]) -> StopsPayload:
    payload = StopsPayload()
    for index, row in enumerate(rows):
        if is_blank(row):
            continue
        stop: dict[str, Any] = {name: row[name] for name in STOP_FIELDS if name != "id"}
        stop["lat"] = _number(row["lat"], float)
        stop["lon"] = _number(row["lon"], float)
        stop["minutes_parked"] = _number(row["minutes_parked"], int)
        if row["id"].isdigit():
            stop["id"] = int(row["id"])
        payload.stops.append(stop)
        payload.rows.append(index)
    return payload


def route_payload(form: Mapping[str, str], stops: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": form["code"],
        "name": form["name"],
        "vehicle": int(form["vehicle"]) if form["vehicle"].isdigit() else form["vehicle"],
        "depot": int(form["depot"]) if form["depot"].isdigit() else form["depot"],
        "rrule": rule_from_form(form),
        "valid_from": form["valid_from"],
        "valid_until": form["valid_until"] or None,
        "detour_factor": _number(form["detour_factor"], float),
        "stops": stops,
    }
    return body


def _stop_hint(name: str, problem: str | Found) -> str:
    code = problem.code if isinstance(problem, Found) else None
    if code is Problem.OVERLAP:
        assert isinstance(problem, Found)
        return gettext(
            "Arrives at %(arrival)s, before the visit to %(stop)s ends at %(end)s.",
            **problem.values,
        )
    if code is Problem.PAST_MIDNIGHT:
        return gettext("The visit must end by midnight.")
    hints = {
        "name": gettext("Give the stop a name (at most 200 characters)."),
        "community": gettext("At most 200 characters."),
        "address": gettext("At most 300 characters."),
        "postcode": gettext("At most 16 characters."),
        "lat": gettext("Give a latitude between -90 and 90, such as 46.5575."),
        "lon": gettext("Give a longitude between -180 and 180, such as 15.6467."),
        "arrival": gettext("Give a time of day such as 09:45."),
        "minutes_parked": gettext("Give the minutes parked, a whole number from 1 to 720."),
        "visibility": gettext("Choose public or private."),
    }
    return hints.get(name, str(problem))


def route_hints() -> dict[str, str]:
    return {
        "code": gettext("Give a code of 1 to 32 letters, digits, '.', '_' or '-'."),
        "name": gettext("Give the route a name (at most 200 characters)."),
        "vehicle": gettext("Choose a vehicle of this library."),
        "depot": gettext("Choose the branch the route starts from."),
        "rrule": gettext(
            "Choose the day and how often, or type a rule such as FREQ=WEEKLY;INTERVAL=2;BYDAY=TU."
        ),
        "valid_until": gettext("Give a date on or after the first run, or leave it empty."),
        "detour_factor": gettext("Give a number from 1 to 5, such as 1.3."),
    }


@dataclass
class Problems:
    """Problems placed beside their fields: the route's, each row's, and the rest."""

    route: dict[str, str] = field(default_factory=dict)
    rows: dict[int, dict[str, str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.route or self.rows or self.general)


def place_problems(errors: Mapping[str, str | Found], payload: StopsPayload) -> Problems:
    """The API's field-named problems as the form shows them, in the current language:
    a problem is recognised by its field and its code (:class:`Problem`), never its words."""
    placed = Problems()
    hints = route_hints()
    for name, problem in errors.items():
        code = problem.code if isinstance(problem, Found) else None
        found = _STOP_FIELD.match(name)
        if found is not None:
            index = int(found.group(1) or found.group(2))
            column = found.group(3)
            # A row shows no id: a problem with one is said above the rows.
            if column not in (None, "id") and index < len(payload.rows):
                row = payload.rows[index]
                placed.rows.setdefault(row, {})[column] = _stop_hint(column, problem)
                continue
        if code is Problem.STOP_TWICE:
            placed.general.append(gettext("A stop is in the list twice."))
        elif code is Problem.FOREIGN_STOP or (found is not None and found.group(3) == "id"):
            placed.general.append(gettext("A stop is no longer on the route: reload the page."))
        elif name == "stops":
            placed.general.append(
                gettext("A route has at most %(count)s stops.", count=MAX_ROWS)
                if len(payload.stops) > MAX_ROWS
                else gettext("Give the route at least one stop.")
            )
        elif name == "valid_from":
            placed.route[name] = (
                gettext("The first run must fall on a day of the rule.")
                if code is Problem.OFF_RULE
                else gettext("Give a date such as 2027-01-12.")
            )
        elif code is Problem.CODE_TAKEN:
            placed.route["code"] = gettext("Another route of this library has this code.")
        elif name in hints:
            placed.route[name] = hints[name]
        else:
            placed.general.append(str(problem))
    return placed


def vehicle_busy(conflicts: Sequence[Mapping[str, Any]], timezone: str) -> str:
    """A double booking of the vehicle in words, with local times."""
    if not conflicts:
        return gettext("The vehicle is on another route at that time.")
    first = conflicts[0]
    tz = zone(timezone)
    start = dt.datetime.fromisoformat(str(first["start"]).replace("Z", "+00:00")).astimezone(tz)
    end = dt.datetime.fromisoformat(str(first["end"]).replace("Z", "+00:00")).astimezone(tz)
    return gettext(
        "The vehicle is on route %(route)s on %(day)s, %(hours)s: choose another vehicle,"
        " day or time.",
        route=first.get("route") or "?",
        day=i18n.format_date(start.date(), "full"),
        hours=i18n.format_interval(start, end, "Hm"),
    )


# Two stops of one route, as the import page shows them.
EXAMPLE_ROWS = (
    {
        "organisation": "Mariborska knjižnica",
        "mobile": "Bibliobus 2",
        "route": "V",
        "community": "Kamnica",
        "stop": "Kamnica, šola",
        "address": "Vrbanska cesta 93",
        "postcode": "2351",
        "geox": "15.6132",
        "geoy": "46.5717",
        "day": "Wednesday",
        "type": "Public",
        "arrival": "09:00",
        "departure": "09:30",
        "frequency": "FREQ=WEEKLY;INTERVAL=2",
        "start": "2027-01-13",
        "end": "2027-06-30",
        "exceptions": "2027-02-10;2027-04-07",
        "timetable": "https://www.mb.sik.si/",
    },
    {
        "organisation": "Mariborska knjižnica",
        "mobile": "Bibliobus 2",
        "route": "V",
        "community": "Bresternica",
        "stop": "Bresternica",
        "address": "",
        "postcode": "2354",
        "geox": "15.5597",
        "geoy": "46.5653",
        "day": "Wednesday",
        "type": "Public",
        "arrival": "10:00",
        "departure": "10:45",
        "frequency": "FREQ=WEEKLY;INTERVAL=2",
        "start": "2027-01-13",
        "end": "2027-06-30",
        "exceptions": "",
        "timetable": "",
    },
)


def import_columns() -> list[tuple[str, str, str]]:
    """Each column of a timetable file: its name, what it holds, and the example's value."""
    meanings = {
        "organisation": gettext("The library (any text; not read)."),
        "mobile": gettext(
            "The vehicle's name. An unknown name creates a vehicle with a diesel emission"
            " factor, which you can correct afterwards."
        ),
        "route": gettext(
            "The route's code: 1 to 32 letters, digits, '.', '_' or '-'. A route of this"
            " library with the same code is updated."
        ),
        "community": gettext("The village or district (optional)."),
        "stop": gettext("The stop's name (required)."),
        "address": gettext("Its address (optional)."),
        "postcode": gettext("Its postcode (optional)."),
        "geox": gettext("Longitude, in degrees (a point as the decimal mark)."),
        "geoy": gettext("Latitude, in degrees."),
        "day": gettext("The weekday in English, such as Wednesday."),
        "type": gettext("Public (shown to everyone) or Private (staff only)."),
        "arrival": gettext("Arrival time, local time (HH:MM)."),
        "departure": gettext("Departure time, after the arrival."),
        "frequency": gettext("How often the route runs, as an iCalendar rule."),
        "start": gettext("The first run: a date on the day of the route."),
        "end": gettext("The last day (optional)."),
        "exceptions": gettext(
            "Dates without a visit, separated by commas or semicolons (optional)."
        ),
        "timetable": gettext("A link to the published timetable (optional; not read)."),
    }
    return [(name, meanings[name], EXAMPLE_ROWS[0][name]) for name in meanings]


def import_example(columns: Sequence[str]) -> str:
    """The example rows as a file, with its header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(EXAMPLE_ROWS)
    return out.getvalue()
