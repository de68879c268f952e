"""One event's calendar files, for the "add to calendar" links of its page: the whole
series (its VEVENTs as the feed writes them) or one occurrence (one VEVENT with a UID of
its own, so importing it never replaces a subscribed series). Both carry the VTIMEZONE of
the event's zone, and times the feed's rules write: in the zone, or in UTC where the local
time is ambiguous (the repeated hour of an autumn night)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from icalendar import Event as VEvent

from outreach.feeds import ical
from outreach.feeds.selection import Series
from outreach.languages import translated
from outreach.scheduling.recurrence import to_local


@dataclass(frozen=True)
class Instance:
    """One occurrence as stored: its original start (the RECURRENCE-ID), when it is now."""

    original_start: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime
    cancelled: bool


def occurrence_key(series: Series, original_start: dt.datetime) -> str:
    """The key of one occurrence, as the feed names an instance published on its own."""
    return f"{series.key}-at-{to_local(original_start, series.tz):%Y%m%dT%H%M%S}"


def series_calendar(series: Series, *, lang: str, base_url: str) -> bytes:
    """Every VEVENT the feed holds for this series (rule, exceptions, changes)."""
    name = translated(series.event.title, lang, series.library.default_language)
    cal = ical.calendar(name=name, uid=f"outreach-{series.key}@{ical.host_of(base_url)}")
    components = ical.series_components(series, lang=lang, base_url=base_url)
    first = ical.first_day([series], series.start_local.date())
    return ical.serialise(cal, components, zones=ical.zones_of([series]), first=first)


def occurrence_calendar(series: Series, instance: Instance, *, lang: str, base_url: str) -> bytes:
    """One VEVENT for one occurrence, moved or re-roomed as it now stands."""
    original_local = to_local(instance.original_start, series.tz)
    change = next((c for c in series.changes if c.original_local == original_local), None)
    if series.event.all_day:
        first_day = to_local(instance.starts_at, series.tz).date()
        last_day = to_local(instance.ends_at, series.tz).date()
        start_local = dt.datetime.combine(first_day, dt.time())
        duration = dt.timedelta(days=max((last_day - first_day).days, 1))
    else:
        start_local = to_local(instance.starts_at, series.tz)
        duration = instance.ends_at - instance.starts_at
    one = replace(
        series,
        key=occurrence_key(series, instance.original_start),
        rule=None,
        exdates=(),
        changes=(),
        detached=(),
        start_local=start_local,
        duration=duration,
        room=change.room if change is not None and change.room is not None else series.room,
    )
    [vevent] = ical.series_components(one, lang=lang, base_url=base_url)
    if not series.event.all_day:
        # The exact instants, as the feed writes them (ical._exact, within this package):
        # a wall-clock time in the repeated hour is written in UTC.
        _set(vevent, "DTSTART", ical._exact(one, instance.starts_at))
        _set(vevent, "DTEND", ical._exact(one, instance.ends_at))
    if instance.cancelled:
        vevent["STATUS"] = "CANCELLED"
    name = translated(series.event.title, lang, series.library.default_language)
    cal = ical.calendar(name=name, uid=f"outreach-{one.key}@{ical.host_of(base_url)}")
    first = min(start_local.date(), instance.starts_at.date()) - dt.timedelta(days=1)
    return ical.serialise(cal, [vevent], zones=ical.zones_of([one]), first=first)


def _set(vevent: VEvent, name: str, value: dt.date | dt.datetime) -> None:
    vevent.pop(name, None)
    vevent.add(name, value)
