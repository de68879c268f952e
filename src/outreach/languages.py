"""Texts kept in several languages (titles, descriptions, names): choosing one to show."""

from __future__ import annotations


def translated(value: dict[str, str] | None, lang: str, fallback: str = "en") -> str:
    """The text of ``value`` in ``lang``, else ``fallback``, else any language."""
    if not value:
        return ""
    return value[language_of(value, lang, fallback)]


def language_of(value: dict[str, str] | None, lang: str, fallback: str = "en") -> str:
    """The language :func:`translated` picks its text in (for a page's ``lang`` attribute).

    Without ``lang`` and ``fallback``, the first language with a text in alphabetical
    order: the same on both databases, where the order of a JSON object's keys is not
    (SQLite keeps them as written, PostgreSQL's jsonb sorts them by length, then bytes)."""
    if not value:
        return lang
    if value.get(lang):
        return lang
    if value.get(fallback):
        return fallback
    return next((code for code in sorted(value) if value[code]), min(value))
