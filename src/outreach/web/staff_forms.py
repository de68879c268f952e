"""The event form's fields: to the API's JSON payload and back, and the recurrence picker.

The form is kept as the submitted fields (name → list of strings), so a refused form
comes back exactly as it was typed. It is turned into the API's JSON payload and handed
to the same service functions as the API: they alone decide what is valid. Only the
picker's translation to and from RRULE text lives here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import dates
from starlette.datastructures import FormData

from outreach import i18n
from outreach.i18n import gettext as _
from outreach.models import Event, EventStatus
from outreach.scheduling import wording
from outreach.scheduling.payload import EventData, TagInput
from outreach.scheduling.recurrence import RuleError, to_local, zone
from outreach.scheduling.serialise import event_data
from outreach.web import csrf, field_words

FormState = dict[str, list[str]]
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def weekday_names(
    width: Literal["abbreviated", "wide"] = "abbreviated",
) -> tuple[str, ...]:
    """Monday to Sunday in the page's language (CLDR, ``abbreviated`` or ``wide``)."""
    names = dates.get_day_names(width, locale=i18n.locale())
    return tuple(str(names[day]) for day in range(7))


def repeats() -> dict[str, str]:
    """The recurrence picker's choices in the page's language."""
    return {
        "none": _("Does not repeat"),
        "weekly": _("Weekly on the chosen days"),
        "biweekly": _("Every other week on the chosen days"),
        "monthly_day": _("Monthly on the same day of the month"),
        "monthly_weekday": _("Monthly on the same weekday (e.g. the 2nd Tuesday)"),
        "custom": _("Custom rule (RRULE below)"),
    }


_SIMPLE_RULE = re.compile(
    r"^FREQ=(?P<freq>WEEKLY|MONTHLY)(;INTERVAL=(?P<interval>\d+))?"
    r"(;COUNT=(?P<count>\d+)|;UNTIL=(?P<until>[0-9TZ]+))?"
    r"(;BYDAY=(?P<byday>[0-9A-Z,+-]+))?(;BYMONTHDAY=(?P<monthday>\d+))?$"
)


