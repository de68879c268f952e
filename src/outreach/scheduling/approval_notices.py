"""What an approval request asks for, in words, and the notices it owes.

A director reads what a held change changes as old → new in the language of the page or
mail being written (``outreach.i18n``): titles in that language, times in the library's
local time formatted by Babel, rooms and branches by name; never an id or a UTC instant.

The people concerned are told by e-mail through the outbox, in the caller's transaction:
the library's directors and admins of a submission (a held change when it is first held;
amendments write no new mail, the approvals page shows the latest), and the editors who
made it of the decision, each in their own language (their preference, else the
library's). ``base_url`` is where the staff pages are, for the links in those notices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from outreach import i18n
from outreach.i18n import gettext as _
from outreach.labels import event_field_labels
from outreach.languages import translated
from outreach.mail.outbox import enqueue
from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    Branch,
    Event,
    Library,
    Occurrence,
    RoleName,
    Room,
    StaffUser,
)
from outreach.scheduling import wording
from outreach.scheduling.approval import Stale
from outreach.scheduling.occurrences import default_horizon_end
from outreach.scheduling.payload import parse_fields, resolve_times
from outreach.scheduling.recurrence import RuleError, parse_local, to_local, zone
from outreach.scheduling.serialise import event_data


@dataclass(frozen=True)
class Line:
    """One thing a held change changes: what, as it is, and as it would be (None: too
    long to show, only that it changes)."""

    what: str
    old: str | None
    new: str | None


def when_words(start: dt.datetime, end: dt.datetime | None = None) -> str:
    """A local date and time (or span), as staff read it: "sre., 27. jan. 2027, 17:00–18:00"."""
    pattern = str(i18n.locale().datetime_formats["medium"])
    day = i18n.format_skeleton(start, "yMMMEd")
    if end is None:
        return pattern.format(i18n.format_skeleton(start, "Hm"), day)
    if end.date() == start.date():
        return pattern.format(i18n.format_interval(start, end, "Hm"), day)
    return f"{when_words(start)} – {when_words(end)}"


def _field_label(name: str) -> str:
    when = _("When")
    labels = {
        **event_field_labels(),
        "start": when,
        "end": when,
        "all_day": when,
        "rrule": _("Repeats"),
    }
    return labels.get(name, name)


def _event_when(event: Event, starts_at: dt.datetime, ends_at: dt.datetime, tz: Any) -> str:
    start, end = to_local(starts_at, tz), to_local(ends_at, tz)
    if event.all_day:
        last = end.date() - dt.timedelta(days=1)
        first = i18n.format_date(start.date(), "full")
        return first if last <= start.date() else f"{first} – {i18n.format_date(last, 'full')}"
    return when_words(start, end)


def _title_lines(old: dict[str, str], new: dict[str, str]) -> list[Line]:
    """A title change, language by language: the reader's first, then the others that
    change."""
    lang = i18n.current()
    changed = sorted(
        (code for code in {*old, *new} if old.get(code) != new.get(code)),
        key=lambda code: (code != lang, code),
    )
    return [
        Line(
            # Translators: a field of a text in several languages, e.g. "Naslov (angleščina)".
            _("%(field)s (%(language)s)", field=_("Title"), language=i18n.language_name(code)),
            old.get(code) or "—",
            new.get(code) or "—",
        )
        for code in changed
    ]


def _days(values: list[str]) -> str:
    """Excluded dates (local dates or date-times) in words."""
    words = []
    for raw in values:
        try:
            local = parse_local(raw)
        except RuleError:
            words.append(raw)
            continue
        words.append(i18n.format_date(local.date()) if len(raw) == 10 else when_words(local))
    return i18n.format_list(words)


def _rule_words(rrule: str | None, starts_at: dt.datetime, tz: Any, all_day: bool) -> str:
    if not rrule:
        return _("once")
    try:
        return wording.describe_rule(rrule, start=to_local(starts_at, tz), tz=tz, all_day=all_day)
    except RuleError:
        return rrule


async def _names(
    conn: BaseDBAsyncClient | None, model: type[Room] | type[Branch], ids: set[Any]
) -> dict[Any, str]:
    found = {i for i in ids if i is not None}
    if not found:
        return {}
    if model is Branch:
        return {b.slug: b.name for b in await Branch.filter(slug__in=found).using_db(conn)}
    return {r.id: r.name for r in await Room.filter(id__in=found).using_db(conn)}


async def _event_lines(
    conn: BaseDBAsyncClient | None, event: Event, changes: dict[str, Any]
) -> list[Line]:
    library = event.library
    before = event_data(event)
    after = dataclasses.replace(before, **parse_fields(changes, partial=True))
    tz = zone(library.timezone)
    lines: list[Line] = []
    names = set(changes)
    if names & {"start", "end", "all_day", "timezone"}:
        times = resolve_times(
            after, library_timezone=library.timezone, horizon_end=default_horizon_end()
        )
        lines.append(
            Line(
                _("When"),
                _event_when(event, event.starts_at, event.ends_at, tz),
                _event_when(event, times.starts_at, times.ends_at, tz),
            )
        )
    if "rrule" in names:
        lines.append(
            Line(
                _("Repeats"),
                _rule_words(before.rrule, event.starts_at, tz, before.all_day),
                _rule_words(after.rrule, event.starts_at, tz, after.all_day),
            )
        )
    rooms = await _names(conn, Room, {before.room, after.room})
    branches = await _names(conn, Branch, {before.branch, after.branch})
    none = "—"
    for name in sorted(names - {"start", "end", "all_day", "timezone", "rrule"}):
        old, new = getattr(before, name), getattr(after, name)
        if name == "title":
            lines += _title_lines(old, new)
            continue
        if name == "room":
            line = Line(_("Room"), rooms.get(old, none), rooms.get(new, none))
        elif name == "branch":
            line = Line(_("Branch"), branches.get(old, none), branches.get(new, none))
        elif name == "capacity":
            line = Line(
                _("Capacity"),
                none if old is None else i18n.format_number(old),
                none if new is None else i18n.format_number(new),
            )
        elif name == "exdates":
            line = Line(_("Excluded dates"), _days(old) or none, _days(new) or none)
        else:
            line = Line(_field_label(name), None, None)
        lines.append(line)
    return lines


async def _occurrence_lines(
    conn: BaseDBAsyncClient | None, event: Event, occurrences: dict[str, dict[str, Any]]
) -> list[Line]:
    library = event.library
    lang = i18n.current()
    tz = zone(library.timezone)
    starts = {key: dt.datetime.fromisoformat(key) for key in occurrences}
    rows = {
        o.original_start.astimezone(dt.UTC): o
        for o in await Occurrence.filter(
            event_id=event.id, original_start__in=list(starts.values())
        ).using_db(conn)
    }
    room_ids = {o.room_id for o in rows.values()} | {  # type: ignore[attr-defined]
        v.get("room") for v in occurrences.values()
    }
    rooms = await _names(conn, Room, room_ids | {event.room_id})  # type: ignore[attr-defined]
    series_room = rooms.get(event.room_id, "—")  # type: ignore[attr-defined]
    lines: list[Line] = []
    for key in sorted(occurrences):
        values = occurrences[key]
        row = rows.get(starts[key])
        if row is None:
            what = _("Occurrence of %(when)s", when=when_words(to_local(starts[key], tz)))
            lines.append(Line(what, None, _("no longer in the series")))
            continue
        now_start, now_end = to_local(row.starts_at, tz), to_local(row.ends_at, tz)
        what = _("Occurrence of %(when)s", when=when_words(now_start, now_end))
        if "start" in values:
            new_start = to_local(dt.datetime.fromisoformat(values["start"]), tz)
            new_end = to_local(dt.datetime.fromisoformat(values["end"]), tz)
            lines.append(
                Line(
                    f"{what} · {_('When')}",
                    when_words(now_start, now_end),
                    when_words(new_start, new_end),
                )
            )
        if "room" in values:
            old_room = rooms.get(row.room_id, "—")  # type: ignore[attr-defined]
            new_room = rooms.get(values["room"], "—") if values["room"] else series_room
            lines.append(Line(f"{what} · {_('Room')}", old_room, new_room))
        if "title" in values:
            lines.append(
                Line(
                    f"{what} · {_('Title')}",
                    translated(event.title, lang, library.default_language),
                    translated(values["title"], lang, library.default_language)
                    or translated(event.title, lang, library.default_language),
                )
            )
        if values.get("cancelled") is False:
            lines.append(Line(f"{what} · {_('Status')}", _("cancelled"), _("planned")))
        if "note" in values:
            lines.append(Line(f"{what} · {_('Note')}", None, values["note"] or "—"))
    return lines


async def describe(
    conn: BaseDBAsyncClient | None, request: ApprovalRequest, event: Event
) -> list[Line]:
    """What a held change changes, in the current language (``event`` loaded with
    everything its JSON shows: ``outreach.scheduling.service.load_event``)."""
    if request.kind != ApprovalKind.CHANGE:
        return []
    lines = await _event_lines(conn, event, request.changes) if request.changes else []
    return lines + await _occurrence_lines(conn, event, request.occurrences or {})


async def stale_words(
    conn: BaseDBAsyncClient | None, event: Event, stale: Stale, *, for_editor: bool = True
) -> str:
    """Why a held change cannot be amended (``for_editor``) or approved any more."""
    tz = zone(event.library.timezone)
    parts = sorted({_field_label(name) for name in stale.fields})
    parts += [
        _("Occurrence of %(when)s", when=when_words(to_local(dt.datetime.fromisoformat(key), tz)))
        for key in stale.occurrences
    ]
    what = i18n.format_list(parts)
    if for_editor:
        return _(
            "the event was changed after your change was held (%(what)s):"
            " withdraw your held change and make it again",
            what=what,
        )
    return _(
        "the event was changed after this was submitted (%(what)s):"
        " return it so that the editor submits it again",
        what=what,
    )


def _language(person: StaffUser, library: Library) -> str:
    return person.language or library.default_language


async def tell_approvers(
    conn: BaseDBAsyncClient,
    event: Event,
    request: ApprovalRequest,
    user: StaffUser | None,
    base_url: str,
) -> None:
    """Tell the library's directors and admins (but the one who asks) what waits for them."""
    library = event.library
    approvers = (
        await StaffUser.filter(
            is_active=True,
            roles__library_id=library.id,
            roles__role__in=[RoleName.DIRECTOR, RoleName.ADMIN],
        )
        .distinct()
        .order_by("id")
        .using_db(conn)
    )
    for person in approvers:
        if user is not None and person.id == user.id:
            continue
        lang = _language(person, library)
        with i18n.speaking(lang):
            lines = await describe(conn, request, event)
        await enqueue(
            conn,
            person.email,
            "approval_requested",
            lang,
            {
                "name": person.name,
                "editor": user.name if user is not None else "",
                "title": translated(event.title, lang, library.default_language),
                "library": translated(library.name, lang, library.default_language),
                "note": request.note,
                "change": request.kind == ApprovalKind.CHANGE,
                "lines": lines,
                "approvals_url": f"{base_url}/staff/approvals",
            },
            f"approval_requested:{request.id}:{person.id}",
            library_id=library.id,
        )


