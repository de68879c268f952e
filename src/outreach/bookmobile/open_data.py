"""Timetables in the open "mobile library stops" format (Libraries Hacked), in and out.

One row per stop: ``organisation, mobile, route, community, stop, address, postcode,
geox (longitude), geoy (latitude), day, type, arrival, departure, frequency (RRULE),
start, end, exceptions, timetable``. Rows of one route share its day, rule, first and
last date (a route has one rule here); each row's exceptions are dates without a visit
at that stop, saved as cancelled visits. ``Private`` stops (home visits) are kept
internal. A file is saved whole or not at all, and every problem is reported by line
and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from outreach import i18n
from outreach.bookmobile.timetable import (
    Found,
    RouteInput,
    StopInput,
    TimetableError,
    check_rule,
    check_stop_order,
    check_vehicle_free,
    create_routes,
    driving_warnings,
    first_run_matches,
    minutes_to_time,
    parse_date,
    parse_time,
    planned_visits,
    time_to_minutes,
    update_route,
)
from outreach.i18n import gettext as _
from outreach.languages import translated
from outreach.models import (
    Branch,
    EmissionFactor,
    Event,
    Fuel,
    Library,
    OccurrenceOverride,
    Route,
    StaffUser,
    Stop,
    Vehicle,
    Visibility,
)
from outreach.progress import Progress, silent
from outreach.scheduling.occurrences import default_horizon_end
from outreach.scheduling.recurrence import parse_local, to_local, zone
from outreach.spreadsheet import cell, plain

COLUMNS = (
    "organisation",
    "mobile",
    "route",
    "community",
    "stop",
    "address",
    "postcode",
    "geox",
    "geoy",
    "day",
    "type",
    "arrival",
    "departure",
    "frequency",
    "start",
    "end",
    "exceptions",
    "timetable",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TYPES = {"Public": Visibility.PUBLIC, "Private": Visibility.INTERNAL}
MAX_ROWS = 5000
# The stop visits one import may materialise (occurrence rows, history included). Writing
# a visit costs most of an import: about 25 µs on PostgreSQL (six indexes and six foreign
# keys checked per row) and 8 µs on SQLite, so this keeps an import to a few seconds. A
# 4,900-stop timetable running every four weeks since 2019 would write 650,000.
MAX_VISITS = 200_000
MAX_BYTES = 2_000_000
# The columns a route's rows must agree on, since a route has one rule.
ROUTE_COLUMNS = ("day", "frequency", "start", "end")


@dataclass
class ParsedRoute:
    """The rows of one route, validated."""

    code: str
    mobile: str
    first_line: int
    rrule: str
    valid_from: dt.date
    valid_until: dt.date | None
    stops: list[StopInput] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    exceptions: list[list[dt.date]] = field(default_factory=list)


# Where a :class:`TimetableError` finds a problem: ``line 3`` or ``line 3.geoy``.
_IMPORT_PLACE = re.compile(r"^line ([0-9]+)(?:\.([a-z_]+))?$")


@dataclass
class ImportResult:
    """What an import did: routes created, updated or unchanged, and warnings."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    vehicles_created: list[str] = field(default_factory=list)
    stops: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "vehicles_created": self.vehicles_created,
            "stops": self.stops,
            "warnings": self.warnings,
        }


def import_problem(where: str, problem: str) -> str:
    """A problem of an imported file as the staff page and the command list it: its line
    and column (the file's own column names) or the whole file, in the current language."""
    found = _IMPORT_PLACE.match(where)
    if where == "approval":
        return problem  # a sentence of its own: ask a director
    if found is None:
        places = {
            # Translators: the whole timetable file, where a problem is ("file: has no stops").
            "file": _("file"),
            # Translators: the branch a route starts from, as the place of a problem.
            "depot": _("depot"),
            "vehicle": _("vehicle"),
            "code": _("route code"),
        }
        # Other places are the file's own column names (mobile), kept as the file has them.
        place = places.get(where, where)
        return _("%(place)s: %(problem)s", place=place, problem=problem)
    if found.group(2) is None:
        return _("line %(line)s: %(problem)s", line=found.group(1), problem=problem)
    return _(
        "line %(line)s.%(column)s: %(problem)s",
        line=found.group(1),
        column=found.group(2),
        problem=problem,
    )


