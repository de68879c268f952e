"""Instances of a series that calendar clients would read differently on daylight-saving days.

The service's reading of a rule is RFC 5545's: instances are expanded on wall-clock time,
a start in the spring-forward gap takes the offset before the gap, a start in the
repeated autumn hour is its first occurrence, and every instance lasts the master's
exact duration. Clients do not all agree: ical.js (Thunderbird) reads a gap time with the
later offset and a repeated time as the second one, several readers end an instance on
wall-clock time, and libical (Evolution, KDE) also shifts the instance after a gap one.

An instance is read the same everywhere exactly when its start and its wall-clock end
are each one unambiguous local time and the offset does not change between them; then
every interpretation gives the same two instants. Every other instance, and the one
after each gap instance, is *fragile*: the feed writes it out as an override with its
instants, and names it (RECURRENCE-ID, EXDATE) by its nominal wall-clock time, the time
the rule gives it, which every reader matches against its own expansion.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from outreach.feeds.timezones import onsets
from outreach.scheduling.recurrence import UTC, to_local, to_utc


def ambiguous(local: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether a local time falls in a daylight-saving gap (absent) or overlap (twice)."""
    return (
        local.replace(tzinfo=tz, fold=0).utcoffset() != local.replace(tzinfo=tz, fold=1).utcoffset()
    )


def in_gap(local: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether a local time does not exist (the clocks jump over it)."""
    return to_local(to_utc(local, tz), tz) != local


def nominal(instant: dt.datetime, clock: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The wall-clock time the rule gave an instance that starts at ``instant``.

    Instances of a series share their time of day, ``clock``; an instance in the gap
    starts later than its nominal time (02:30 becomes 03:30), so the nominal one is the
    time of day ``clock`` near the instant that converts back to it.
    """
    local = to_local(instant, tz)
    for days in (0, -1, 1):
        candidate = dt.datetime.combine(local.date() + dt.timedelta(days=days), clock)
        if to_utc(candidate, tz) == instant.astimezone(UTC):
            return candidate
    return local


def fragile(local: dt.datetime, duration: dt.timedelta, tz: ZoneInfo) -> bool:
    """Whether readers may disagree on the instance with nominal start ``local``."""
    start = to_utc(local, tz)
    end = start + duration
    return (
        ambiguous(local, tz)
        or ambiguous(local + duration, tz)
        or start.astimezone(tz).utcoffset() != end.astimezone(tz).utcoffset()
    )


def readers_last_instant(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The latest instant any reader may give the nominal time ``local`` (for UNTIL)."""
    return max(
        local.replace(tzinfo=tz, fold=0).astimezone(UTC),
        local.replace(tzinfo=tz, fold=1).astimezone(UTC),
    )


@lru_cache(maxsize=64)
def changes(tz_name: str, first_year: int, last_year: int) -> tuple[dt.datetime, ...]:
    """The UTC instants at which the zone's offset changes in [first_year, last_year]."""
    return tuple(
        o.instant
        for o in onsets(ZoneInfo(tz_name), first_year, last_year)
        if o.offset_from != o.offset_to
    )


@lru_cache(maxsize=64)
def transition_days(tz_name: str, first_year: int, last_year: int) -> tuple[dt.date, ...]:
    """The local dates on which the zone's offset changes."""
    tz = ZoneInfo(tz_name)
    return tuple(to_local(moment, tz).date() for moment in changes(tz_name, first_year, last_year))


@lru_cache(maxsize=2048)
def fragile_starts(
    tz_name: str, clock: dt.time, duration: dt.timedelta, first_year: int, last_year: int
) -> tuple[tuple[dt.datetime, bool], ...]:
    """Nominal starts at ``clock`` that are fragile, each with whether it lies in a gap.

    It depends only on the zone, the time, the duration and the years, so the many
    series at ordinary hours share one cached (and usually empty) answer.
    """
    tz = ZoneInfo(tz_name)
    found: dict[dt.datetime, bool] = {}
    days_before = duration.days + 2
    for moment in changes(tz_name, first_year, last_year):
        day = to_local(moment, tz).date()
        for back in range(-1, days_before + 1):
            local = dt.datetime.combine(day - dt.timedelta(days=back), clock)
            if fragile(local, duration, tz):
                found[local] = in_gap(local, tz)
    return tuple(sorted(found.items()))
