"""What patrons read for the codes events are stored with (kinds, audiences), and what
staff read for an event's fields, in the language the page or mail is being written in
(:mod:`outreach.i18n`)."""

from __future__ import annotations

from outreach.i18n import gettext as _
from outreach.models import Audience, EventKind


def kind_label(kind: EventKind) -> str:
    """The kind of event in words (``workshop`` → "Workshop", "Delavnica", …)."""
    match kind:
        case EventKind.WORKSHOP:
            return _("Workshop")
        case EventKind.LECTURE:
            return _("Lecture")
        case EventKind.EXHIBITION:
            return _("Exhibition")
        case EventKind.READING:
            return _("Reading and literacy")
        case EventKind.DEMOCRACY:
            return _("Democracy and civic life")
        case EventKind.AUTHOR_VISIT:
            return _("Author visit")
        case EventKind.CLUB:
            # Translators: a regular group that meets at the library (book club, chess club).
            return _("Club")
        case EventKind.STORYTIME:
            return _("Storytime")
        case EventKind.STAFF_TRAINING:
            return _("Staff training")
        case EventKind.PEER_LEARNING:
            return _("Peer learning")
        case EventKind.OUTREACH_VISIT:
            return _("Outreach visit")
        case EventKind.DIGITAL_SKILLS:
            return _("Digital skills")
        case EventKind.BOOKMOBILE:
            return _("Bookmobile")


def event_field_labels() -> dict[str, str]:
    """An event's fields by the names the event form gives them; the form and the
    approval notices add their own words for its times and rule."""
    return {
        "kind": _("Kind"),
        "title": _("Title"),
        "description": _("Description"),
        "timezone": _("Time zone"),
        "exdates": _("Excluded dates"),
        "branch": _("Branch"),
        "room": _("Room"),
        "place": _("Off-site place"),
        "audiences": _("Audiences"),
        "languages": _("Languages"),
        "format": _("Format"),
        "online_url": _("Online link"),
        "capacity": _("Capacity"),
        "partners": _("Partners"),
        "co_organisers": _("Co-organising libraries"),
        "staff": _("Assigned staff"),
        "tags": _("Values and goals"),
        "visibility": _("Visibility"),
        "status": _("Status"),
    }


def audience_label(audience: Audience) -> str:
    """Who an event is for, in words (``6-11`` → "Ages 6–11")."""
    match audience:
        case Audience.AGES_0_5:
            return _("Ages 0–5")
        case Audience.AGES_6_11:
            return _("Ages 6–11")
        case Audience.AGES_12_18:
            return _("Ages 12–18")
        case Audience.ADULTS:
            return _("Adults")
        case Audience.ALL_AGES:
            return _("All ages")
        case Audience.FAMILIES:
            return _("Families")
        case Audience.SENIORS:
            return _("Seniors")
        case Audience.STAFF:
            # Translators: the library's own staff, as the audience of an internal event.
            return _("Staff")