def import_summary(result: ImportResult) -> list[str]:
    """What an import did, a sentence each, in the current language (the routes by code, the
    vehicles by name, as the file gives them): the staff page's and the command's words."""
    said = [
        i18n.ngettext(
            "%(num)s stop read.",
            "%(num)s stops read.",
            result.stops,
            num=i18n.format_number(result.stops),
        )
    ]
    if result.created:
        said.append(_("Routes created: %(routes)s.", routes=i18n.format_list(result.created)))
    if result.updated:
        said.append(_("Routes updated: %(routes)s.", routes=i18n.format_list(result.updated)))
    if result.unchanged:
        said.append(_("Routes unchanged: %(routes)s.", routes=i18n.format_list(result.unchanged)))
    if result.vehicles_created:
        said.append(
            _(
                "New vehicles, with a diesel emission factor until you correct it: %(names)s.",
                names=i18n.format_list(result.vehicles_created),
            )
        )
    # A warning that ends in an abbreviation ("8 мин.") ends the sentence with its own stop.
    said += [_("Warning: %(warning)s.", warning=w.removesuffix(".")) for w in result.warnings]
    return said


def _cell(row: dict[str, str | None], name: str) -> str:
    return plain((row.get(name) or "").strip())


def _coordinate(raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(_("must be a number")) from None
    if not low <= value <= high:  # also refuses nan
        raise ValueError(
            _("must be between %(low)s and %(high)s", low=format(low, "g"), high=format(high, "g"))
        )
    return value


def _dates(raw: str) -> list[dt.date]:
    if not raw:
        return []
    return sorted({parse_date(item) for item in re.split(r"[,;]\s*", raw) if item.strip()})


def parse_csv(text: str, library: Library) -> list[ParsedRoute]:
    """Validate a whole file; :class:`TimetableError` keyed ``line N.column`` if any row fails."""
    if len(text) > MAX_BYTES:
        raise TimetableError({"file": _("must be at most %(count)s bytes", count=MAX_BYTES)})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise TimetableError(
            {"line 1": _("missing column(s): %(columns)s", columns=", ".join(missing))}
        )
    reader.fieldnames = header
    errors: dict[str, str | Found] = {}
    routes: dict[str, ParsedRoute] = {}
    first_row: dict[str, dict[str, str]] = {}
    rules = _Rules(library)
    count = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors[f"line {reader.line_num}"] = _("not valid CSV (%(error)s)", error=exc)
            break
        count += 1
        if count > MAX_ROWS:
            errors["file"] = _("must have at most %(count)s rows", count=MAX_ROWS)
            break
        line = reader.line_num
        _parse_row(row, line, routes, first_row, errors, rules)
    if not errors and not routes:
        errors["file"] = _("has no stops")
    for parsed in routes.values():
        for index, name, problem in check_stop_order(parsed.stops):
            column = "departure" if name == "minutes_parked" else "arrival"
            errors.setdefault(f"line {parsed.lines[index]}.{column}", problem)
    if errors:
        raise TimetableError(errors)
    return list(routes.values())


class _Rules:
    """The rule checks of one file, each done once: a route's rows share its rule and
    first date, so thousands of rows need only a few parses."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._checked: dict[str, str | ValueError] = {}
        self._first: dict[tuple[str, dt.date], bool] = {}

    def check(self, raw: str) -> str:
        found = self._checked.get(raw)
        if found is None:
            try:
                found = check_rule(self.library, raw)
            except ValueError as exc:
                found = exc
            self._checked[raw] = found
        if isinstance(found, ValueError):
            raise found
        return found

    def first_run_matches(self, rule: str, day: dt.date) -> bool:
        key = (rule, day)
        if key not in self._first:
            self._first[key] = first_run_matches(rule, day)
        return self._first[key]


def _parse_row(
    row: dict[str, str | None],
    line: int,
    routes: dict[str, ParsedRoute],
    first_row: dict[str, dict[str, str]],
    errors: dict[str, str | Found],
    rules: _Rules,
) -> None:
    values: dict[str, Any] = {}

    def check(column: str, parse: Any) -> None:
        try:
            values[column] = parse(_cell(row, column))
        except ValueError as exc:
            errors[f"line {line}.{column}"] = str(exc)

    def required(limit: int) -> Any:
        def parse(raw: str) -> str:
            if not raw:
                raise ValueError(_("is required"))
            if len(raw) > limit:
                raise ValueError(_("must be at most %(limit)s characters", limit=limit))
            return raw

        return parse

    def optional(limit: int) -> Any:
        def parse(raw: str) -> str:
            if len(raw) > limit:
                raise ValueError(_("must be at most %(limit)s characters", limit=limit))
            return raw

        return parse

    def route_code(raw: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", raw):
            raise ValueError(_("must be 1 to 32 letters, digits, '.', '_' or '-'"))
        return raw

    def day(raw: str) -> str:
        if raw.capitalize() not in DAYS:
            raise ValueError(_("must be a weekday name such as Tuesday"))
        return raw.capitalize()

    def kind(raw: str) -> Visibility:
        if raw not in TYPES:
            raise ValueError(_("must be Public or Private (Dynamic and Other are not supported)"))
        return TYPES[raw]

    check("mobile", required(200))
    check("route", route_code)
    check("community", optional(200))
    check("stop", required(200))
    check("address", optional(300))
    check("postcode", optional(16))
    check("geox", lambda raw: _coordinate(raw, -180, 180))
    check("geoy", lambda raw: _coordinate(raw, -90, 90))
    check("day", day)
    check("type", kind)
    check("arrival", parse_time)
    check("departure", parse_time)
    check("frequency", rules.check)
    check("start", parse_date)
    check("end", lambda raw: parse_date(raw) if raw else None)
    check("exceptions", _dates)
    if "arrival" in values and "departure" in values:
        parked = time_to_minutes(values["departure"]) - time_to_minutes(values["arrival"])
        if parked <= 0:
            errors[f"line {line}.departure"] = _("must be after the arrival")
        values["parked"] = parked
    if "start" in values and "day" in values:
        actual = DAYS[values["start"].weekday()]
        if actual != values["day"]:
            errors[f"line {line}.start"] = _(
                "is a %(actual)s, not a %(day)s", actual=actual, day=values["day"]
            )
        elif "frequency" in values and not rules.first_run_matches(
            values["frequency"], values["start"]
        ):
            errors[f"line {line}.start"] = _(
                "is not a day of the rule %(rule)s", rule=values["frequency"]
            )
    if values.get("end") is not None and "start" in values and values["end"] < values["start"]:
        errors[f"line {line}.end"] = _("must not be before the start")
    if any(key.startswith(f"line {line}.") for key in errors):
        return
    code = values["route"]
    raw_row = {name: _cell(row, name) for name in (*ROUTE_COLUMNS, "mobile")}
    parsed = routes.get(code)
    if parsed is None:
        parsed = ParsedRoute(
            code=code,
            mobile=values["mobile"],
            first_line=line,
            rrule=values["frequency"],
            valid_from=values["start"],
            valid_until=values["end"],
        )
        routes[code] = parsed
        first_row[code] = raw_row
    else:
        for column in (*ROUTE_COLUMNS, "mobile"):
            if raw_row[column] != first_row[code][column]:
                errors[f"line {line}.{column}"] = _(
                    "differs from line %(line)s, the first stop of route %(route)s"
                    " (a route has one vehicle and one rule)",
                    line=parsed.first_line,
                    route=code,
                )
        if any(key.startswith(f"line {line}.") for key in errors):
            return
    parsed.stops.append(
        StopInput(
            name=values["stop"],
            community=values["community"],
            address=values["address"],
            postcode=values["postcode"],
            lat=values["geoy"],
            lon=values["geox"],
            arrival=values["arrival"],
            minutes_parked=values["parked"],
            visibility=values["type"],
        )
    )
    parsed.lines.append(line)
    parsed.exceptions.append(values["exceptions"])


async def _vehicle_for(
    library: Library, mobile: str, result: ImportResult, using_db: BaseDBAsyncClient
) -> Vehicle:
    slug = re.sub(r"[^a-z0-9]+", "-", mobile.lower()).strip("-")[:64] or "mobile"
    vehicle = await Vehicle.filter(library_id=library.id, name=mobile).using_db(using_db).first()
    vehicle = vehicle or await Vehicle.get_or_none(
        library_id=library.id, slug=slug, using_db=using_db
    )
    if vehicle is not None:
        return vehicle
    # A timetable names its vehicle but not its fuel: a diesel truck is what most
    # bookmobiles are, and staff can correct it afterwards.
    factor = (
        await EmissionFactor.filter(fuel=Fuel.DIESEL)
        .using_db(using_db)
        .order_by("-year", "id")
        .first()
    )
    if factor is None:
        raise TimetableError(
            {
                "mobile": _(
                    "no vehicle “%(name)s” in this library, and no diesel emission factor on"
                    " file to create it with",
                    name=mobile,
                )
            }
        )
    vehicle = await Vehicle.create(
        library=library,
        slug=slug,
        name=mobile,
        fuel=factor.fuel,
        kg_co2e_per_km=factor.kg_co2e_per_km,
        emission_factor_source=factor.source,
        using_db=using_db,
    )
    result.vehicles_created.append(mobile)
    return vehicle


async def import_timetable(
    library: Library,
    text: str,
    *,
    using_db: BaseDBAsyncClient,
    depot: Branch | None = None,
    user: StaffUser | None = None,
    base_url: str = "",
    progress: Progress = silent,
    approver: bool = True,
) -> ImportResult:
    """Create or update every route of the file; call inside a transaction.

    ``approver``: whether ``user`` approves in the library; if not, where the library asks
    for approval, new routes wait for a director's approval and a change to a published
    route is refused where every change waits (``timetable.create_routes``,
    ``timetable.check_change_allowed``).

    A route whose rows are what an export would write already is left untouched, so that
    re-importing an export changes nothing (not even a feed's SEQUENCE). A file that
    would materialise more than :data:`MAX_VISITS` visits is refused before anything is
    written. New routes are saved together (:func:`create_routes`), in a few statements
    however many stops they have.
    """
    parsed_routes = parse_csv(text, library)
    if depot is None:
        depot = await Branch.filter(library_id=library.id).using_db(using_db).order_by("id").first()
        if depot is None:
            raise TimetableError({"depot": _("the library has no branch to start routes from")})
    result = ImportResult()
    vehicles: dict[str, Vehicle] = {}
    existing = {
        route.code: route
        for route in await Route.filter(
            library_id=library.id, code__in=[parsed.code for parsed in parsed_routes]
        ).using_db(using_db)
    }
    changes: list[tuple[Route | None, RouteInput]] = []
    for done, parsed in enumerate(parsed_routes, start=1):
        vehicle = vehicles.get(parsed.mobile)
        if vehicle is None:
            vehicle = vehicles[parsed.mobile] = await _vehicle_for(
                library, parsed.mobile, result, using_db
            )
        current_route = existing.get(parsed.code)
        data = RouteInput(
            code=parsed.code,
            name=current_route.name if current_route else f"{parsed.mobile} {parsed.code}",
            vehicle=vehicle,
            depot=depot,
            rrule=parsed.rrule,
            valid_from=parsed.valid_from,
            valid_until=parsed.valid_until,
            detour_factor=current_route.detour_factor if current_route else 1.3,
            stops=parsed.stops,
            stop_exceptions={i: days for i, days in enumerate(parsed.exceptions) if days},
        )
        result.stops += len(parsed.stops)
        result.warnings += [
            _("route %(code)s: %(warning)s", code=parsed.code, warning=w)
            for w in driving_warnings(
                parsed.stops, speed_kmh=vehicle.average_speed_kmh, detour_factor=data.detour_factor
            )
        ]
        progress("checking routes", done, len(parsed_routes))
        if current_route is not None:
            incoming = _rows_of(library, data, base_url)
            current = await export_rows(current_route, include_private=True, using_db=using_db)
            if _comparable(incoming) == _comparable(current):
                result.unchanged.append(parsed.code)
                continue
        changes.append((current_route, data))
    horizon = default_horizon_end()
    _check_visits(library, [data for _, data in changes], horizon)
    fresh = [data for current_route, data in changes if current_route is None]
    if fresh:
        await create_routes(
            library,
            fresh,
            using_db=using_db,
            user=user,
            horizon_end=horizon,
            progress=progress,
            approver=approver,
            base_url=base_url,
        )
    updates = len(changes) - len(fresh)
    for current_route, data in changes:
        if current_route is None:
            result.created.append(data.code)
        else:
            await update_route(
                current_route,
                data,
                using_db=using_db,
                user=user,
                check_vehicle=False,
                approver=approver,
            )
            result.updated.append(data.code)
            progress("updating routes", len(result.updated), updates)
    for vehicle_id in sorted({vehicle.id for vehicle in vehicles.values()}):
        await check_vehicle_free(vehicle_id, using_db=using_db)
    return result


def _check_visits(library: Library, changes: Sequence[RouteInput], horizon: dt.datetime) -> None:
    """Refuse, before anything is written, a file whose routes would materialise more
    visits than one import may write (the whole file stays unsaved)."""
    total = 0
    for data in changes:
        total += planned_visits(
            library,
            data.rrule,
            data.valid_from,
            data.valid_until,
            data.stops,
            horizon_end=horizon,
        )
    if total > MAX_VISITS:
        raise TimetableError(
            {
                "file": _(
                    "would create %(total)s stop visits (every run of its routes, from their"
                    " first dates on), more than the %(most)s one import may write; import"
                    " the routes in several files, or give later start or earlier end dates",
                    total=i18n.format_number(total),
                    most=i18n.format_number(MAX_VISITS),
                )
            }
        )


def _comparable(rows: Iterable[dict[str, str]]) -> list[tuple[str, ...]]:
    return [
        tuple(row[c] for c in COLUMNS if c not in ("timetable", "organisation")) for row in rows
    ]


def _number(value: float) -> str:
    return repr(float(value))


def _row(
    library: Library,
    *,
    mobile: str,
    code: str,
    stop: StopInput | Stop,
    rrule: str,
    valid_from: dt.date,
    valid_until: dt.date | None,
    exceptions: Sequence[dt.date],
    base_url: str,
) -> dict[str, str]:
    departure = minutes_to_time(time_to_minutes(stop.arrival) + stop.minutes_parked)
    return {
        "organisation": translated(library.name, library.default_language),
        "mobile": mobile,
        "route": code,
        "community": stop.community,
        "stop": stop.name,
        "address": stop.address,
        "postcode": stop.postcode,
        "geox": _number(stop.lon),
        "geoy": _number(stop.lat),
        "day": DAYS[valid_from.weekday()],
        "type": "Private" if stop.visibility == Visibility.INTERNAL else "Public",
        "arrival": f"{stop.arrival:%H:%M}",
        "departure": f"{departure:%H:%M}",
        "frequency": rrule,
        "start": valid_from.isoformat(),
        "end": valid_until.isoformat() if valid_until else "",
        "exceptions": ",".join(day.isoformat() for day in sorted(set(exceptions))),
        "timetable": f"{base_url}/{library.slug}/bookmobile" if base_url else "",
    }


def _rows_of(library: Library, data: RouteInput, base_url: str) -> list[dict[str, str]]:
    return [
        _row(
            library,
            mobile=data.vehicle.name,
            code=data.code,
            stop=stop,
            rrule=data.rrule,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            exceptions=data.stop_exceptions.get(i, []),
            base_url=base_url,
        )
        for i, stop in enumerate(data.stops)
    ]


async def export_rows(
    route: Route,
    *,
    include_private: bool,
    base_url: str = "",
    using_db: BaseDBAsyncClient | None = None,
) -> list[dict[str, str]]:
    """The route's stops as rows of the open format (private stops only when asked)."""
    library = await Library.get(id=route.library_id, using_db=using_db)  # type: ignore[attr-defined]
    vehicle = await Vehicle.get(id=route.vehicle_id, using_db=using_db)  # type: ignore[attr-defined]
    event = await Event.get(id=route.event_id, using_db=using_db)  # type: ignore[attr-defined]
    tz = zone(library.timezone)
    stops = await Stop.filter(route_id=route.id).using_db(using_db).order_by("position")
    # Whole runs skipped by the event's exdates are exceptions at every stop.
    skipped = [parse_local(raw).date() for raw in event.exdates or []]
    cancelled: dict[tuple[int, int], list[dt.date]] = {}
    for override in await OccurrenceOverride.filter(event_id=event.id, cancelled=True).using_db(
        using_db
    ):
        local = to_local(override.original_start, tz)
        cancelled.setdefault((local.hour, local.minute), []).append(local.date())
    rows = []
    for stop in stops:
        if stop.visibility == Visibility.INTERNAL and not include_private:
            continue
        arrival = stop.arrival.replace(tzinfo=None)
        rows.append(
            _row(
                library,
                mobile=vehicle.name,
                code=route.code,
                stop=stop,
                rrule=event.rrule or "",
                valid_from=route.valid_from,
                valid_until=route.valid_until,
                exceptions=[*skipped, *cancelled.get((arrival.hour, arrival.minute), [])],
                base_url=base_url,
            )
        )
    return rows


def to_csv(rows: Iterable[dict[str, str]]) -> str:
    """Rows as CSV text with the format's header, CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({name: cell(text) for name, text in row.items()} for row in rows)
    return out.getvalue()
