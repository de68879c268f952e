"""Jinja2 environment shared by public and staff pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.templating import Jinja2Templates


def translated(value: dict[str, str] | None, lang: str, fallback: str = "en") -> str:
    """The text of ``value`` in ``lang``, else ``fallback``, else any language."""
    if not value:
        return ""
    return value.get(lang) or value.get(fallback) or next(iter(value.values()))


def make_templates(directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    env: Any = templates.env
    env.filters["tr"] = translated
    env.globals["tr"] = translated
    return templates
