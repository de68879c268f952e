"""The building blocks of declared inputs (pydantic v2): text a database can store, bounded
numbers and days, choices, and the translation of a failed validation into :class:`Invalid`.

Every field type here checks in strict mode (``true`` is not a number, ``"5"`` is not an
integer), says what is wrong in the words the API has always used, and gives its JSON Schema
to ``/openapi.json``. Problems are named as the API names fields: ``title.sl``,
``audiences[0]``, ``place.lat``, ``counts[2].count``; every field at fault at once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic_core import PydanticCustomError, core_schema

from outreach.errors import Invalid
from outreach.i18n import gettext as _
from outreach.i18n import lazy_gettext

MAX_ID = 2**31 - 1
# Years that a day in a query may name: converting a day near year 1 or 9999 between time
# zones (or adding a day to it) overflows.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
# Characters no text field may hold: C0 controls other than tab, line feed and carriage
# return (PostgreSQL refuses a NUL; a terminal or a feed misreads the rest).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

M = TypeVar("M", bound=BaseModel)


def shown(text: object, limit: int = 64) -> str:
    """User text safe to echo in an error: cut short, lone surrogates escaped."""
    return str(text)[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def problem(kind: str, message: str) -> PydanticCustomError:
    """A validation problem whose message is ours, word for word."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def problem_at(field: str, message: str) -> PydanticCustomError:
    """A problem a model finds with one of its own fields (named after the model's place)."""
    return PydanticCustomError(
        "at", message.replace("{", "{{").replace("}", "}}"), {"field": field}
    )


def text_problem(value: str, *, limit: int | None = None) -> str | None:
    """Why ``value`` cannot be stored as text (too long, a control character, a lone
    surrogate), or None."""
    if limit is not None and len(value) > limit:
        return _("must be at most %(limit)s characters", limit=limit)
    if _CONTROL.search(value):
        return _("must not contain control characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" or a query
            return _("must be valid Unicode text")
    return None


_DECIMAL = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,12})?")


class _Field:
    """A field type of our own: a plain validator with our messages and its JSON Schema."""

    def validate(self, value: Any) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return self.json_schema()


@dataclass(frozen=True)
class Text(_Field):
    """A string of at most ``limit`` characters that a database can store (optionally
    matching ``pattern``; ``what`` then says what it must be)."""

    limit: int
    pattern: str | None = None
    what: str = ""

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise problem("string", _("must be a string"))
        found = text_problem(value, limit=self.limit)
        if found is not None:
            raise problem("text", found)
        if self.pattern is not None and not re.match(self.pattern, value):
            raise problem("pattern", _("must be %(what)s", what=_(self.what)))
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.limit, "pattern": self.pattern or TEXT_PATTERN}


