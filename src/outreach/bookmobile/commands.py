"""``outreach import-stops FILE.csv --library SLUG [--depot BRANCH]``.

The command lives here, beside the import it runs; ``outreach.cli`` registers it by
calling :func:`add_import_stops` on its sub-parsers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from outreach.bookmobile.open_data import ImportResult, import_timetable
from outreach.bookmobile.timetable import TimetableError, resolve_depot
from outreach.models import Library
from outreach.progress import Progress, Reporter, silent
from outreach.settings import Settings


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
    """Import a timetable file into a library, all or nothing (Tortoise must be set up)."""
    library = await Library.get_or_none(slug=library_slug)
    if library is None:
        raise ImportFailed(f"no library {library_slug!r}")
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"cannot read {path}: {exc}") from None
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
        lines = "\n".join(f"  {where}: {problem}" for where, problem in exc.fields.items())
        raise ImportFailed(f"{path} was not imported:\n{lines}") from None


def summary(result: ImportResult) -> str:
    parts = [
        f"{result.stops} stop(s)",
        f"created {', '.join(result.created) or 'no route'}",
        f"updated {', '.join(result.updated) or 'no route'}",
        f"unchanged {', '.join(result.unchanged) or 'no route'}",
    ]
    text = "; ".join(parts)
    if result.vehicles_created:
        text += f"\nnew vehicle(s), diesel until corrected: {', '.join(result.vehicles_created)}"
    for warning in result.warnings:
        text += f"\nwarning: {warning}"
    return text


async def cmd_import_stops(args: argparse.Namespace, settings: Settings) -> int:
    """The command's handler: exit status 0, or 2 with every problem on stderr."""
    await Tortoise.init(config=settings.tortoise_config())
    try:
        with Reporter("import-stops") as progress:
            result = await import_stops_file(
                args.file,
                args.library,
                depot_slug=args.depot,
                base_url=settings.base_url,
                progress=progress,
            )
    except ImportFailed as exc:
        print(f"outreach: {exc}", file=sys.stderr)
        return 2
    finally:
        await Tortoise.close_connections()
    print(summary(result))
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
