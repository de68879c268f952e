"""``outreach import-stops FILE.csv --library SLUG [--depot BRANCH]``.

The command lives here, beside the import it runs; ``outreach.cli`` registers it by
calling :func:`add_import_stops` on its sub-parsers. It says what it did, or why the file
was refused, in the library's default language: the staff page's words
(:func:`outreach.bookmobile.open_data.import_summary`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from outreach import i18n
from outreach.i18n import gettext as _
from outreach.models import Library
from outreach.progress import Progress, Reporter, silent
from outreach.settings import Settings

if TYPE_CHECKING:
    from outreach.bookmobile.open_data import ImportResult


class ImportFailed(Exception):
    """The file was refused; the message lists every problem, one per line."""


async def import_stops_file(
    path: Path,
    library_slug: str,
    *,
    depot_slug: str | None = None,
    base_url: str = "",
    progress: Progress = silent,
) -> ImportResult:
    """Import a timetable file into a library, all or nothing (Tortoise must be set up);
    problems are worded in the current language."""
    # Imported here: every ``outreach`` command builds its parser from this module, and
    # the import's modules took a third of a second to import.
    from outreach.bookmobile.open_data import import_problem, import_timetable
    from outreach.bookmobile.timetable import TimetableError, resolve_depot

    library = await Library.get_or_none(slug=library_slug)
    if library is None:
        # No library, no language of its own: the command's words stay the source's.
        raise ImportFailed(f"no library {library_slug!r}")
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(_("cannot read %(path)s: %(error)s", path=path, error=exc)) from None
    try:
        depot = await resolve_depot(library, depot_slug) if depot_slug else None
    except ValueError as exc:
        raise ImportFailed(f"--depot {depot_slug}: {exc}") from None
    try:
        async with in_transaction("default") as conn:
            return await import_timetable(
                library, text, using_db=conn, depot=depot, base_url=base_url, progress=progress
            )
    except TimetableError as exc:
        lines = "".join(
            f"\n  {import_problem(where, problem)}" for where, problem in exc.fields.items()
        )
        raise ImportFailed(_("%(path)s was not imported:", path=path) + lines) from None


async def cmd_import_stops(args: argparse.Namespace, settings: Settings) -> int:
    """The command's handler: exit status 0, or 2 with every problem on stderr; its words
    in the library's default language."""
    await Tortoise.init(config=settings.tortoise_config())
    try:
        library = await Library.get_or_none(slug=args.library)
        with i18n.speaking(library.default_language if library else i18n.SOURCE_LANGUAGE):
            with Reporter("import-stops") as progress:
                result = await import_stops_file(
                    args.file,
                    args.library,
                    depot_slug=args.depot,
                    base_url=settings.base_url,
                    progress=progress,
                )
            from outreach.bookmobile.open_data import import_summary

            summary = "\n".join(import_summary(result))
    except ImportFailed as exc:
        print(f"outreach: {exc}", file=sys.stderr)
        return 2
    finally:
        await Tortoise.close_connections()
    print(summary)
    return 0


def add_import_stops(commands: Any) -> argparse.ArgumentParser:
    """Register ``import-stops`` on the CLI's sub-parsers (``build_parser`` calls this)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "import-stops", help="import a timetable in the open mobile-library-stops CSV format"
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--library", required=True, help="library slug")
    parser.add_argument("--depot", help="branch slug the routes start from (default: first)")
    parser.set_defaults(handler=cmd_import_stops)
    return parser
