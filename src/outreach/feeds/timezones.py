"""VTIMEZONE components that hold for every instant a feed can produce.

A subscribed client expands a series' rule for as long as the rule runs, often with no
end at all, so a VTIMEZONE that lists onsets up to some date (icalendar's
``add_missing_timezones``) goes wrong after it. Here each zone gets its recent onsets
written out and, from the year its current rule took over, one yearly ``RRULE`` per
observance (``BYMONTH=3;BYDAY=-1SU``), which is how the zone will go on until tzdata says
otherwise. Zones whose changes no yearly rule describes keep explicit onsets up to
:data:`EXPLICIT_UNTIL_YEAR`. Observances carry only what RFC 5545's grammar allows
(no ``COMMENT`` on the VTIMEZONE, which libical's restriction check refuses) and one
``DTSTART`` each (ical.js ignores all but the first ``RDATE``).
"""

from __future__ import annotations

import calendar as monthcal
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Component, TimezoneDaylight, TimezoneStandard, vRecur
from icalendar import Timezone as VTimezone

UTC = dt.UTC
# How many years ahead the zone's own changes are read to find the rule they follow.
_YEARS_READ = 30
# Without a yearly rule, onsets are written out up to this year.
EXPLICIT_UNTIL_YEAR = 2100
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_STEP = dt.timedelta(hours=6)


@dataclass(frozen=True)
class Onset:
    """One change of a zone's offset: the instant, the offsets around it, its name."""

    instant: dt.datetime
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    daylight: bool

    @property
    def local(self) -> dt.datetime:
        """The onset as RFC 5545 writes it: wall-clock time in the offset before it."""
        return (self.instant + self.offset_from).replace(tzinfo=None)

    def rule_keys(self) -> set[str]:
        """The BYDAY forms of a yearly rule that give this onset's day in its month."""
        day = self.local.date()
        weekday = _WEEKDAYS[day.weekday()]
        length = monthcal.monthrange(day.year, day.month)[1]
        keys = {f"{(day.day - 1) // 7 + 1}{weekday}"}
        if day.day > length - 7:
            keys.add(f"-1{weekday}")
        # "The Friday before the last Sunday" (Israel): the weekday within a 7-day window.
        for first in range(max(1, day.day - 6), min(day.day, length - 6) + 1):
            days = ",".join(str(d) for d in range(first, first + 7))
            keys.add(f"{weekday};BYMONTHDAY={days}")
        return keys

    def kind(self) -> tuple[dt.timedelta, dt.timedelta, str, bool, int, dt.time]:
        return (
            self.offset_from,
            self.offset_to,
            self.name,
            self.daylight,
            self.local.month,
            self.local.time(),
        )


def _state(tz: ZoneInfo, instant: dt.datetime) -> tuple[dt.timedelta, str, bool]:
    local = instant.astimezone(tz)
    offset = local.utcoffset()
    assert offset is not None
    return offset, local.tzname() or "", bool(local.dst())


def onsets(tz: ZoneInfo, first_year: int, last_year: int) -> list[Onset]:
    """Every change of offset, name or daylight saving in [first_year, last_year], to the second."""
    found: list[Onset] = []
    moment = dt.datetime(first_year, 1, 1, tzinfo=UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=UTC)
    state = _state(tz, moment)
    while moment < end:
        following = moment + _STEP
        after = _state(tz, following)
        if after != state:
            low, high = moment, following
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _state(tz, middle) == state:
                    low = middle
                else:
                    high = middle
            instant = high.replace(microsecond=0)
            if _state(tz, instant) == state:
                instant += dt.timedelta(seconds=1)
            found.append(Onset(instant, state[0], after[0], after[1], after[2]))
            state = after
        moment = following
    return found


def _yearly_rules(years: list[list[Onset]]) -> dict[tuple[object, ...], str] | None:
    """One BYDAY key per kind of onset that fits every year given, or None."""
    kinds = {tuple(o.kind() for o in year) for year in years}
    if len(kinds) != 1 or not years[0]:
        return None
    rules: dict[tuple[object, ...], str] = {}
    for index, kind in enumerate(years[0]):
        common = set.intersection(*(year[index].rule_keys() for year in years))
        if not common:
            return None
        # "The last Sunday" reads the way the zone's law is written in most of the world.
        rules[kind.kind()] = min(
            common, key=lambda key: ("BYMONTHDAY" in key, not key.startswith("-"), key)
        )
    return rules


@dataclass(frozen=True)
class Observance:
    """A STANDARD or DAYLIGHT part of a VTIMEZONE: one onset, or a yearly rule of them."""

    daylight: bool
    start: dt.datetime
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    rule: str | None = None


@lru_cache(maxsize=256)
def observances(name: str, first_year: int) -> tuple[Observance, ...]:
    """The observances of zone ``name`` from the start of ``first_year`` on."""
    tz = ZoneInfo(name)
    last_year = first_year + _YEARS_READ
    found = onsets(tz, first_year, last_year)
    by_year: dict[int, list[Onset]] = {}
    for onset in found:
        by_year.setdefault(onset.local.year, []).append(onset)
    # The longest run of final years that one yearly rule describes, ending in the last.
    rule_from: int | None = None
    rules: dict[tuple[object, ...], str] = {}
    if last_year in by_year:
        for year in range(last_year, first_year - 1, -1):
            candidate = _yearly_rules([by_year.get(y, []) for y in range(year, last_year + 1)])
            if candidate is None:
                break
            rule_from, rules = year, candidate
    if rule_from is not None:
        explicit = [o for o in found if o.local.year < rule_from]
    elif found and found[-1].local.year > first_year + 2:
        # Changes go on but follow no yearly rule: write them out for a long time.
        explicit = onsets(tz, first_year, EXPLICIT_UNTIL_YEAR)
    else:
        explicit = found
    result: list[Observance] = []
    # What holds from the start of the year until its first change (or for good).
    new_year = dt.datetime(first_year, 1, 1, tzinfo=UTC)
    offset, tzname, daylight = _state(tz, new_year)
    wall_clock = (new_year + offset).replace(tzinfo=None)
    result.append(Observance(daylight, wall_clock, offset, offset, tzname))
    result += [
        Observance(o.daylight, o.local, o.offset_from, o.offset_to, o.name) for o in explicit
    ]
    if rule_from is not None:
        result += [
            Observance(
                o.daylight,
                o.local,
                o.offset_from,
                o.offset_to,
                o.name,
                f"FREQ=YEARLY;BYMONTH={o.local.month};BYDAY={rules[o.kind()]}",
            )
            for o in by_year[rule_from]
        ]
    return tuple(result)


def vtimezone(name: str, first: dt.date) -> Component:
    """The VTIMEZONE of zone ``name``, right from ``first`` for as long as tzdata knows."""
    zone = VTimezone()
    zone.add("TZID", name)
    for one in observances(name, first.year - 1):
        observance = TimezoneDaylight() if one.daylight else TimezoneStandard()
        observance.add("DTSTART", one.start)
        observance.add("TZOFFSETFROM", one.offset_from)
        observance.add("TZOFFSETTO", one.offset_to)
        if one.name:
            observance.add("TZNAME", one.name)
        if one.rule:
            observance.add("RRULE", vRecur.from_ical(one.rule))
        zone.add_component(observance)
    return zone
