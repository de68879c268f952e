"""What the domain refuses, in its own terms: the web layer gives each kind its status.

Domain packages (``scheduling``, ``feeds``, ``reports``, ``bookmobile``) raise these and
never import ``outreach.web``; :mod:`outreach.web.errors` answers them as HTTP (422,
404, 409) and pages show their messages.
"""

from __future__ import annotations


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
