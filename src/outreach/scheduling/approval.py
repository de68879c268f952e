"""The approval rules of a library: who may publish, and which changes wait for a director.

A library's :class:`ApprovalPolicy` says what its directors approve: nothing (editors
publish), new events (an event is published by a director's approval), or also every
change an editor makes to a published event (held in an :class:`ApprovalRequest` and
written only when approved, so the public never sees an unapproved version). An approver
is a director or admin of the library; the web layer decides who is one
(``outreach.web.auth.may_approve``). Submitting, approving, returning and withdrawing are
in :mod:`outreach.scheduling.review`.

What is held, where every change waits: a change of the event's fields, and a change of
a single occurrence (moved, another room, its own title or note, or a cancelled one
restored), since each shows the public something nobody approved. Cancelling is never
held, for the whole event, a route, one bookmobile run or one occurrence: it only takes
something away from the public, and the people coming must know at once. A held change
of the cancelled occurrence (or of any occurrence, when the event is cancelled) is moot
and leaves the request.

One held change per event, amended by the later ones: like a CMS's pending revision
(WordPress's pending post, Drupal's forward revision) and LibCal's events that go back to
moderation when edited, the director approves the next version of the event, not a queue
of patches. Several requests for one event would each have to be approved in order, a
later one stale whenever an earlier one is returned, and the director would piece the
next version together from them; one request always shows what the public will see once
approved. An editor's second change is merged into the pending one (its ``changes`` and
``occurrences`` hold only what differs from the published event; a change back to what
is published drops out, and a request left with nothing is withdrawn), re-checked as a
whole (conflicts included), and its ``editors`` list who made it. ``base`` keeps what
each held part replaces as it was when first held: if an approver (or a cancellation)
changed that part meanwhile, the request is stale, and amending or approving it is
refused (409) with what changed, so nothing is written over a newer version; the
director returns it, or its editor withdraws it and starts again from the new version.
Conflicts are checked when the change is held and again when it is approved, when the
room may no longer be free.

Bookmobile routes follow the same rule (``outreach.bookmobile.timetable``): an editor's
new route is a submitted draft; an editor's change to a published route, where every
change waits, is refused rather than held.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from outreach.errors import Invalid
from outreach.i18n import gettext as _
from outreach.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Event,
    EventStatus,
    Library,
    Occurrence,
    OccurrenceOverride,
    StaffUser,
)
from outreach.scheduling.recurrence import RuleError, parse_local
from outreach.scheduling.serialise import utc_iso

PUBLISHED = EventStatus.PUBLISHED.value


def asks_approval(library: Library) -> bool:
    return ApprovalPolicy(library.approval) != ApprovalPolicy.NONE


def check_publishing(library: Library, status: object, *, approver: bool) -> None:
    """Refuse to publish without approval where the library asks for it."""
    if status == PUBLISHED and not approver and asks_approval(library):
        raise Invalid(
            {
                "status": _(
                    "a director publishes events in this library: submit the draft for approval"
                )
            }
        )


def state_when_published(library: Library, status: object) -> ApprovalState:
    """The approval state of an event its writer (allowed to) sets to ``status``."""
    if status == PUBLISHED and asks_approval(library):
        return ApprovalState.APPROVED
    return ApprovalState.NOT_NEEDED


def holds_changes(library: Library, status: EventStatus | str) -> bool:
    """Whether a non-approver's change to an event of ``library`` in ``status`` waits for
    a director."""
    return (
        ApprovalPolicy(library.approval) == ApprovalPolicy.ALL_CHANGES
        and EventStatus(status) == EventStatus.PUBLISHED
    )


def change_needs_approval(event: Event) -> bool:
    """Whether a non-approver's change to this event waits for a director."""
    return holds_changes(event.library, event.status)


async def withdraw_pending(conn: BaseDBAsyncClient, event: Event, kind: ApprovalKind) -> None:
    """A new submission replaces the event's undecided one of the same kind."""
    await (
        ApprovalRequest.filter(event_id=event.id, kind=kind, decision=ApprovalDecision.PENDING)
        .using_db(conn)
        .update(decision=ApprovalDecision.WITHDRAWN, decided_at=dt.datetime.now(dt.UTC))
    )


