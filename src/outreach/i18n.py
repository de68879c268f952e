"""The interface's languages: gettext catalogues (Babel), the language a page is being
written in, and Babel's formatting of dates, times and numbers in that language.

Every string a person reads is marked: ``_("…")`` (or ``ngettext``/``pgettext``) in Python,
``{% trans %}`` / ``_()`` in templates. The language is a context variable, set once per
request (``outreach.web.language``) or per mail, so domain code that words a message does
not need to be handed a language.

Catalogues live in ``outreach/locale/<lang>/LC_MESSAGES/messages.po``; ``make install``
compiles them to ``.mo``. Where a ``.mo`` is missing or older than its ``.po`` (an edited
checkout), the ``.po`` is compiled in memory, so a page never shows stale words.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale, dates, lists, numbers
from babel.messages import mofile, pofile
from babel.support import LazyProxy, Translations

from outreach.languages import translated

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# The languages the interface is written in; the source strings are English.
INTERFACE_LANGUAGES: tuple[str, ...] = ("en", "sl", "mk", "fi")
SOURCE_LANGUAGE = "en"

_language: ContextVar[str] = ContextVar("outreach_language", default=SOURCE_LANGUAGE)


def interface_language(code: str | None) -> str | None:
    """``code`` (``sl``, ``sl-SI``, ``mk_MK``) as one of the interface's languages, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return base if base in INTERFACE_LANGUAGES else None


@functools.cache
def catalogue(lang: str) -> Translations:
    """The compiled catalogue of ``lang`` (empty for the source language)."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if not po.exists():
        return Translations(domain=DOMAIN)
    with po.open("rb") as source:
        messages = pofile.read_po(source, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    mofile.write_mo(buffer, messages)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def current() -> str:
    """The language the page or mail being written is in."""
    return _language.get()


def locale() -> Locale:
    """Babel's locale of the current language."""
    return _babel_locale(current())


@functools.cache
def _babel_locale(lang: str) -> Locale:
    return Locale.parse(lang)


@contextmanager
def speaking(lang: str) -> Iterator[str]:
    """Write in ``lang`` inside the block (a mail to a patron, a page of one library)."""
    token = _language.set(interface_language(lang) or SOURCE_LANGUAGE)
    try:
        yield _language.get()
    finally:
        _language.reset(token)


def use(lang: str) -> str:
    """Write in ``lang`` from now on, in this context (one request)."""
    chosen = interface_language(lang) or SOURCE_LANGUAGE
    _language.set(chosen)
    return chosen


def _format(text: str, variables: dict[str, Any]) -> str:
    return text % variables if variables else text


def gettext(message: str, **variables: Any) -> str:
    """``message`` in the current language, ``%(name)s`` placeholders filled in."""
    return _format(catalogue(current()).gettext(message), variables)


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The plural form of the current language for ``n`` (``%(num)s`` is ``n``)."""
    variables.setdefault("num", n)
    return _format(catalogue(current()).ngettext(singular, plural, n), variables)


def pgettext(context: str, message: str, **variables: Any) -> str:
    """``message`` as meant in ``context`` (a translator's hint where words are ambiguous)."""
    return _format(str(catalogue(current()).pgettext(context, message)), variables)


def npgettext(context: str, singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return _format(catalogue(current()).npgettext(context, singular, plural, n), variables)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues where it is defined (a field's description held
    in a declaration); the code that shows it translates it then, with :func:`gettext`."""
    return message


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """A string translated when it is read: for module-level texts (labels, choices)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


# Babel's formatting in the current language. Times are formatted as given: callers pass
# them already in the library's zone (``value.astimezone(zone)``).


def format_date(value: dt.date, format: str = "medium") -> str:
    return dates.format_date(value, format=format, locale=locale())


def format_time(value: dt.datetime | dt.time, format: str = "short") -> str:
    return dates.format_time(value, format=format, locale=locale())


def format_datetime(value: dt.datetime, format: str = "medium") -> str:
    return dates.format_datetime(value, format=format, locale=locale())


def format_skeleton(value: dt.date | dt.datetime, skeleton: str) -> str:
    """A date by a CLDR skeleton (``MMMEd``, ``yMMMM``): the locale orders the parts."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    return dates.format_skeleton(skeleton, moment, locale=locale())


def format_interval(start: dt.datetime, end: dt.datetime, skeleton: str = "Hm") -> str:
    return dates.format_interval(start, end, skeleton, locale=locale())


def format_number(value: int | float | Decimal) -> str:
    return numbers.format_decimal(value, locale=locale())


def format_decimal(value: int | float | Decimal, format: str = "#,##0.#") -> str:
    return numbers.format_decimal(value, format=format, locale=locale())


def format_percent(value: float | Decimal) -> str:
    return numbers.format_percent(value, locale=locale())


def format_list(items: list[str], style: str = "standard") -> str:
    return lists.format_list(items, style=style, locale=locale())  # type: ignore[arg-type]


def language_name(lang: str) -> str:
    """A language's own name for itself (``slovenščina``), for the language switch."""
    name = _babel_locale(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


_FORMATS = (
    format_date,
    format_time,
    format_datetime,
    format_skeleton,
    format_interval,
    format_number,
    format_decimal,
    format_percent,
    format_list,
)


# Jinja fills in every variable itself (``{% trans count=n, time=t %}``), so plurals reach it
# as the catalogue has them: :func:`ngettext` would format them with ``num`` alone.
def _template_ngettext(singular: str, plural: str, n: int) -> str:
    return str(catalogue(current()).ngettext(singular, plural, n))


def _template_npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(catalogue(current()).npgettext(context, singular, plural, n))


def i18n_environment(directory: Path, **options: Any) -> jinja2.Environment:
    """A Jinja environment for the templates in ``directory`` (pages and mail) that writes
    in the current language: ``_()`` and ``{% trans %}`` from the catalogues, ``tr`` for
    texts kept in several languages, and Babel's formats as filters. ``options`` are
    Jinja's own (autoescaping, undefined values, white space)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        extensions=["jinja2.ext.i18n"],
        **options,
    )
    # New-style gettext: ``_("%(n)s places", n=3)`` formats and escapes its variables.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext,
        _template_ngettext,
        newstyle=True,
        pgettext=pgettext,
        npgettext=_template_npgettext,
    )
    env.filters["tr"] = translated
    env.globals["tr"] = translated
    env.globals["current_language"] = current
    env.globals["language_name"] = language_name
    for format_ in _FORMATS:
        env.filters[format_.__name__] = format_
    return env
