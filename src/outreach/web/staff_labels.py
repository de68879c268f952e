"""What staff read for the codes events and people are stored with, in the page's language.

Kinds and audiences are the patrons' words (:mod:`outreach.labels`); the rest are the
staff pages' own: statuses, visibility, formats, roles, age bands, attendance modes and
the scopes of a conflict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outreach import i18n
from outreach.i18n import gettext as _
from outreach.i18n import pgettext
from outreach.labels import audience_label, kind_label
from outreach.models import (
    AgeBand,
    AttendanceMode,
    Audience,
    EventFormat,
    EventKind,
    EventStatus,
    RoleName,
    Visibility,
)


def status_label(status: EventStatus | str) -> str:
    match EventStatus(status):
        case EventStatus.DRAFT:
            return pgettext("event status", "draft")
        case EventStatus.PUBLISHED:
            return pgettext("event status", "published")
        case EventStatus.CANCELLED:
            return pgettext("event status", "cancelled")


def visibility_label(visibility: Visibility | str) -> str:
    match Visibility(visibility):
        case Visibility.PUBLIC:
            return pgettext("event visibility", "public")
        case Visibility.INTERNAL:
            # Translators: an event for the library's staff only, never in public feeds.
            return pgettext("event visibility", "internal")


def format_label(value: EventFormat | str) -> str:
    match EventFormat(value):
        case EventFormat.IN_PERSON:
            return _("in person")
        case EventFormat.ONLINE:
            return _("online")
        case EventFormat.HYBRID:
            return _("hybrid (in person and online)")


def role_label(role: RoleName | str) -> str:
    match RoleName(role):
        case RoleName.EDITOR:
            return _("editor")
        case RoleName.DIRECTOR:
            return _("director")
        case RoleName.ADMIN:
            return _("administrator")
        case RoleName.COORDINATOR:
            return _("network coordinator")


def age_band_label(band: AgeBand | str) -> str:
    match AgeBand(band):
        case AgeBand.AGES_0_5:
            return _("Ages 0–5")
        case AgeBand.AGES_6_11:
            return _("Ages 6–11")
        case AgeBand.AGES_12_18:
            return _("Ages 12–18")
        case AgeBand.ADULTS:
            return _("Adults")
        case AgeBand.UNKNOWN:
            return _("Age not known")


def mode_label(mode: AttendanceMode | str) -> str:
    match AttendanceMode(mode):
        case AttendanceMode.ON_SITE:
            return _("on site")
        case AttendanceMode.ONLINE:
            return _("online")


@dataclass(frozen=True)
class Labels:
    """The label functions, handed to staff templates as ``label``."""

    def kind(self, kind: EventKind | str) -> str:
        return kind_label(EventKind(kind))

    def audience(self, audience: Audience | str) -> str:
        return audience_label(Audience(audience))

    def status(self, status: EventStatus | str) -> str:
        return status_label(status)

    def visibility(self, visibility: Visibility | str) -> str:
        return visibility_label(visibility)

    def format(self, value: EventFormat | str) -> str:
        return format_label(value)

    def role(self, role: RoleName | str) -> str:
        return role_label(role)

    def age_band(self, band: AgeBand | str) -> str:
        return age_band_label(band)

    def mode(self, mode: AttendanceMode | str) -> str:
        return mode_label(mode)


LABELS = Labels()


def moment(value: dt.datetime) -> str:
    """A local date and time as staff read it: weekday, date and 24-hour time in the
    page's language ("Tue, Dec 8, 2026, 16:30", "tor., 8. dec. 2026, 16:30")."""
    locale = i18n.locale()
    day = i18n.format_skeleton(value, "yMMMEd")
    clock = i18n.format_skeleton(value, "Hm")
    return str(locale.datetime_formats["medium"]).format(clock, day)
