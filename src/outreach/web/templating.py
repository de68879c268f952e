"""Jinja2 environment shared by public and staff pages, with gettext and Babel's formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from outreach.i18n import i18n_environment
from outreach.languages import translated
from outreach.scheduling.wording import date_words
from outreach.web.language import switch_links

__all__ = ["make_templates", "private_page", "translated"]


def make_templates(directory: Path) -> Jinja2Templates:
    env = i18n_environment(directory, autoescape=jinja2.select_autoescape())
    env.globals["language_switch"] = switch_links
    # A date as it reads after "from" or "until" ("do 30. junija 2027"), where Babel's
    # long date keeps the nominative ("30. junij 2027").
    env.filters["date_words"] = date_words
    return Jinja2Templates(env=env)


def private_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A page with someone's own data on it (a patron's registration or room request): in
    no shared cache, and its address passed on to no other site."""
    response = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status
    )
    assert isinstance(response, HTMLResponse)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
