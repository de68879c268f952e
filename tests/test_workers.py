"""The worker pool: jobs run in other processes, within their limits, and a full pool
refuses at once. The jobs are this module's functions (a worker imports them by name)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from outreach.bookmobile.timetable import TimetableError
from outreach.workers import (
    WORKER_NICENESS,
    WorkerPool,
    WorkersBusy,
    WorkFailed,
    WorkTimedOut,
)


def pid() -> int:
    return os.getpid()


def niceness() -> int:
    return os.nice(0)


def sleep_then(seconds: float, answer: str) -> str:
    time.sleep(seconds)
    return answer


def refuse(fields: dict[str, str]) -> None:
    raise TimetableError(fields)


def die() -> None:
    os._exit(3)


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    pool = WorkerPool(processes=1, queue=1)
    try:
        yield pool
    finally:
        pool.close()


async def until(condition: Callable[[], bool]) -> None:
    """Wait (without a clock) until ``condition()`` holds."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def test_a_job_runs_in_another_process_which_is_kept(pool: WorkerPool) -> None:
    first = await pool.run(30, pid)
    assert first != os.getpid()
    assert await pool.run(30, pid) == first
    assert (pool.running, pool.waiting) == (0, 0)


async def test_workers_yield_the_processor_to_the_server(pool: WorkerPool) -> None:
    assert await pool.run(30, niceness) == min(19, os.nice(0) + WORKER_NICENESS)


async def test_an_exception_comes_back_as_itself(pool: WorkerPool) -> None:
    with pytest.raises(TimetableError) as raised:
        await pool.run(30, refuse, {"line 2.geoy": "must be between -90 and 90"})
    assert raised.value.fields == {"line 2.geoy": "must be between -90 and 90"}
    assert str(raised.value) == "line 2.geoy: must be between -90 and 90"


async def test_a_job_past_its_limit_is_stopped_and_its_worker_replaced(pool: WorkerPool) -> None:
    before = await pool.run(30, pid)
    with pytest.raises(WorkTimedOut, match=r"^the work took longer than 0\.5 s and was stopped$"):
        await pool.run(0.5, sleep_then, 30, "too late")
    after = await pool.run(30, pid)
    assert after != before
    assert await pool.run(30, sleep_then, 0, "on time") == "on time"


async def test_a_worker_that_dies_fails_its_job_and_is_replaced(pool: WorkerPool) -> None:
    with pytest.raises(WorkFailed, match=r"^the worker process died$"):
        await pool.run(30, die)
    assert await pool.run(30, sleep_then, 0, "again") == "again"


async def test_a_full_pool_refuses_at_once_and_a_queued_job_waits_its_turn(
    pool: WorkerPool,
) -> None:
    running = asyncio.create_task(pool.run(20, sleep_then, 0.5, "first"))
    await until(lambda: pool.running == 1)
    queued = asyncio.create_task(pool.run(20, sleep_then, 0, "second"))
    await until(lambda: pool.waiting == 1)
    with pytest.raises(WorkersBusy) as busy:
        await pool.run(20, sleep_then, 0, "third")
    # The first job's limit is 20 s from its start, a moment ago.
    assert (busy.value.running, busy.value.waiting, busy.value.retry_after) == (1, 1, 20)
    assert str(busy.value) == "every worker is busy (1 running, 1 waiting); try again in 20 s"
    assert await running == "first"
    assert await queued == "second"
    assert (pool.running, pool.waiting) == (0, 0)


async def test_a_queued_job_that_never_gets_a_turn_is_refused(pool: WorkerPool) -> None:
    running = asyncio.create_task(pool.run(20, sleep_then, 2, "slow"))
    await until(lambda: pool.running == 1)
    with pytest.raises(WorkersBusy):
        await pool.run(0.2, sleep_then, 0, "impatient")
    assert pool.waiting == 0
    assert await running == "slow"