async def tell_editors(
    conn: BaseDBAsyncClient,
    event: Event,
    request: ApprovalRequest,
    user: StaffUser | None,
    base_url: str,
    lines_by_language: dict[str, list[Line]] | None = None,
) -> None:
    """Tell the editors who made a request (but the one deciding) of its decision.

    ``lines_by_language``: what it changed, worded before it was written (an approved
    change is the event by the time this is called).
    """
    ids = list(request.editors or [])
    submitter = request.submitted_by_id  # type: ignore[attr-defined]
    if submitter is not None and submitter not in ids:
        ids.insert(0, submitter)
    people = {
        p.id: p for p in await StaffUser.filter(id__in=ids or [0], is_active=True).using_db(conn)
    }
    library = event.library
    for ident in ids:
        person = people.get(ident)
        if person is None or (user is not None and person.id == user.id):
            continue
        lang = _language(person, library)
        key = f"approval_decided:{request.id}"
        await enqueue(
            conn,
            person.email,
            "approval_decided",
            lang,
            {
                "name": person.name,
                "director": user.name if user is not None else "",
                "approved": request.decision == ApprovalDecision.APPROVED,
                "change": request.kind == ApprovalKind.CHANGE,
                "lines": (lines_by_language or {}).get(lang, []),
                "title": translated(event.title, lang, library.default_language),
                "library": translated(library.name, lang, library.default_language),
                "comment": request.comment,
                "event_url": f"{base_url}/staff/events/{event.id}",
            },
            key if ident == ids[0] else f"{key}:{person.id}",
            library_id=library.id,
        )


async def lines_for_editors(
    conn: BaseDBAsyncClient, request: ApprovalRequest, event: Event
) -> dict[str, list[Line]]:
    """What a held change changes in each language its editors read."""
    if request.kind != ApprovalKind.CHANGE:
        return {}
    ids = [*(request.editors or []), request.submitted_by_id]  # type: ignore[attr-defined]
    people = await StaffUser.filter(id__in=[i for i in ids if i is not None] or [0]).using_db(conn)
    languages = {_language(p, event.library) for p in people}
    worded: dict[str, list[Line]] = {}
    for lang in languages:
        with i18n.speaking(lang):
            worded[lang] = await describe(conn, request, event)
    return worded
