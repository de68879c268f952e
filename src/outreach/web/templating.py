"""Jinja2 environment shared by public and staff pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.templating import Jinja2Templates

from outreach.languages import translated

__all__ = ["make_templates", "translated"]


def make_templates(directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    env: Any = templates.env
    env.filters["tr"] = translated
    env.globals["tr"] = translated
    return templates
