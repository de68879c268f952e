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
import datetime as dt
import json
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from outreach.bookmobile.open_data import ImportResult, import_timetable
from outreach.bookmobile.optimise import Solution, StopWindow, optimise
from outreach.i18n import SOURCE_LANGUAGE, speaking
from outreach.idempotent import Kept, Key, claim, keep
from outreach.models import Branch, Library, StaffUser, Vehicle
from outreach.scheduling.conflicts import VEHICLE, lock_resources
from outreach.workers import WorkerPool, WorkTimedOut, run_with_database

T = TypeVar("T")
JSON = "application/json"
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
    # Whether the importing user approves in the library (outreach.web.auth.may_approve).
    approver: bool = True
    # The language of the page that asked: the file's problems are worded in it.
    language: str = SOURCE_LANGUAGE


async def _import_in(conn: BaseDBAsyncClient, job: ImportJob) -> ImportResult:
    """Import the file in the transaction ``conn``, with the library's vehicles locked
    (two imports, or an import and a route edit, cannot book one vehicle twice)."""
    library = await Library.get(id=job.library_id, using_db=conn)
    depot = await Branch.get(id=job.depot_id, using_db=conn) if job.depot_id else None
    user = await StaffUser.get(id=job.user_id, using_db=conn) if job.user_id else None
    vehicles = (
        await Vehicle.filter(library_id=library.id).using_db(conn).values_list("id", flat=True)
    )
    await lock_resources(conn, [(VEHICLE, int(str(v))) for v in vehicles])
    return await import_timetable(
        library,
        job.text,
        using_db=conn,
        depot=depot,
        user=user,
        base_url=job.base_url,
        approver=job.approver,
    )


async def import_now(job: ImportJob) -> ImportResult:
    """Import the file in this process, all or nothing."""
    async with in_transaction("default") as conn:
        return await _import_in(conn, job)


def answer_body(result: ImportResult) -> bytes:
    """The JSON answer of an import, as the API sends it."""
    return json.dumps(
        result.as_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


async def import_once(job: ImportJob, key: Key) -> tuple[Kept, bool]:
    """Import the file at most once per Idempotency-Key: the answer (and whether it is
    one kept from before). The key is taken, the file imported and its answer kept in one
    transaction, so an import is never stored without its answer (a retry after a lost
    answer gets it) and a failed one stores neither (a retry imports)."""
    now = dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        kept = await claim(conn, key, now)
        if kept is not None:
            return kept, True
        answer = Kept(200, [("content-type", JSON)], answer_body(await _import_in(conn, job)))
        await keep(conn, key, answer, now)
    return answer, False


async def _within_limit(work: Awaitable[T]) -> T:
    try:
        async with asyncio.timeout(IMPORT_TIME_LIMIT):
            return await work
    except TimeoutError:
        raise WorkTimedOut(IMPORT_TIME_LIMIT) from None


# A worker runs every job in one context of its own: the language is set for the job.
async def _import_within_limit(job: ImportJob) -> ImportResult:
    with speaking(job.language):
        return await _within_limit(import_now(job))


async def _import_once_within_limit(job: ImportJob, key: Key) -> tuple[Kept, bool]:
    with speaking(job.language):
        return await _within_limit(import_once(job, key))


def run_import(job: ImportJob) -> ImportResult:
    """The import as a worker process runs it, on its own database connection."""
    return run_with_database(job.database_url, _import_within_limit, job)


def run_import_once(job: ImportJob, key: Key) -> tuple[Kept, bool]:
    """:func:`import_once` as a worker process runs it."""
    return run_with_database(job.database_url, _import_once_within_limit, job, key)


def _in_callers_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


async def import_off_loop(pool: WorkerPool, job: ImportJob) -> ImportResult:
    """Import the file in a worker; in this process only when the caller holds a
    transaction the import must be part of (a staff form sent with an Idempotency-Key
    runs in the one that also stores its answer): another process's transaction could not
    see or join it, and on SQLite would wait for its write lock. The API's keyed imports
    take their key in the worker instead (:func:`import_once_off_loop`)."""
    if _in_callers_transaction():
        return await import_now(job)
    return await pool.run(IMPORT_TIME_LIMIT + IMPORT_MARGIN, run_import, job)


async def import_once_off_loop(pool: WorkerPool, job: ImportJob, key: Key) -> tuple[Kept, bool]:
    """:func:`import_once` in a worker: the serving process holds no transaction for it."""
    return await pool.run(IMPORT_TIME_LIMIT + IMPORT_MARGIN, run_import_once, job, key)
