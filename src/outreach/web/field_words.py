"""Where in what was sent a problem is, said as a person names it.

The API names a problem's place by its path (``stops[2].lat``, ``title.fi``,
``[0].goal``), which clients read and JSON answers keep. A page says the same place in
the reader's language: a list's entry by its number ("vnos 3"), a translation by its
language ("Finščina"), a field by its label where it has one, and never the API's own
code for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from babel import Locale, UnknownLocaleError

from outreach import i18n
from outreach.i18n import gettext as _
from outreach.labels import event_field_labels

# One step of a path: an entry of a list (``[2]``) or a field's name (``lat``).
_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# Between the steps of one place, from the outside in ("Stops › entry 3 › Latitude").
SEPARATOR = " › "


def steps(path: str) -> list[int | str]:
    """The steps of a path: ``stops[2].lat`` → ``["stops", 2, "lat"]``."""
    return [int(entry) if entry else name for entry, name in _STEP.findall(path) if entry or name]


def where(path: str, labels: Mapping[str, str]) -> list[str]:
    """The place ``path`` names, a word or two per step the reader can know it by: an entry
    by its number, a field by its label in ``labels``, the part of a field named by a
    language code (``title.fi``) by that language's name. A step with none of these is
    left out (a message naming the goal or the room already says which one it is)."""
    words: list[str] = []
    after_field = False
    for step in steps(path):
        if isinstance(step, int):
            words.append(_("entry %(number)s", number=i18n.format_number(step + 1)))
        elif step in labels:
            words.append(labels[step])
        elif after_field and _LANGUAGE.match(step):
            language = _language_name(step)
            if language:
                words.append(language)
        after_field = isinstance(step, str)
    return words


def said(path: str, problem: str, labels: Mapping[str, str]) -> str:
    """``problem`` after the words of its place (``Stops › entry 3 › Latitude: …``), or
    alone where its path has none a reader would know."""
    place = SEPARATOR.join(where(path, labels))
    return _("%(field)s: %(problem)s", field=place, problem=problem) if place else problem


def each_said(fields: Mapping[str, str]) -> list[str]:
    """Every field's problem after its place in words (:func:`said`, by
    :func:`field_labels`), in the page's language: a line each."""
    labels = field_labels()
    return [said(path, problem, labels) for path, problem in fields.items()]


def field_labels() -> dict[str, str]:
    """The labels the pages give the fields of the API's bodies and queries, in the page's
    language, for a problem no page places beside its own field."""
    return {
        **event_field_labels(),
        "start": _("Start"),
        "end": _("End"),
        "from": _("From"),
        "to": _("To"),
        "library": _("Library"),
        "strategy": _("Strategy"),
        "value": _("Value"),
        "goal": _("Goal"),
        "note": _("Note"),
        "comment": _("Comment"),
        "name": _("Name"),
        "address": _("Address"),
        "postcode": _("Postcode"),
        "email": _("Email address"),
        "party_size": _("People"),
        "day": _("Day"),
        "route": _("Route"),
        "vehicle": _("Vehicle"),
        "stops": _("Stops"),
        "stop": _("Stop"),
        "lat": _("Latitude"),
        "lon": _("Longitude"),
        "arrival": _("Arrival time"),
        "minutes_parked": _("Minutes parked"),
        "items": _("Items"),
        "km": _("Kilometres"),
    }


def _language_name(code: str) -> str:
    """A language's name in the page's language, capitalised as a label ("Finščina")."""
    try:
        name = Locale.parse(code).get_display_name(i18n.locale())
    except (ValueError, UnknownLocaleError):
        return ""
    return name[:1].upper() + name[1:] if name else ""
