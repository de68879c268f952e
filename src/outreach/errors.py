"""What the domain refuses, in its own terms: the web layer gives each kind its status.

Domain packages (``scheduling``, ``feeds``, ``reports``, ``bookmobile``) raise these and
never import ``outreach.web``; :mod:`outreach.web.errors` answers them as HTTP (422,
404, 409) and pages show their messages.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Every stable code the service gives beside a problem's words (an error body's
    ``codes``, by field), for a client or a form to match instead of the words, which are
    in the reader's language. The one list of them: ``/openapi.json`` lists these."""

    # A stop is reached before the visit to the stop before it ends.
    OVERLAP = "overlap"
    # A visit runs past midnight.
    PAST_MIDNIGHT = "past_midnight"
    # The first run's day is not a day of the route's rule.
    OFF_RULE = "off_rule"
    # The last day lies before the first run.
    ENDS_BEFORE_START = "ends_before_start"
    # Another route of the library has the code.
    CODE_TAKEN = "code_taken"
    # A stop given by id is not a stop of the route.
    FOREIGN_STOP = "foreign_stop"
    # A stop is given twice.
    STOP_TWICE = "stop_twice"
    # The route has no run on the day to cancel.
    NO_RUN = "no_run"
    # The vehicle is on another route then.
    VEHICLE_BUSY = "vehicle_busy"
    # Only a director may make the change.
    APPROVAL_NEEDED = "approval_needed"
    # A moved occurrence would be at the very instants of another of its own event.
    OCCURRENCE_COINCIDES = "occurrence_coincides"


class DomainError(Exception):
    """A refusal with a message and, where it helps, the problem of each field."""

    def __init__(
        self,
        error: str,
        *,
        fields: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.fields = fields or {}
        self.extra = extra or {}

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.error}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class Invalid(DomainError):
    """The input is wrong: each field at fault says why."""

    def __init__(self, fields: dict[str, str], error: str = "invalid input") -> None:
        super().__init__(error, fields=fields)


class NotFound(DomainError):
    """The thing asked for does not exist (or is not to be seen)."""

    def __init__(self, what: str, *, message: str | None = None) -> None:
        # ``message``: what a person reads instead, already in the page's language.
        super().__init__(message or f"{what} not found")
        # What was not found, for a page that says so in its reader's words.
        self.what = what
        self.message = message


class Conflict(DomainError):
    """The write would clash with what is stored: a double booking, a stale revision."""
