"""CSV cells that a spreadsheet will not run: every CSV the service writes goes through here.

Spreadsheets read a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (``=cmd|' /C calc'!A0``), so such text gets a leading ``'`` (OWASP's
advice on CSV injection). Numbers stay as they are, ``-5``, ``-12.5`` and ``-1e-05`` (a
longitude near Greenwich as Python writes it) included, so that figures remain figures.
Reading our own CSV back (a bookmobile timetable re-imported), :func:`plain` takes the
``'`` off again.
"""

from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _runs(text: str) -> bool:
    return text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text)


def cell(value: T) -> T | str:
    """``value`` as a CSV cell: text a spreadsheet would run is prefixed with ``'``."""
    if isinstance(value, str) and _runs(value):
        return "'" + value
    return value


def plain(text: str) -> str:
    """A cell read from a CSV as it was before :func:`cell`."""
    if text.startswith("'") and _runs(text[1:]):
        return text[1:]
    return text
