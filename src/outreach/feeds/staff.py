"""A staff member's private feed: their assignments and the internal events they may see.

Reached only through a secret URL (``outreach.models.StaffFeed`` keeps its SHA-256): the
events an assignment or an internal event of one of the user's libraries brings in are
never in a public feed. Drafts are left out (nothing is happening yet), as are events
cancelled before they were ever published.
"""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q, Subquery

from outreach import i18n
from outreach.feeds import ical
from outreach.feeds.selection import Window, load_series
from outreach.i18n import gettext as _
from outreach.models import (
    ApprovalState,
    Event,
    EventStatus,
    Library,
    Occurrence,
    Role,
    StaffFeed,
    StaffUser,
    Visibility,
)
from outreach.security import hash_token, new_token
from outreach.settings import Settings

_HELD = (EventStatus.PUBLISHED.value, EventStatus.CANCELLED.value)
_APPROVED = (ApprovalState.NOT_NEEDED.value, ApprovalState.APPROVED.value)


async def issue(user: StaffUser) -> str:
    """A new secret for the user's feed, shown once: any earlier one stops working."""
    token = new_token()
    await StaffFeed.filter(user_id=user.id).delete()
    await StaffFeed.create(user=user, prefix=token.prefix, token_hash=token.digest)
    return token.secret


async def revoke(user: StaffUser) -> bool:
    """Whether the user had a feed (it no longer answers)."""
    return await StaffFeed.filter(user_id=user.id).delete() > 0


async def holder(secret: str) -> StaffUser | None:
    """The active user whose feed ``secret`` opens, or None."""
    if not 1 <= len(secret) <= 200:
        return None
    feed = await StaffFeed.filter(token_hash=hash_token(secret)).prefetch_related("user").first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


async def _library_ids(user: StaffUser) -> list[int]:
    roles = await Role.filter(user_id=user.id)
    ids = {r.library_id for r in roles if r.library_id is not None}  # type: ignore[attr-defined]
    networks = [r.network_id for r in roles if r.network_id is not None]  # type: ignore[attr-defined]
    if networks:
        ids |= {lib.id for lib in await Library.filter(network_id__in=networks)}
    return sorted(ids)


async def event_ids(user: StaffUser, window: Window) -> list[int]:
    """Events in the feed: assigned to the user, or internal in one of their libraries;
    held (published, or cancelled after publication), approved, with an occurrence in
    the window."""
    libraries = await _library_ids(user)
    mine = Q(staff__id=user.id) | Q(visibility=Visibility.INTERNAL, library_id__in=libraries or [0])
    held = Q(status__in=_HELD, published_at__isnull=False, approval__in=_APPROVED)
    occurring = Occurrence.filter(starts_at__lt=window.end, ends_at__gt=window.start)
    query = Event.filter(mine, held, id__in=Subquery(occurring.values("event_id")))
    return sorted(set(await query.values_list("id", flat=True)))  # type: ignore[arg-type]


async def build(user: StaffUser, settings: Settings, *, day: dt.date, lang: str) -> bytes:
    """The feed's bytes for the window of ``day``."""
    window = Window.for_day(settings, day)
    series = await load_series(await event_ids(user, window))
    host = ical.host_of(settings.base_url)
    with i18n.speaking(lang):
        description = _("Your assignments and the internal events of your libraries.")
    cal = ical.calendar(
        name=f"{user.name} · Outreach",
        uid=f"outreach-staff-{user.id}@{host}",
        description=description,
    )
    components = [
        component
        for one in series
        for component in ical.series_components(one, lang=lang, base_url=settings.base_url)
    ]
    first = ical.first_day(series, window.start.date())
    return ical.serialise(cal, components, zones=ical.zones_of(series), first=first)
