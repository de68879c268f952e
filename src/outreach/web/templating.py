"""Jinja2 environment shared by public and staff pages, with gettext and Babel's formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from outreach import i18n
from outreach.languages import translated
from outreach.web.language import switch_links

__all__ = ["make_templates", "translated"]


def _plural(singular: str, plural: str, n: int) -> str:
    return i18n.catalogue(i18n.current()).ngettext(singular, plural, n)


def _context_plural(context: str, singular: str, plural: str, n: int) -> str:
    return str(i18n.catalogue(i18n.current()).npgettext(context, singular, plural, n))


def make_templates(directory: Path) -> Jinja2Templates:
    env: Any = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=jinja2.select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    templates = Jinja2Templates(env=env)
    # New-style gettext: ``_("%(n)s places", n=3)`` formats and escapes its variables.
    # Jinja fills in every variable itself (``{% trans count=n, time=t %}``), so plurals
    # reach it as the catalogue has them: i18n.ngettext would format them with ``num`` alone.
    env.install_gettext_callables(
        i18n.gettext,
        _plural,
        newstyle=True,
        pgettext=i18n.pgettext,
        npgettext=_context_plural,
    )
    env.filters["tr"] = translated
    env.globals["tr"] = translated
    env.globals["current_language"] = i18n.current
    env.globals["language_name"] = i18n.language_name
    env.globals["language_switch"] = switch_links
    for name in (
        "format_date",
        "format_time",
        "format_datetime",
        "format_skeleton",
        "format_interval",
        "format_number",
        "format_decimal",
        "format_percent",
        "format_list",
    ):
        env.filters[name] = getattr(i18n, name)
    return templates
