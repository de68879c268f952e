"""Links that open a web calendar's "new event" form filled in with one occurrence:
Google Calendar, and Outlook on the web (outlook.live.com for personal accounts,
outlook.office.com for work and school ones).

Times go in UTC (``…Z``), which both read exactly whatever zone the reader's calendar is
in; Google is also told the event's zone (``ctz``) so it shows the library's local time.
All-day occurrences go as dates, the end exclusive (the day after the last, as in
iCalendar and as Outlook itself stores an all-day event: until the next midnight).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

UTC = dt.UTC
# Browsers and the calendars' servers cut long addresses; a description is a summary here.
DETAILS_LIMIT = 1000


@dataclass(frozen=True)
class Occasion:
    """One occurrence as a web calendar needs it."""

    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    all_day: bool
    timezone: str
    location: str
    details: str


def _details(text: str) -> str:
    return text if len(text) <= DETAILS_LIMIT else text[: DETAILS_LIMIT - 1].rstrip() + "…"


def _local_days(occasion: Occasion) -> tuple[dt.date, dt.date]:
    """First day and the day after the last (all-day occurrences end at local midnight)."""
    tz = ZoneInfo(occasion.timezone)
    first = occasion.starts_at.astimezone(tz).date()
    after = max(occasion.ends_at.astimezone(tz).date(), first + dt.timedelta(days=1))
    return first, after


def google(occasion: Occasion) -> str:
    if occasion.all_day:
        first, after = _local_days(occasion)
        dates = f"{first:%Y%m%d}/{after:%Y%m%d}"
    else:
        start, end = (t.astimezone(UTC) for t in (occasion.starts_at, occasion.ends_at))
        dates = f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"
    query = {
        "action": "TEMPLATE",
        "text": occasion.title,
        "dates": dates,
        "ctz": occasion.timezone,
        "details": _details(occasion.details),
        "location": occasion.location,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query, quote_via=quote)


def outlook(occasion: Occasion, *, host: str) -> str:
    """``host``: ``outlook.live.com`` or ``outlook.office.com``."""
    if occasion.all_day:
        first, after = _local_days(occasion)
        start, end = first.isoformat(), after.isoformat()
    else:
        start, end = (
            t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for t in (occasion.starts_at, occasion.ends_at)
        )
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": occasion.title,
        "startdt": start,
        "enddt": end,
        "allday": "true" if occasion.all_day else "false",
        "body": _details(occasion.details),
        "location": occasion.location,
    }
    return f"https://{host}/calendar/0/deeplink/compose?" + urlencode(query, quote_via=quote)
