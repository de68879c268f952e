"""The bookmobile's long work as jobs for worker processes (:mod:`outreach.workers`):
proposing a stop order (OR-Tools) and importing a timetable file.

Each job is plain data, so that it can be sent to another process, and each has a time
limit: the solver's own limit plus a margin, and :data:`IMPORT_TIME_LIMIT` for an
import, whose transaction is rolled back in the worker when it is reached (a worker that
still does not answer is killed). A job refused because every worker is busy raises
:class:`~outreach.workers.WorkersBusy`; one that ran out of time,
:class:`~outreach.workers.WorkTimedOut`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

from outreach.bookmobile.open_data import ImportResult, import_timetable
from outreach.bookmobile.optimise import Solution, StopWindow, optimise
from outreach.models import Branch, Library, StaffUser, Vehicle
from outreach.scheduling.conflicts import VEHICLE, lock_resources
from outreach.workers import WorkerPool, WorkTimedOut, run_with_database

# Beyond the solver's own limit: starting a worker process, importing OR-Tools, building
# the model.
OPTIMISE_MARGIN = 15.0
# An import is bounded by its size (MAX_ROWS, MAX_VISITS) to a few seconds; this is for a
# database that has become slow.
IMPORT_TIME_LIMIT = 60.0
# After the import's own limit, for its transaction to roll back in the worker.
IMPORT_MARGIN = 10.0


@dataclass(frozen=True)
class OptimiseJob:
    """What the solver needs: windows, distances (depot first), speed and limits."""

    stops: Sequence[StopWindow]
    matrix: Sequence[Sequence[float]]
    speed_kmh: float
    tolerance: int
    time_limit: float
    initial: Sequence[int] | None = None


def solve(job: OptimiseJob) -> Solution:
    """Run the solver (in a worker process)."""
    return optimise(
        job.stops,
        job.matrix,
        speed_kmh=job.speed_kmh,
        tolerance=job.tolerance,
        time_limit=job.time_limit,
        initial=job.initial,
    )


async def solve_off_loop(pool: WorkerPool, job: OptimiseJob) -> Solution:
    """The solver's answer, computed in a worker while the event loop serves others."""
    return await pool.run(job.time_limit + OPTIMISE_MARGIN, solve, job)


@dataclass(frozen=True)
class ImportJob:
    """A timetable file to import into a library, and who imports it."""

    database_url: str
    library_id: int
    text: str
    depot_id: int | None = None
    user_id: int | None = None
    base_url: str = ""


async def import_now(job: ImportJob) -> ImportResult:
    """Import the file in this process, all or nothing, with the library's vehicles locked
    (two imports, or an import and a route edit, cannot book one vehicle twice)."""
    library = await Library.get(id=job.library_id)
    depot = await Branch.get(id=job.depot_id) if job.depot_id is not None else None
    user = await StaffUser.get(id=job.user_id) if job.user_id is not None else None
    vehicles = await Vehicle.filter(library_id=library.id).values_list("id", flat=True)
    async with in_transaction("default") as conn:
        await lock_resources(conn, [(VEHICLE, int(str(v))) for v in vehicles])
        return await import_timetable(
            library, job.text, using_db=conn, depot=depot, user=user, base_url=job.base_url
        )


async def _import_within_limit(job: ImportJob) -> ImportResult:
    try:
        async with asyncio.timeout(IMPORT_TIME_LIMIT):
            return await import_now(job)
    except TimeoutError:
        raise WorkTimedOut(IMPORT_TIME_LIMIT) from None


def run_import(job: ImportJob) -> ImportResult:
    """The import as a worker process runs it, on its own database connection."""
    return run_with_database(job.database_url, _import_within_limit, job)


def _in_callers_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


async def import_off_loop(pool: WorkerPool, job: ImportJob) -> ImportResult:
    """Import the file in a worker; in this process only when the caller holds a
    transaction the import must be part of (a write sent with an ``Idempotency-Key`` runs
    in one, which also stores its answer): another process's transaction could not see or
    join it, and on SQLite would wait for its write lock."""
    if _in_callers_transaction():
        return await import_now(job)
    return await pool.run(IMPORT_TIME_LIMIT + IMPORT_MARGIN, run_import, job)
