"""A reporting period: local calendar days in one zone, and the instants that bound them."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from zoneinfo import ZoneInfo

MAX_YEARS = 10


@dataclass(frozen=True)
class Period:
    """The days ``first``…``last`` (both included) in ``zone``."""

    first: dt.date
    last: dt.date
    zone: ZoneInfo

    def instant(self, day: dt.date) -> dt.datetime:
        """Local midnight at the start of ``day``, in UTC."""
        local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    @property
    def start(self) -> dt.datetime:
        return self.instant(self.first)

    @property
    def end(self) -> dt.datetime:
        """The instant just after the period: local midnight after its last day."""
        return self.instant(self.last + dt.timedelta(days=1))

    def months(self) -> list[dt.date]:
        """The first day of every calendar month the period touches."""
        months = []
        month = self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = next_month(month)
        return months

    def month_boundaries(self) -> list[dt.datetime]:
        """The instants at which the second and later months begin."""
        return [self.instant(month) for month in self.months()[1:]]


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def years_between(start: dt.date, end: dt.date) -> Fraction:
    """The length of ``[start, end)`` in calendar years, each year weighed by its own length,
    so that 1 January to 1 January is exactly one year, leap or not."""
    total = Fraction(0)
    day = start
    while day < end:
        year_end = dt.date(day.year + 1, 1, 1)
        stop = min(year_end, end)
        days_in_year = 366 if calendar.isleap(day.year) else 365
        total += Fraction((stop - day).days, days_in_year)
        day = stop
    return total
