"""Builders for report tests: events written through the models, then materialised."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from outreach.models import (
    Attendance,
    AttendanceMode,
    Event,
    EventAudience,
    EventKind,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Network,
    OccurrenceOverride,
    RoleName,
    StaffUser,
    StrategyValue,
)
from outreach.scheduling.occurrences import rebuild_occurrences
from tests.factories import make_token, make_user

# Tortoise's SQLite client adapts dates and datetimes but not times (Stop.arrival).
sqlite3.register_adapter(dt.time, dt.time.isoformat)

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in Ljubljana, as an aware datetime in UTC."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=LJUBLJANA).astimezone(dt.UTC)


async def make_event(
    library: Library,
    *,
    starts_at: dt.datetime,
    minutes: int = 60,
    tags: Sequence[Goal | StrategyValue] = (),
    audiences: Sequence[str] = (),
    cancel: Sequence[dt.datetime] = (),
    move: dict[dt.datetime, dt.timedelta] | None = None,
    attendance: dict[dt.datetime, dict[str, int]] | None = None,
    **values: Any,
) -> Event:
    """An event with tags, audiences, cancelled and moved occurrences (by original start)
    and attendance, materialised."""
    values.setdefault("kind", EventKind.WORKSHOP)
    values.setdefault("title", {"sl": "Dogodek", "en": "Event"})
    values.setdefault("timezone", library.timezone)
    values.setdefault("status", EventStatus.PUBLISHED)
    event = await Event.create(
        library=library,
        starts_at=starts_at,
        ends_at=values.pop("ends_at", starts_at + dt.timedelta(minutes=minutes)),
        updated_at=NOW,
        **values,
    )
    for tag in tags:
        if isinstance(tag, Goal):
            await EventTag.create(event=event, goal=tag)
        else:
            await EventTag.create(event=event, value=tag)
    for audience in audiences:
        await EventAudience.create(event=event, audience=audience)
    for original in cancel:
        await OccurrenceOverride.create(
            event=event, original_start=original, cancelled=True, updated_at=NOW
        )
    for original, shift in (move or {}).items():
        await OccurrenceOverride.create(
            event=event,
            original_start=original,
            starts_at=original + shift,
            ends_at=original + shift + (event.ends_at - event.starts_at),
            updated_at=NOW,
        )
    for original, bands in (attendance or {}).items():
        for band, count in bands.items():
            await Attendance.create(
                event=event,
                library_id=event.library_id,  # type: ignore[attr-defined]
                original_start=original,
                age_band=band,
                mode=AttendanceMode.ON_SITE,
                count=count,
                recorded_at=NOW,
            )
    await rebuild_occurrences(event, horizon_end=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    return event


async def make_staff(email: str, role: RoleName, scope: Library | Network) -> StaffUser:
    """A staff user with one role (no real password: these tests use tokens)."""
    return await make_user(email, password=None, roles=[(role, scope)])


async def token_for(user: StaffUser) -> dict[str, str]:
    """Authorization headers with a fresh API token of ``user``."""
    return {"Authorization": f"Bearer {await make_token(user)}"}