def first(form: FormState, name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def form_state(form: FormData) -> FormState:
    """The submitted form, every field as a list of strings (files are ignored)."""
    state: FormState = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name != csrf.FIELD:
            state.setdefault(name, []).append(value)
    return state


def number_or_raw(raw: str, kind: type[int] | type[float]) -> Any:
    """The number typed, or the text itself so that the API names what is wrong with it."""
    try:
        return kind(raw)
    except ValueError:
        return raw


def nth_weekday(day: dt.date) -> str:
    nth = (day.day - 1) // 7 + 1
    # The fifth weekday does not exist in every month: say "the last" instead.
    return f"{-1 if nth == 5 else nth}{WEEKDAYS[day.weekday()]}"


def rule_from_form(form: FormState) -> str | None:
    """The RRULE the recurrence picker describes (the raw field for a custom rule)."""
    repeat = first(form, "repeat") or "none"
    if repeat == "none":
        return None
    if repeat == "custom":
        return first(form, "rrule") or None
    try:
        start = dt.date.fromisoformat(first(form, "start_date"))
    except ValueError:
        start = None
    parts: list[str]
    if repeat in ("weekly", "biweekly"):
        days = [d for d in WEEKDAYS if d in form.get("repeat_days", [])]
        if not days and start is not None:
            days = [WEEKDAYS[start.weekday()]]
        parts = ["FREQ=WEEKLY"] + (["INTERVAL=2"] if repeat == "biweekly" else [])
        parts += [f"BYDAY={','.join(days)}"] if days else []
    elif repeat == "monthly_weekday" and start is not None:
        parts = ["FREQ=MONTHLY", f"BYDAY={nth_weekday(start)}"]
    else:
        # Without BYMONTHDAY a monthly rule repeats on the start's day of the month.
        parts = ["FREQ=MONTHLY"]
    until = first(form, "repeat_until")
    count = first(form, "repeat_count")
    if until:
        parts.append(f"UNTIL={until.replace('-', '')}")
    elif count:
        parts.append(f"COUNT={count}")
    return ";".join(parts)


def payload_from_form(form: FormState, languages: list[str]) -> dict[str, Any]:
    """The API payload (POST /api/events without ``library``) a submitted form describes."""
    all_day = first(form, "all_day") == "on"

    def when(prefix: str, fallback_date: str = "") -> str:
        day = first(form, f"{prefix}_date") or fallback_date
        clock = first(form, f"{prefix}_time")
        return day if all_day or not clock else f"{day}T{clock}"

    payload: dict[str, Any] = {
        "kind": first(form, "kind"),
        "title": {lang: first(form, f"title_{lang}") for lang in languages},
        "description": {lang: first(form, f"description_{lang}") for lang in languages},
        "all_day": all_day,
        "start": when("start"),
        # A one-day event needs no end date: it ends on the day it starts.
        "end": when("end", first(form, "start_date")),
        "timezone": first(form, "timezone") or None,
        "rrule": rule_from_form(form),
        "exdates": [line.strip() for line in first(form, "exdates").splitlines() if line.strip()],
        "branch": first(form, "branch") or None,
        "room": number_or_raw(first(form, "room"), int) if first(form, "room") else None,
        "audiences": form.get("audiences", []),
        "languages": form.get("languages", []),
        "format": first(form, "format"),
        "online_url": first(form, "online_url"),
        "capacity": (
            number_or_raw(first(form, "capacity"), int) if first(form, "capacity") else None
        ),
        "partners": form.get("partners", []),
        "co_organisers": form.get("co_organisers", []),
        "staff": [number_or_raw(raw, int) for raw in form.get("staff", [])],
        "visibility": first(form, "visibility"),
        "tags": _tags_from_form(form),
    }
    place_fields = [first(form, f"place_{n}") for n in ("name", "address", "lat", "lon")]
    if any(place_fields):
        name, address, lat, lon = place_fields
        payload["place"] = {
            "name": name,
            "address": address,
            "lat": number_or_raw(lat, float) if lat else None,
            "lon": number_or_raw(lon, float) if lon else None,
        }
    else:
        payload["place"] = None
    status = first(form, "status")
    # A cancelled event keeps its status unless staff choose draft or published again.
    if status != EventStatus.CANCELLED.value:
        payload["status"] = status
    return payload


def _tags_from_form(form: FormState) -> list[dict[str, Any]]:
    primary = first(form, "primary")
    tags = []
    for raw in form.get("tags", []):
        kind, _, rest = raw.partition(":")
        strategy, _, code = rest.partition(":")
        tags.append({kind: code, "strategy": strategy, "primary": raw == primary})
    return tags


def _tag_key(tag: TagInput) -> str:
    return f"{tag.kind}:{tag.strategy}:{tag.code}"


def form_from_event(event: Event, data: EventData | None = None) -> FormState:
    """The form fields showing an existing event (``data``: a version of it, such as the
    one its held change would publish)."""
    data = data if data is not None else event_data(event)
    tz = ZoneInfo(event.timezone)
    state: FormState = {
        "kind": [data.kind],
        "timezone": [data.timezone or ""],
        "start_date": [data.start[:10]],
        "start_time": [data.start[11:16]],
        "end_date": [data.end[:10]],
        "end_time": [data.end[11:16]],
        "exdates": ["\n".join(data.exdates)],
        "branch": [data.branch or ""],
        "room": [str(data.room) if data.room else ""],
        "audiences": list(data.audiences),
        "languages": list(data.languages),
        "format": [data.format],
        "online_url": [data.online_url],
        "capacity": ["" if data.capacity is None else str(data.capacity)],
        "partners": list(data.partners),
        "co_organisers": list(data.co_organisers),
        "staff": [str(ident) for ident in data.staff],
        "visibility": [data.visibility],
        "status": [data.status],
        "tags": [_tag_key(tag) for tag in data.tags],
        "primary": [_tag_key(tag) for tag in data.tags if tag.primary],
        "revision": [str(event.revision)],
    }
    if data.all_day:
        state["all_day"] = ["on"]
    for lang, text in data.title.items():
        state[f"title_{lang}"] = [text]
    for lang, text in data.description.items():
        state[f"description_{lang}"] = [text]
    if data.place is not None:
        state["place_name"] = [data.place.name]
        state["place_address"] = [data.place.address]
        state["place_lat"] = ["" if data.place.lat is None else str(data.place.lat)]
        state["place_lon"] = ["" if data.place.lon is None else str(data.place.lon)]
    state.update(picker_from_rule(data.rrule, data.start, tz))
    return state


def picker_from_rule(rule: str | None, start: str, tz: ZoneInfo) -> FormState:
    """Recurrence picker fields for a stored rule; rules it cannot show stay custom."""
    if not rule:
        return {"repeat": ["none"], "rrule": [""]}
    custom: FormState = {"repeat": ["custom"], "rrule": [rule]}
    match = _SIMPLE_RULE.match(rule)
    if match is None:
        return custom
    state: FormState = {"rrule": [rule]}
    until = match.group("until")
    if until:
        if len(until) == 8:
            state["repeat_until"] = [f"{until[:4]}-{until[4:6]}-{until[6:]}"]
        else:
            local = dt.datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            local = local.astimezone(tz)
            # The picker writes a bare date, which the service stores as 23:59:59 local.
            if local.time() != dt.time(23, 59, 59):
                return custom
            state["repeat_until"] = [local.date().isoformat()]
    if match.group("count"):
        state["repeat_count"] = [match.group("count")]
    interval, byday = match.group("interval"), match.group("byday") or ""
    start_day = dt.date.fromisoformat(start[:10])
    if (
        match.group("freq") == "WEEKLY"
        and interval in (None, "1", "2")
        and not match.group("monthday")
    ):
        days = byday.split(",") if byday else [WEEKDAYS[start_day.weekday()]]
        if not all(day in WEEKDAYS for day in days):
            return custom
        state["repeat"] = ["biweekly" if interval == "2" else "weekly"]
        state["repeat_days"] = days
        return state
    if match.group("freq") == "MONTHLY" and interval in (None, "1"):
        monthday = match.group("monthday")
        if not byday and monthday in (None, str(start_day.day)):
            state["repeat"] = ["monthly_day"]
            return state
        if byday == nth_weekday(start_day) and not monthday:
            state["repeat"] = ["monthly_weekday"]
            return state
    return custom


def describe_rule(event: Event) -> str:
    """The event's rule in words of the page's language (the patron pages' wording: every
    rule the service accepts, its end a local day), ``once`` without a rule."""
    if not event.rrule:
        return _("once")
    try:
        tz = zone(event.timezone)
        return wording.describe_rule(
            event.rrule, start=to_local(event.starts_at, tz), tz=tz, all_day=event.all_day
        )
    except RuleError:
        return event.rrule  # a rule written before today's checks: show it as it is


def form_problems(problems: dict[str, list[str]], form: FormState) -> dict[str, list[str]]:
    """The start's and end's problems said as the form asks for them, where a date or a
    time was left empty (the service's words give the API's ISO example, which nobody
    types into a date and a time field)."""
    all_day = first(form, "all_day") == "on"
    said = dict(problems)
    if "start" in said:
        if not first(form, "start_date"):
            said["start"] = [_("Enter the day it starts.")]
        elif not all_day and not first(form, "start_time"):
            said["start"] = [_("Enter the time it starts, or mark it as lasting all day.")]
    if "end" in said and not all_day and not first(form, "end_time"):
        said["end"] = [_("Enter the time it ends, or mark it as lasting all day.")]
    return said


def field_problems(problems: dict[str, str]) -> dict[str, list[str]]:
    """API problems grouped by the form field they belong to (``tags[0].goal`` → ``tags``),
    each said where in its field it is in the reader's words ('title.fi' → 'Finščina',
    'exdates[2]' → 'vnos 3'): the field's own label is beside it on the form."""
    grouped: dict[str, list[str]] = {}
    for name, problem in problems.items():
        base = re.split(r"[.\[]", name, maxsplit=1)[0]
        grouped.setdefault(base, []).append(field_words.said(name, problem, {}))
    return grouped
