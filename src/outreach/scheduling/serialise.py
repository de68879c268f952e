"""Events and occurrences as the JSON API (and the staff pages) show them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from outreach.models import Event, Occurrence
from outreach.scheduling.payload import EventData, Place, TagInput, local_input, local_iso
from outreach.scheduling.recurrence import to_local, zone

# What event_data() reads: prefetch it for lists, so that a page is a fixed number of queries.
PREFETCH = (
    "library",
    "branch",
    "audiences",
    "languages",
    "partners",
    "co_organisers",
    "staff",
    "tags__goal__strategy",
    "tags__value__strategy",
)


def utc_iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def event_data(event: Event) -> EventData:
    """The editable fields of an event whose PREFETCH relations are loaded."""
    tz = zone(event.timezone)
    if event.all_day:
        start = to_local(event.starts_at, tz).date().isoformat()
        end = (to_local(event.ends_at, tz).date() - dt.timedelta(days=1)).isoformat()
    else:
        start, end = local_input(event.starts_at, tz), local_input(event.ends_at, tz)
    place = None
    if event.place_name or event.lat is not None:
        place = Place(event.place_name, event.place_address, event.lat, event.lon)
    tags = []
    for tag in sorted(event.tags, key=lambda t: (not t.primary, t.id)):
        subject = tag.goal if tag.goal is not None else tag.value
        assert subject is not None
        tags.append(
            TagInput(
                "goal" if tag.goal is not None else "value",
                subject.code,
                subject.strategy.slug,
                tag.primary,
            )
        )
    return EventData(
        kind=event.kind.value,
        title=dict(event.title),
        description=dict(event.description or {}),
        start=start,
        end=end,
        all_day=event.all_day,
        timezone=event.timezone,
        rrule=event.rrule,
        exdates=list(event.exdates or []),
        branch=event.branch.slug if event.branch is not None else None,
        room=event.room_id,  # type: ignore[attr-defined]
        place=place,
        audiences=sorted(a.audience.value for a in event.audiences),
        languages=sorted(lang.language for lang in event.languages),
        format=event.format.value,
        online_url=event.online_url,
        capacity=event.capacity,
        partners=sorted(p.slug for p in event.partners),
        co_organisers=sorted(lib.slug for lib in event.co_organisers),
        staff=sorted(user.id for user in event.staff),
        visibility=event.visibility.value,
        status=event.status.value,
        tags=tags,
    )


def data_json(data: EventData) -> dict[str, Any]:
    """EventData as JSON (tags as ``{"goal": "A1", "strategy": …, "primary": …}``)."""
    body = dataclasses.asdict(data)
    body["tags"] = [
        {tag.kind: tag.code, "strategy": tag.strategy, "primary": tag.primary} for tag in data.tags
    ]
    return body


def event_json(event: Event) -> dict[str, Any]:
    """The whole event, read-only fields included."""
    body: dict[str, Any] = {"id": event.id, "library": event.library.slug}
    body.update(data_json(event_data(event)))
    body.update(
        revision=event.revision,
        starts_at=utc_iso(event.starts_at),
        ends_at=utc_iso(event.ends_at),
        created_at=utc_iso(event.created_at),
        updated_at=utc_iso(event.updated_at),
        cancelled_at=utc_iso(event.cancelled_at) if event.cancelled_at else None,
    )
    return body


def occurrence_json(
    occurrence: Occurrence, event: Event, *, title: dict[str, str] | None = None
) -> dict[str, Any]:
    """One occurrence in UTC and in its event's local time (``title``: its override's)."""
    tz = zone(event.timezone)
    return {
        "event": event.id,
        "title": title or event.title,
        "original_start": utc_iso(occurrence.original_start),
        "start": utc_iso(occurrence.starts_at),
        "end": utc_iso(occurrence.ends_at),
        "local_start": local_iso(occurrence.starts_at, tz),
        "local_end": local_iso(occurrence.ends_at, tz),
        "timezone": event.timezone,
        "all_day": event.all_day,
        "cancelled": occurrence.cancelled,
        "branch": occurrence.branch.slug if occurrence.branch is not None else None,
        "room": occurrence.room_id,  # type: ignore[attr-defined]
        "stop": occurrence.stop_id,  # type: ignore[attr-defined]
        "vehicle": occurrence.vehicle_id,  # type: ignore[attr-defined]
    }
