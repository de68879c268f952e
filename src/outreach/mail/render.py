"""Writing a notice: the subject, text and HTML of ``templates/mail/<name>.txt`` and
``.html`` in the recipient's language.

The HTML template gets the subject as ``subject`` too (for its title).

A mail template is Jinja with the pages' gettext and Babel filters. The text template sets
the subject with ``{% set subject %}…{% endset %}`` (one line); its output is the plain
text body. The HTML template renders the same context, escaped. Both are rendered inside
``i18n.speaking(language)``, so ``_()`` and the format filters speak the recipient's
language whatever the request's was.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from outreach import i18n
from outreach.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"


@dataclass(frozen=True)
class Written:
    """A notice as it will be sent."""

    subject: str
    text: str
    html: str


@functools.cache
def environment(directory: Path = TEMPLATES) -> jinja2.Environment:
    """The pages' environment (:func:`outreach.i18n.i18n_environment`), stricter: a
    missing value is an error, not an empty word in someone's mail."""
    return i18n.i18n_environment(
        directory,
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def write(
    template: str, language: str, context: dict[str, Any], *, directory: Path = TEMPLATES
) -> Written:
    """The notice ``template`` in ``language`` for ``context``."""
    env = environment(directory)
    with i18n.speaking(language) as lang:
        values = {**context, "language": lang}
        text_module = env.get_template(f"mail/{template}.txt").make_module(values)
        subject = " ".join(str(getattr(text_module, "subject", "")).split())
        if not subject:
            raise ValueError(f"mail/{template}.txt sets no subject")
        html = env.get_template(f"mail/{template}.html").render({**values, "subject": subject})
    return Written(subject=subject, text=str(text_module).strip() + "\n", html=html)