@dataclass(frozen=True)
class Whole(_Field):
    """A whole number from ``low`` to ``high`` (``true``, ``1.0`` and ``"1"`` are not)."""

    low: int
    high: int

    def validate(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise problem("int", _("must be a whole number"))
        if not self.low <= value <= self.high:
            raise problem(
                "between", _("must be between %(low)s and %(high)s", low=self.low, high=self.high)
            )
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Tally(_Field):
    """A count of people: a whole number from 0 to ``high``."""

    high: int

    def validate(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise problem("int", _("must be a whole number"))
        if value < 0:
            raise problem("between", _("must not be negative"))
        if value > self.high:
            raise problem("between", _("must be at most %(high)s", high=self.high))
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": self.high}


@dataclass(frozen=True)
class Number(_Field):
    """A finite number from ``low`` to ``high``."""

    low: float
    high: float
    message: str = ""

    def validate(self, value: Any) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise problem("number", _(self.message) if self.message else _("must be a number"))
        number = float(value)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            raise problem(
                "between",
                _(self.message)
                if self.message
                else _(
                    "must be between %(low)s and %(high)s",
                    low=format(self.low, "g"),
                    high=format(self.high, "g"),
                ),
            )
        return number

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Coordinate(_Field):
    """A number in a query string (ASCII decimal digits, e.g. 46.5575) from ``low`` to ``high``."""

    low: float
    high: float

    def validate(self, value: Any) -> float:
        if isinstance(value, str) and _DECIMAL.fullmatch(value):
            number = float(value)
            if self.low <= number <= self.high:
                return number
        raise problem(
            "number",
            _(
                "must be a number between %(low)s and %(high)s",
                low=format(self.low, "g"),
                high=format(self.high, "g"),
            ),
        )

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class OneOf(_Field):
    """One of ``values``."""

    values: tuple[str, ...]

    def validate(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise problem("choice", _("must be one of %(values)s", values=", ".join(self.values)))
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values)}


@dataclass(frozen=True)
class Day(_Field):
    """An ISO 8601 day (2025-01-31), within the years a time zone can convert."""

    example: str = "2025-01-31"

    def validate(self, value: Any) -> dt.date:
        if isinstance(value, str) and len(value) == 10 and value.isascii():
            try:
                parsed = dt.date.fromisoformat(value)
            except ValueError:
                pass
            else:
                if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
                    raise problem(
                        "between",
                        _(
                            "must be between %(low)s and %(high)s",
                            low=EARLIEST_YEAR,
                            high=LATEST_YEAR,
                        ),
                    )
                return parsed
        raise problem("date", _("must be a date such as %(example)s", example=self.example))

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


@dataclass(frozen=True)
class Count(_Field):
    """A whole number in a query string (ASCII digits) from ``low`` to ``high``."""

    low: int
    high: int
    message: str = ""

    def validate(self, value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value):
            number = int(value)
            if self.low <= number <= self.high:
                return number
        raise problem(
            "count",
            _(self.message, low=self.low, high=self.high)
            if self.message
            else _("must be a whole number from %(low)s to %(high)s", low=self.low, high=self.high),
        )

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


class Declared(BaseModel):
    """A declared input: unknown fields are refused; ``what`` names it in messages."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    what: typing.ClassVar[str] = "the input"
    # Fields that exist in answers but cannot be written: "is read-only", not "unknown".
    read_only: typing.ClassVar[tuple[str, ...]] = ()
    # What an unknown field is told, when "is not a field of {what}" is not the word.
    unknown: typing.ClassVar[str] = ""
    # A clearer word than "is required" for a missing field.
    required: typing.ClassVar[dict[str, str]] = {}


class Answer(BaseModel):
    """A declared answer: it documents what the API sends, and stays open to fields added
    later (clients ignore what they do not know)."""

    model_config = ConfigDict(extra="allow")


# Worded when a problem is read, in the language of the page that asked.
_MESSAGES = {
    "missing": lazy_gettext("is required"),
    "int_type": lazy_gettext("must be a whole number"),
    "int_parsing": lazy_gettext("must be a whole number"),
    "int_from_float": lazy_gettext("must be a whole number"),
    "float_type": lazy_gettext("must be a number"),
    "float_parsing": lazy_gettext("must be a number"),
    "bool_type": lazy_gettext("must be true or false"),
    "bool_parsing": lazy_gettext("must be true or false"),
    "string_type": lazy_gettext("must be a string"),
    "list_type": lazy_gettext("must be a list"),
    "dict_type": lazy_gettext("must be an object"),
    "model_type": lazy_gettext("must be an object"),
    "model_attributes_type": lazy_gettext("must be an object"),
}


def name_of(loc: Sequence[int | str]) -> str:
    """The API's name of a place in the input: ``counts[2].count``."""
    name = ""
    for part in loc:
        if part == "[key]":  # pydantic's mark for the key itself of a mapping
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + shown(part, 80)
    return name or "body"


def _inner(annotation: Any) -> Any:
    """The model or list inside ``Annotated[...]`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else annotation
            if len(options) != 1:
                return annotation
        else:
            return annotation


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The declared model that holds the last part of ``loc``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = get_args(_inner(current))
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else None
        else:
            return None
        current = _inner(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _message(model: type[BaseModel], error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        holder = _model_at(model, error["loc"][:-1]) or model
        name = error["loc"][-1]
        if issubclass(holder, Declared):
            if name in holder.read_only:
                return _("is read-only")
            # The API's words: the pages send only their forms' own fields.
            return _(holder.unknown) if holder.unknown else f"is not a field of {holder.what}"
        return _("is not a field")
    if kind == "missing":
        holder = _model_at(model, error["loc"][:-1]) or model
        if issubclass(holder, Declared) and error["loc"][-1] in holder.required:
            return _(holder.required[error["loc"][-1]])
    if kind in _MESSAGES:
        return str(_MESSAGES[kind])
    if kind in ("too_long", "too_short") and "max_length" in error.get("ctx", {}):
        return _("must have at most %(count)s items", count=error["ctx"]["max_length"])
    if kind == "value_error":
        return str(error["ctx"]["error"])
    return str(error["msg"])


def problems_of(model: type[BaseModel], exc: ValidationError) -> dict[str, str]:
    """Field → problem for every field at fault (the first problem of a field wins)."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        if error["type"] == "at":
            loc = (*loc, error["ctx"]["field"])
        found.setdefault(name_of(loc), _message(model, error))
    return found


def _unencodable_keys(
    value: object, found: dict[str, str], loc: tuple[int | str, ...] = ()
) -> object:
    """``value`` without the keys that hold a lone surrogate (a JSON "\\ud800" decodes to
    one), each named in ``found``: pydantic cannot name such a key itself."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if isinstance(key, str) and text_problem(key) == _("must be valid Unicode text"):
                found[name_of((*loc, key))] = _("must be valid Unicode text")
            else:
                kept[key] = _unencodable_keys(item, found, (*loc, key))
        return kept
    if isinstance(value, list):
        return [_unencodable_keys(item, found, (*loc, i)) for i, item in enumerate(value)]
    return value


def validate(model: type[M], data: object) -> M:
    """``data`` as ``model``, or :class:`Invalid` naming every field at fault."""
    if not isinstance(data, dict):
        raise Invalid({"body": _("must be a JSON object")})
    found: dict[str, str] = {}
    data = _unencodable_keys(data, found)
    try:
        checked = model.model_validate(data)
    except ValidationError as exc:
        raise Invalid({**found, **problems_of(model, exc)}) from None
    if found:
        raise Invalid(found)
    return checked
