"""Jinja2 environment shared by public and staff pages, with gettext and Babel's formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from outreach import i18n
from outreach.languages import translated

__all__ = ["make_templates", "translated"]


def make_templates(directory: Path) -> Jinja2Templates:
    env: Any = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=jinja2.select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    templates = Jinja2Templates(env=env)
    # New-style gettext: ``_("%(n)s places", n=3)`` formats and escapes its variables.
    env.install_gettext_callables(
        i18n.gettext,
        i18n.ngettext,
        newstyle=True,
        pgettext=i18n.pgettext,
        npgettext=i18n.npgettext,
    )
    env.filters["tr"] = translated
    env.globals["tr"] = translated
    env.globals["current_language"] = i18n.current
    env.globals["language_name"] = i18n.language_name
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
