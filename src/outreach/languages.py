"""Texts kept in several languages (titles, descriptions, names): choosing one to show."""

from __future__ import annotations


def translated(value: dict[str, str] | None, lang: str, fallback: str = "en") -> str:
    """The text of ``value`` in ``lang``, else ``fallback``, else any language."""
    if not value:
        return ""
    return value.get(lang) or value.get(fallback) or next(iter(value.values()))


def language_of(value: dict[str, str] | None, lang: str, fallback: str = "en") -> str:
    """The language :func:`translated` picks its text in (for a page's ``lang`` attribute)."""
    if not value:
        return lang
    if value.get(lang):
        return lang
    if value.get(fallback):
        return fallback
    return next(iter(value))
