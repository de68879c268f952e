"""RFC 5545 recurrence rules expanded on local wall-clock time in an event's own zone.

The rule is expanded on naive local datetimes (so 10:00 stays 10:00 across daylight-saving
changes) and every local start is then converted to UTC with ``zoneinfo``, ``fold=0``:

- a local time that does not exist (the spring-forward gap) is read with the offset in
  force before the gap, which moves it forward by the length of the gap (02:30 becomes
  03:30 on 29 March 2026 in Europe/Ljubljana), as RFC 5545 prescribes;
- a local time that happens twice (the autumn overlap) means its first occurrence.

Only the parts of RRULE that a library programme needs are accepted, and combinations
that could never produce an instance are refused, because dateutil would search for one
until the year 9999 before giving up.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from outreach.i18n import gettext as _

UTC = dt.UTC
MAX_COUNT = 1000
# Daily for three years: a rule may produce no more instances than this before the horizon.
MAX_OCCURRENCES = 3 * 366
# A safety net for expansion only: however the horizon moves, one event never expands
# beyond this many instances.
EXPANSION_LIMIT = 10 * 366
MAX_INTERVAL = 366
MAX_RULE_LENGTH = 500
# Dates outside these years are mistakes, and near year 1 or 9999 converting between
# zones overflows.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
SUB_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{8})(T(\d{6})(Z?))?$")
# The longest each month can be (February in a leap year).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class RuleError(ValueError):
    """A recurrence rule, zone or date that cannot be used; the message says why."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` under its canonical name, or :class:`RuleError`.

    Canonical: a zone of a country in the time zone database's ``zone1970.tab`` or
    ``zone.tab``, or UTC. Legacy names that tzdata keeps only for compatibility are
    refused (``US/Eastern``, ``Europe/Kiev``, ``EST5EDT``, ``GMT+0``, ``posixrules``,
    ``Factory``): a calendar or another system may not know them, and some mean
    something else than they seem (``Etc/GMT+1`` is an hour *behind* UTC).
    """
    if not isinstance(name, str) or not name or len(name) > 64 or name != name.strip():
        raise RuleError(_("must be an IANA time zone name such as Europe/Ljubljana"))
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleError(_("unknown time zone %(name)s", name=repr(name))) from exc
    if name not in canonical_zones():
        same = _canonical_by_data().get(_zone_data(name) or b"")
        instead = _("use %(zone)s", zone=same) if same else _("use a name such as Europe/Ljubljana")
        raise RuleError(
            _(
                "%(name)s is not a canonical IANA time zone name; %(instead)s",
                name=repr(name),
                instead=instead,
            )
        )
    return tz


# Canonical although not in the tables, which list the zones of countries.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})
# If no table can be found, the names under these areas are taken as canonical.
_AREAS = (
    "Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/",
    "Europe/", "Indian/", "Pacific/",
)  # fmt: skip


def _tzdata_file(*parts: str) -> bytes | None:
    """A file of the time zone database: the system's (where zoneinfo looks first), then
    the ``tzdata`` package's."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory, *parts)
        if path.is_file():
            return path.read_bytes()
    try:
        resource = importlib.resources.files("tzdata").joinpath("zoneinfo", *parts)
        return resource.read_bytes() if resource.is_file() else None
    except ModuleNotFoundError:
        return None


def _tables() -> list[bytes]:
    """Every zone1970.tab and zone.tab there is (the system's and tzdata's may differ in
    version: a zone renamed in one is canonical under both names)."""
    found = []
    for directory in zoneinfo.TZPATH:
        for table in ("zone1970.tab", "zone.tab"):
            path = Path(directory, table)
            if path.is_file():
                found.append(path.read_bytes())
    try:
        package = importlib.resources.files("tzdata").joinpath("zoneinfo")
        for table in ("zone1970.tab", "zone.tab"):
            if package.joinpath(table).is_file():
                found.append(package.joinpath(table).read_bytes())
    except ModuleNotFoundError:
        pass
    return found


@functools.cache
def canonical_zones() -> frozenset[str]:
    """The canonical IANA zone names (see :func:`zone`)."""
    names = set(_UTC_NAMES)
    tables = _tables()
    for table in tables:
        for line in table.decode("utf-8").splitlines():
            columns = line.split("\t")
            if not line.startswith("#") and len(columns) >= 3:
                names.add(columns[2])
    if not tables:
        names |= {n for n in zoneinfo.available_timezones() if n.startswith(_AREAS)}
    return frozenset(names)


def _zone_data(name: str) -> bytes | None:
    return _tzdata_file(*name.split("/"))


@functools.cache
def _canonical_by_data() -> dict[bytes, str]:
    """Canonical names by their compiled data: a legacy link has its target's."""
    found: dict[bytes, str] = {}
    for name in sorted(canonical_zones()):
        data = _zone_data(name)
        if data is not None:
            found.setdefault(data, name)
    return found