async def withdraw_all_pending(conn: BaseDBAsyncClient, event: Event) -> None:
    """A cancelled event's undecided requests are withdrawn: nothing is left to publish."""
    await (
        ApprovalRequest.filter(event_id=event.id, decision=ApprovalDecision.PENDING)
        .using_db(conn)
        .update(decision=ApprovalDecision.WITHDRAWN, decided_at=dt.datetime.now(dt.UTC))
    )


# --- the one held change of an event -------------------------------------------------


def same_value(name: str, old: Any, new: Any) -> bool:
    """Whether a field's new JSON value says what its old one does."""
    if name in ("start", "end") and isinstance(old, str) and isinstance(new, str):
        try:
            return parse_local(old) == parse_local(new)
        except RuleError:
            return old == new
    if name == "tags" and isinstance(old, list) and isinstance(new, list):
        # A tag given without its strategy names the same goal as the stored one with it.
        def key(tag: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
            return tuple(sorted((k, v) for k, v in tag.items() if k != "strategy"))

        return [key(t) for t in old] == [key(t) for t in new]
    return bool(old == new)


def occurrence_state(occurrence: Occurrence, override: OccurrenceOverride | None) -> dict[str, Any]:
    """One occurrence as its held changes speak of it: its times and whether it is
    cancelled as the public sees them, and its own room, title and note (none: the
    series')."""
    return {
        "start": utc_iso(occurrence.starts_at),
        "end": utc_iso(occurrence.ends_at),
        "room": override.room_id if override is not None else None,  # type: ignore[attr-defined]
        "title": dict(override.title) if override is not None else {},
        "cancelled": occurrence.cancelled,
        "note": override.note if override is not None else "",
    }


def occurrence_change_json(changes: dict[str, Any]) -> dict[str, Any]:
    """A checked occurrence change (UTC instants) as it is kept in a request."""
    return {
        name: utc_iso(value) if isinstance(value, dt.datetime) else value
        for name, value in changes.items()
    }


def reduce_occurrence_change(values: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The part of a held occurrence change that differs from the occurrence now (its
    start and end stay together)."""
    kept = {
        name: value
        for name, value in values.items()
        if name not in ("start", "end") and value != now.get(name)
    }
    if "start" in values and (values["start"], values.get("end")) != (now["start"], now["end"]):
        kept["start"], kept["end"] = values["start"], values.get("end")
    return kept


async def pending_change(conn: BaseDBAsyncClient | None, event_id: int) -> ApprovalRequest | None:
    """The event's held change waiting for a director, if any."""
    return (
        await ApprovalRequest.filter(
            event_id=event_id, kind=ApprovalKind.CHANGE, decision=ApprovalDecision.PENDING
        )
        .using_db(conn)
        .order_by("-id")
        .first()
    )


async def occurrence_states(
    conn: BaseDBAsyncClient | None, event_id: int, starts: Iterable[str]
) -> dict[str, dict[str, Any] | None]:
    """The states of an event's occurrences by original start (UTC ISO); None for one no
    longer in the series."""
    wanted = {key: dt.datetime.fromisoformat(key) for key in starts}
    if not wanted:
        return {}
    occurrences = {
        utc_iso(o.original_start): o
        for o in await Occurrence.filter(
            event_id=event_id, original_start__in=list(wanted.values())
        ).using_db(conn)
    }
    overrides = {
        utc_iso(o.original_start): o
        for o in await OccurrenceOverride.filter(
            event_id=event_id, original_start__in=list(wanted.values())
        ).using_db(conn)
    }
    return {
        key: occurrence_state(occurrences[key], overrides.get(key)) if key in occurrences else None
        for key in wanted
    }


@dataclass(frozen=True)
class Stale:
    """What changed under a held change: event fields, and occurrences by original start."""

    fields: list[str]
    occurrences: list[str]

    def __bool__(self) -> bool:
        return bool(self.fields or self.occurrences)


async def stale_parts(
    conn: BaseDBAsyncClient | None, request: ApprovalRequest, event_now: dict[str, Any]
) -> Stale:
    """The parts of a held change whose published version changed since it was held
    (``event_now``: the event's fields as JSON, :func:`outreach.scheduling.serialise.data_json`)."""
    base = request.base or {}
    held_fields = base.get("event", {})
    fields = sorted(
        name
        for name in request.changes
        if name in held_fields and not same_value(name, held_fields[name], event_now.get(name))
    )
    held_occurrences = base.get("occurrences", {})
    states = await occurrence_states(conn, request.event_id, (request.occurrences or {}).keys())  # type: ignore[attr-defined]
    occurrences = sorted(
        key
        for key, state in states.items()
        if state is None or (key in held_occurrences and state != held_occurrences[key])
    )
    return Stale(fields, occurrences)


async def save_held(
    conn: BaseDBAsyncClient,
    event: Event,
    pending: ApprovalRequest | None,
    *,
    changes: dict[str, Any],
    occurrences: dict[str, dict[str, Any]],
    event_now: dict[str, Any],
    user: StaffUser | None,
) -> ApprovalRequest | None:
    """Hold an already checked change to a published event for a director, amending the
    pending one; with nothing left that differs from the published event, the pending
    one is withdrawn and None returned.

    ``changes``: the event's fields that differ (PATCH body); ``occurrences``: the
    changes of single occurrences by original start; ``event_now``: the event's fields
    now, as JSON.
    """
    now = dt.datetime.now(dt.UTC)
    library_id: int = event.library_id  # type: ignore[attr-defined]
    if not changes and not occurrences:
        if pending is not None:
            await withdraw(conn, pending, user, now)
        return None
    old_base = (pending.base or {}) if pending is not None else {}
    states = await occurrence_states(conn, event.id, occurrences)
    base = {
        "event": {
            name: old_base.get("event", {}).get(name, event_now.get(name)) for name in changes
        },
        "occurrences": {
            key: old_base.get("occurrences", {}).get(key, states[key]) for key in occurrences
        },
    }
    if pending is None:
        request = await ApprovalRequest.create(
            event=event,
            library_id=library_id,
            kind=ApprovalKind.CHANGE,
            changes=changes,
            occurrences=occurrences,
            base=base,
            editors=[user.id] if user is not None else [],
            revision=event.revision,
            submitted_by=user,
            submitted_at=now,
            using_db=conn,
        )
        action = "submit_change"
    else:
        request = pending
        request.changes = changes
        request.occurrences = occurrences
        request.base = base
        editors = list(request.editors or [])
        if user is not None and user.id not in editors:
            editors.append(user.id)
        request.editors = editors
        request.revision = event.revision
        request.amended_at = now
        await request.save(using_db=conn)
        action = "amend_change"
    await AuditEntry.record(
        conn,
        user=user,
        library_id=library_id,
        action=action,
        entity="event",
        entity_id=event.id,
        changes={"approval_request": request.id, "changes": changes, "occurrences": occurrences},
    )
    return request


async def withdraw(
    conn: BaseDBAsyncClient,
    request: ApprovalRequest,
    user: StaffUser | None,
    now: dt.datetime | None = None,
) -> None:
    """Withdraw an undecided request (audited): nothing of it is published."""
    now = now or dt.datetime.now(dt.UTC)
    request.decision = ApprovalDecision.WITHDRAWN
    request.decided_at = now
    await request.save(using_db=conn, update_fields=["decision", "decided_at"])
    await AuditEntry.record(
        conn,
        user=user,
        library_id=request.library_id,  # type: ignore[attr-defined]
        action="withdraw",
        entity="event",
        entity_id=request.event_id,  # type: ignore[attr-defined]
        changes={"approval_request": request.id, "kind": request.kind.value},
    )


async def drop_occurrence(
    conn: BaseDBAsyncClient, event: Event, original_start: dt.datetime, user: StaffUser | None
) -> None:
    """A cancelled occurrence's held change is moot: it leaves the pending request (which
    is withdrawn if nothing else is left in it)."""
    pending = await pending_change(conn, event.id)
    key = utc_iso(original_start)
    if pending is None or key not in (pending.occurrences or {}):
        return
    occurrences = {k: v for k, v in (pending.occurrences or {}).items() if k != key}
    if not pending.changes and not occurrences:
        await withdraw(conn, pending, user, dt.datetime.now(dt.UTC))
        return
    pending.occurrences = occurrences
    pending.base = {
        **(pending.base or {}),
        "occurrences": {
            k: v for k, v in (pending.base or {}).get("occurrences", {}).items() if k != key
        },
    }
    await pending.save(using_db=conn, update_fields=["occurrences", "base"])
