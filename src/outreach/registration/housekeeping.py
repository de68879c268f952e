"""What happens to registrations without anyone asking: notices when staff move or cancel
an occurrence, reminders before it, and erasure of personal data after it.

:func:`snapshot` and :func:`schedule_changed` are called by the scheduling service inside
the transaction of the change (before and after it rebuilds the occurrences), so the
notices commit or roll back with the change. :func:`sweep` runs in the app's lifespan
every minute (and from ``outreach registrations sweep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach.models import Event, EventStatus, Occurrence, Registration, RegistrationStatus
from outreach.registration.config import current
from outreach.registration.notices import When, send
from outreach.registration.service import ACTIVE, erase_rows, link_expiry, lock, promote, when_of
from outreach.scheduling.conflicts import begin_write
from outreach.sql import fetch

log = logging.getLogger("outreach.registration")
Snapshot = dict[dt.datetime, When]


async def snapshot(conn: BaseDBAsyncClient, event_id: int) -> Snapshot | None:
    """The event's occurrences as they stand, if anyone holds a registration (else None:
    nothing to compare)."""
    taken = (
        await Registration.filter(event_id=event_id, status__in=list(ACTIVE))
        .using_db(conn)
        .exists()
    )
    if not taken:
        return None
    rows = await Occurrence.filter(event_id=event_id, stop_id=None).using_db(conn)
    return {
        o.original_start: When(o.original_start, o.starts_at, o.ends_at, o.room_id, o.cancelled)  # type: ignore[attr-defined]
        for o in rows
    }


async def schedule_changed(
    conn: BaseDBAsyncClient,
    event: Event,
    before: Snapshot | None,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Tell every registered party whose occurrence moved, changed room or was cancelled
    (or vanished from the rule); cancelled occurrences' registrations are cancelled."""
    if before is None:
        return
    now = now or dt.datetime.now(dt.UTC)
    policy = await lock(conn, event.id)
    after = {
        o.original_start: When(o.original_start, o.starts_at, o.ends_at, o.room_id, o.cancelled)  # type: ignore[attr-defined]
        for o in await Occurrence.filter(event_id=event.id, stop_id=None).using_db(conn)
    }
    event_cancelled = event.status == EventStatus.CANCELLED
    registrations = (
        await Registration.filter(event_id=event.id, status__in=list(ACTIVE))
        .using_db(conn)
        .select_related("library")
    )
    for registration in registrations:
        key = registration.original_start
        coming = sorted(s for s, was in before.items() if was.ends_at > now)
        if key is None:
            # A series registration hears of the first of its coming dates that changed.
            changed = [s for s in coming if after.get(s) != before[s]]
            if not changed and not event_cancelled:
                continue
            start = changed[0] if changed else (coming[0] if coming else None)
        else:
            start = key if key in coming else None
            if start is not None and after.get(start) == before[start] and not event_cancelled:
                continue
        if start is None:
            continue
        old, new = before[start], after.get(start)
        date_gone = event_cancelled or new is None or new.cancelled
        shown = new if new is not None else old
        if date_gone:
            shown = When(shown.original_start, shown.starts_at, shown.ends_at, shown.room_id, True)
        if event_cancelled or (date_gone and key is not None):
            registration.status = RegistrationStatus.CANCELLED
            registration.decided_at = registration.updated_at = now
            await registration.save(
                using_db=conn, update_fields=["status", "decided_at", "updated_at"]
            )
        template = "occurrence_cancelled" if date_gone else "occurrence_changed"
        await send(
            conn,
            template,
            registration,
            event,
            shown,
            key=f"{template}:{registration.id}:{event.revision}",
            link_expires=await link_expiry(conn, registration, now),
            attach=True,
            extra={"was_start": old.starts_at, "was_end": old.ends_at},
        )
    # A larger room may have freed places.
    if not event_cancelled:
        for start in {r.original_start for r in registrations}:
            if start is None or (start in after and not after[start].cancelled):
                await promote(conn, event, policy, start, now)


_DUE_REMINDERS = """
SELECT r.id AS id, o.starts_at AS starts_at
FROM registration r
JOIN occurrence o ON o.event_id = r.event_id AND o.stop_id IS NULL
  AND (o.original_start = r.original_start OR r.original_start IS NULL)
WHERE r.status = 'confirmed' AND r.email IS NOT NULL AND NOT o.cancelled
  AND o.starts_at > :now AND o.starts_at <= :until
ORDER BY o.starts_at, r.id
LIMIT 500
"""

# Registrations whose last occurrence ended more than the kept days ago (or whose event
# lost every occurrence, a rule change, and so has none to wait for).
_DUE_ERASURE = """
SELECT r.id AS id
FROM registration r
WHERE r.erased_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM occurrence o
    WHERE o.event_id = r.event_id AND o.stop_id IS NULL AND o.ends_at >= :before
      AND (r.original_start IS NULL OR o.original_start = r.original_start)
)
ORDER BY r.id
LIMIT 1000
"""


async def send_reminders(now: dt.datetime | None = None) -> int:
    """Write the reminders now due (each once per registration and start)."""
    now = now or dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(hours=current().reminder_hours)
    written = 0
    rows = await fetch(_DUE_REMINDERS, {"now": now, "until": until})
    for row in rows:
        async with in_transaction("default") as conn:
            await begin_write(conn)
            registration = (
                await Registration.filter(id=row["id"], status=RegistrationStatus.CONFIRMED)
                .using_db(conn)
                .select_related("library", "event")
                .first()
            )
            if registration is None or registration.email is None:
                continue
            when = await when_of(conn, registration, now)
            if when is None:
                continue
            written += await send(
                conn,
                "registration_reminder",
                registration,
                registration.event,
                when,
                key=f"reminder:{registration.id}:{when.starts_at.isoformat()}",
                link_expires=await link_expiry(conn, registration, now),
                attach=True,
            )
    return written


async def erase_due(now: dt.datetime | None = None) -> int:
    """Erase the personal data of every registration past its kept days; counts stay."""
    now = now or dt.datetime.now(dt.UTC)
    before = now - current().erase_after
    rows = await fetch(_DUE_ERASURE, {"before": before})
    ids = [int(r["id"]) for r in rows]
    if not ids:
        return 0
    async with in_transaction("default") as conn:
        await begin_write(conn)
        erased = await erase_rows(conn, ids, now)
    log.info("erased the personal data of %s registration(s)", erased)
    return erased


async def sweep(now: dt.datetime | None = None) -> tuple[int, int]:
    """Reminders due and erasures due: (reminders written, registrations erased)."""
    return await send_reminders(now), await erase_due(now)


async def run(stop: asyncio.Event, every: float = 60.0) -> None:
    """:func:`sweep` every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            await sweep()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("registration sweep paused: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