def to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Convert a naive local wall-clock time to UTC (``fold=0``: see the module docstring)."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_local(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The naive local wall-clock time of an aware instant."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _int(raw: str, name: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?\d{1,4}", raw):
        raise RuleError(_("%(name)s must be a whole number, not %(raw)s", name=name, raw=repr(raw)))
    value = int(raw)
    if not low <= value <= high:
        raise RuleError(
            _("%(name)s must be between %(low)s and %(high)s", name=name, low=low, high=high)
        )
    if value == 0:
        raise RuleError(_("%(name)s must not be 0", name=name))
    return value


def _ints(raw: str, name: str, low: int, high: int) -> list[int]:
    return [_int(item, name, low, high) for item in raw.split(",")]


@dataclass(frozen=True)
class Rule:
    """A validated rule: its parts and its normalised text (what feeds publish)."""

    parts: dict[str, str]

    @property
    def text(self) -> str:
        return ";".join(f"{name}={self.parts[name]}" for name in PARTS if name in self.parts)

    @property
    def freq(self) -> str:
        return self.parts["FREQ"]


def parse_rule(text: str, *, tz: ZoneInfo, all_day: bool) -> Rule:
    """Validate an RRULE value and normalise it.

    ``UNTIL`` is rewritten as RFC 5545 wants it beside a DTSTART with a zone: a UTC
    date-time for timed events, a date for all-day ones.
    """
    if not isinstance(text, str):
        raise RuleError(_("must be a string such as FREQ=WEEKLY;BYDAY=TU"))
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text or len(text) > MAX_RULE_LENGTH:
        raise RuleError(_("must be a rule of 1 to %(limit)s characters", limit=MAX_RULE_LENGTH))
    parts: dict[str, str] = {}
    for item in text.upper().split(";"):
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise RuleError(_("%(item)s is not NAME=VALUE", item=repr(item)))
        if name in parts:
            raise RuleError(_("%(name)s is given twice", name=name))
        if name not in PARTS:
            raise RuleError(
                _(
                    "%(name)s is not supported (supported: %(parts)s)",
                    name=name,
                    parts=", ".join(PARTS),
                )
            )
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError(_("FREQ is required"))
    if freq in SUB_DAILY:
        raise RuleError(_("FREQ=%(freq)s is not allowed: events repeat at most daily", freq=freq))
    if freq not in FREQUENCIES:
        raise RuleError(_("FREQ must be one of %(values)s", values=", ".join(FREQUENCIES)))
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError(_("COUNT and UNTIL cannot both be given"))
    if "INTERVAL" in parts:
        parts["INTERVAL"] = str(_int(parts["INTERVAL"], "INTERVAL", 1, MAX_INTERVAL))
    if "COUNT" in parts:
        parts["COUNT"] = str(_int(parts["COUNT"], "COUNT", 1, MAX_COUNT))
    if "UNTIL" in parts:
        parts["UNTIL"] = _normalise_until(parts["UNTIL"], tz=tz, all_day=all_day)
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise RuleError(_("WKST must be a weekday (MO…SU)"))
    _check_by_parts(parts, freq)
    return Rule(parts)


def _date8(raw: str) -> dt.date:
    return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))


def _time6(raw: str) -> dt.time:
    return dt.time(int(raw[:2]), int(raw[2:4]), int(raw[4:6]))


def _normalise_until(raw: str, *, tz: ZoneInfo, all_day: bool) -> str:
    match = _UNTIL.match(raw)
    if not match:
        raise RuleError(_("UNTIL must be a date (20261231) or a UTC date-time (20261231T230000Z)"))
    try:
        day = _date8(match.group(1))
        clock = _time6(match.group(3)) if match.group(2) else None
    except ValueError as exc:
        raise RuleError(_("UNTIL %(raw)s is not a valid date", raw=repr(raw))) from exc
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise RuleError(
            _(
                "UNTIL must be between %(low)s and %(high)s",
                low=EARLIEST_YEAR,
                high=LATEST_YEAR,
            )
        )
    if all_day:
        if clock is not None and match.group(4):
            day = to_local(dt.datetime.combine(day, clock, tzinfo=UTC), tz).date()
        return day.strftime("%Y%m%d")
    if clock is None:
        # A bare date includes the whole of that local day.
        instant = to_utc(dt.datetime.combine(day, dt.time(23, 59, 59)), tz)
    elif match.group(4):
        instant = dt.datetime.combine(day, clock, tzinfo=UTC)
    else:
        instant = to_utc(dt.datetime.combine(day, clock), tz)
    return instant.strftime("%Y%m%dT%H%M%SZ")


