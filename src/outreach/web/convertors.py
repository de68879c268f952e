"""Path convertors: ``{name:id}`` and ``{name:slug}``, registered when ``outreach.web``
is imported (before any route is made).

An id is 1 to 2³¹-1 (the INTEGER column) in ASCII digits: ``/api/routes/²``, ``/api/routes/0``
or a twenty-digit id match no route (404) instead of failing in ``int()`` or the database.
A slug is what slugs are: an 8,000-character one matches nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.convertors import Convertor, register_url_convertor

from outreach.schemas import MAX_ID, SLUG_PATTERN

# 1 … 2147483647 without leading zeros, in ASCII digits only.
_ID_REGEX = (
    "(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
    "|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
    "|21474836[0-3][0-9]|214748364[0-7])"
)


class IdConvertor(Convertor[int]):
    """A row id: 1 to 2³¹-1 (the INTEGER column), ASCII digits, no leading zero."""

    regex = _ID_REGEX
    schema: ClassVar[dict[str, Any]] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        assert 1 <= value <= MAX_ID
        return str(value)


class SlugConvertor(Convertor[str]):
    """A slug: lower-case ASCII letters, digits and hyphens, at most 64 characters."""

    regex = SLUG_PATTERN.strip("^$")
    schema: ClassVar[dict[str, Any]] = {"type": "string", "pattern": SLUG_PATTERN}

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("id", IdConvertor())
register_url_convertor("slug", SlugConvertor())
# The JSON Schema of a path parameter, by the name of its convertor.
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": IdConvertor.schema,
    "slug": SlugConvertor.schema,
}