def _check_by_parts(parts: dict[str, str], freq: str) -> None:
    nth_days = False
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            match = _BYDAY.match(item)
            if not match:
                raise RuleError(
                    _("BYDAY %(item)s is not a weekday such as MO, 2TU or -1FR", item=repr(item))
                )
            if match.group(1) is not None:
                nth_days = True
                if freq not in ("MONTHLY", "YEARLY"):
                    raise RuleError(_("numbered weekdays (2TU) need FREQ=MONTHLY or YEARLY"))
                limit = 5 if freq == "MONTHLY" or "BYMONTH" in parts else 53
                _int(match.group(1), _("the number before a BYDAY weekday"), -limit, limit)
    months = _ints(parts["BYMONTH"], "BYMONTH", 1, 12) if "BYMONTH" in parts else None
    if "BYMONTHDAY" in parts:
        if freq == "WEEKLY":
            raise RuleError(_("BYMONTHDAY cannot be used with FREQ=WEEKLY"))
        if nth_days:
            raise RuleError(_("BYMONTHDAY cannot be combined with numbered weekdays"))
        days = _ints(parts["BYMONTHDAY"], "BYMONTHDAY", -31, 31)
        candidate_months = months or list(range(1, 13))
        if not any(abs(d) <= _MONTH_DAYS[m - 1] for m in candidate_months for d in days):
            raise RuleError(_("BYMONTHDAY never falls in the months of BYMONTH"))
    if "BYSETPOS" in parts:
        # Only "the n-th of these weekdays in the month", which always exists when
        # n is at most four times the number of weekdays (every month has four of each).
        if freq != "MONTHLY" or "BYDAY" not in parts or nth_days or "BYMONTHDAY" in parts:
            raise RuleError(_("BYSETPOS is only supported with FREQ=MONTHLY and plain BYDAY"))
        limit = 4 * len(parts["BYDAY"].split(","))
        _ints(parts["BYSETPOS"], "BYSETPOS", -limit, limit)


def _until_local(rule: Rule, tz: ZoneInfo) -> dt.datetime | None:
    raw = rule.parts.get("UNTIL")
    if raw is None:
        return None
    if len(raw) == 8:
        return dt.datetime.combine(_date8(raw), dt.time.max)
    instant = dt.datetime.combine(_date8(raw[:8]), _time6(raw[9:15]), tzinfo=UTC)
    return to_local(instant, tz)


def _dateutil_rule(rule: Rule, start_local: dt.datetime, tz: ZoneInfo) -> rrule:
    without_until = ";".join(f"{k}={v}" for k, v in rule.parts.items() if k != "UNTIL")
    parsed = rrulestr(without_until, dtstart=start_local)
    assert isinstance(parsed, rrule)
    until = _until_local(rule, tz)
    return parsed.replace(until=until) if until is not None else parsed


def first_instance(start_local: dt.datetime, rule: Rule, tz: ZoneInfo) -> dt.datetime | None:
    """The first start the rule itself gives from ``start_local`` (None: it gives none).

    RFC 5545 leaves a DTSTART that its rule does not give undefined, and calendar
    clients differ on it (most drop it), so an event must start on its rule's first
    instance.
    """
    return next(iter(_dateutil_rule(rule, start_local, tz)), None)


def local_starts(
    start_local: dt.datetime,
    rule: Rule | None,
    tz: ZoneInfo,
    *,
    until_local: dt.datetime,
    limit: int = EXPANSION_LIMIT,
) -> Iterator[dt.datetime]:
    """Naive local starts from ``start_local`` up to ``until_local`` (inclusive), at most ``limit``.

    The start itself is always the first instance (RFC 5545: DTSTART counts as the first
    occurrence), even when it does not match the rule.
    """
    if start_local > until_local or limit <= 0:
        return
    yield start_local
    if rule is None:
        return
    produced = 1
    for local in _dateutil_rule(rule, start_local, tz):
        if local > until_local or produced >= limit:
            return
        if local == start_local:
            continue
        produced += 1
        yield local


def count_instances(
    start_local: dt.datetime, rule: Rule | None, tz: ZoneInfo, *, until_local: dt.datetime
) -> int:
    """How many instances fall before ``until_local``, counting at most ``MAX_OCCURRENCES + 1``."""
    return sum(
        1
        for _ in local_starts(
            start_local, rule, tz, until_local=until_local, limit=MAX_OCCURRENCES + 1
        )
    )


def in_range(value: dt.date) -> bool:
    """Whether a date (or date-time) lies in the years this service accepts."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def parse_local(raw: str) -> dt.datetime:
    """A naive local date-time or date (as midnight) in ISO 8601, or :class:`RuleError`."""
    if not isinstance(raw, str) or len(raw) > 40:
        raise RuleError(_("must be an ISO 8601 local date or date-time"))
    try:
        if len(raw) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise RuleError(_("%(raw)s is not an ISO 8601 date or date-time", raw=repr(raw))) from exc
    if value.tzinfo is not None:
        raise RuleError(_("%(raw)s must be a local time without an offset", raw=repr(raw)))
    return value
