"""Long work off the event loop: a small, bounded pool of worker processes.

An optimisation (OR-Tools, up to ten seconds) or a timetable import (CSV parsing and
hundreds of thousands of visits) used to run on the event loop, and every other request
waited for it: ``/healthz`` took 9.9 s while the solver ran. Here each runs in a worker
process and the loop only waits for its answer.

Processes, not threads: OR-Tools' SWIG wrapper holds the GIL for the whole search
(measured: solving with a C++ distance matrix in a thread stopped a 10 ms loop for the
solver's full 3 s; with Python callbacks, as :mod:`outreach.bookmobile.optimise` has, it
hands the GIL back only between callbacks and the loop's ticks took 16 ms instead of
11, up to 90 ms), and parsing a CSV or building visits is pure Python, which never
releases it. A process also owns its database connection: on SQLite, Tortoise serialises
every query of a process on one connection, so an import's transaction in the serving
process would hold up every request's queries until it committed; in a worker it is a
second connection, and in WAL mode the server's readers go on beside it.

Bounded: at most ``processes`` jobs run and ``queue`` wait; one more is refused at once
with :class:`WorkersBusy` (the web layer answers 503 with ``Retry-After``). Every job has
a time limit; a worker that overruns it is killed (its transaction, if any, dies with its
connection) and a fresh one takes its place. Exceptions raised by a job come back as
themselves (a refused timetable stays a ``TimetableError`` with its fields).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_PROCESSES = 2
DEFAULT_QUEUE = 4
# How much lower than the server's a worker's scheduling priority is (Unix ``nice``).
WORKER_NICENESS = 10


class WorkersBusy(Exception):
    """Every worker is busy and the queue is full (or stayed full until the job's time
    limit): the job was not started; try again after ``retry_after`` seconds."""

    def __init__(self, *, running: int, waiting: int, retry_after: int) -> None:
        super().__init__(
            f"every worker is busy ({running} running, {waiting} waiting); "
            f"try again in {retry_after} s"
        )
        self.running = running
        self.waiting = waiting
        self.retry_after = retry_after


class WorkTimedOut(Exception):
    """The job ran past its time limit; its worker process was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the work took longer than {seconds:g} s and was stopped")
        self.seconds = seconds


class WorkFailed(Exception):
    """The worker process died, or the job's answer could not be sent back."""


# -- the worker process ------------------------------------------------------------------


def _portable(exc: BaseException) -> tuple[str, Any]:
    """An exception as data that survives pickling: its class, args and attributes."""
    text = "".join(traceback.format_exception(exc))
    payload = (type(exc), exc.args, dict(vars(exc)), text)
    try:
        pickle.dumps(payload)
    except Exception:
        return "failed", f"{type(exc).__name__}: {exc}\n{text}"
    return "raised", payload


def _serve(conn: Connection) -> None:
    """A worker's main loop: run each job sent, answer ``(status, payload)``; end when the
    serving process goes away (its end of the pipe closes)."""
    # Ctrl-C reaches the whole process group: the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Long work yields the processor to the server's requests: on a machine with as many
    # cores as workers, the solver and an import would otherwise take their turns from it.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WORKER_NICENESS)
    try:
        while True:
            try:
                function, args, kwargs = conn.recv()
            except (EOFError, OSError):
                return
            answer: tuple[str, Any]
            try:
                answer = ("ok", function(*args, **kwargs))
            except BaseException as exc:
                answer = _portable(exc)
            try:
                conn.send(answer)
            except (EOFError, OSError):
                return
            except Exception as exc:  # an answer that cannot be pickled
                conn.send(("failed", f"the answer could not be sent back: {exc!r}"))
    finally:
        _close_database()
        # A server that exits on a signal runs no exit handlers and so never stops its
        # workers, and a database driver's thread (aiosqlite's) would keep this process
        # waiting for it: end now.
        os._exit(0)


def _rebuilt(payload: tuple[type[BaseException], tuple[Any, ...], dict[str, Any], str]) -> Any:
    cls, args, state, text = payload
    exc = cls.__new__(cls)
    exc.args = args
    vars(exc).update(state)
    exc.add_note(f"raised in a worker process:\n{text}")
    return exc


# -- database work in a worker -------------------------------------------------------------

_loop: asyncio.AbstractEventLoop | None = None
_context = contextvars.Context()
_database: str | None = None


async def _use_database(database_url: str) -> None:
    global _database
    if _database == database_url:
        return
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from outreach.settings import tortoise_config

    if _database is not None:
        with contextlib.suppress(Exception):
            await Tortoise.close_connections()
    # Tortoise caches each model's SQL per connection name, in the dialect it first saw.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(database_url))
    _database = database_url


def _close_database() -> None:
    if _loop is None or _database is None:
        return
    from tortoise import Tortoise

    with contextlib.suppress(Exception):
        closing = asyncio.wait_for(Tortoise.close_connections(), 5)
        _loop.run_until_complete(_loop.create_task(closing, context=_context))


def run_with_database(
    database_url: str, job: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run the coroutine function ``job`` in this worker's own event loop, with Tortoise
    connected to ``database_url`` (set up on first use, kept for the next job).

    Every job runs in one context: Tortoise keeps its connections in context variables,
    which a task started in a fresh copy of the context would not see."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()

    async def work() -> T:
        await _use_database(database_url)
        return await job(*args, **kwargs)

    return _loop.run_until_complete(_loop.create_task(work(), context=_context))


# -- the pool, in the serving process ------------------------------------------------------


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection


@dataclass
class _Job:
    deadline: float
    worker: _Worker | None = None


def _in_thread(
    loop: asyncio.AbstractEventLoop, work: Callable[[], tuple[str, Any]]
) -> asyncio.Future[tuple[str, Any]]:
    """Run blocking ``work`` in a daemon thread (one that never holds up the interpreter's
    exit, as an executor's threads would), its result as a future of ``loop``."""
    future: asyncio.Future[tuple[str, Any]] = loop.create_future()

    def settle(result: tuple[str, Any]) -> None:
        if not future.done():
            future.set_result(result)

    def target() -> None:
        try:
            result = work()
        except BaseException as exc:
            result = ("failed", f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=target, name="outreach-worker-wait", daemon=True).start()
    return future


class WorkerPool:
    """At most ``processes`` jobs at once in worker processes, ``queue`` more waiting."""

    def __init__(
        self,
        processes: int = DEFAULT_PROCESSES,
        queue: int = DEFAULT_QUEUE,
    ) -> None:
        if processes < 1 or queue < 0:
            raise ValueError("a pool needs at least one process and a queue of 0 or more")
        self.processes = processes
        self.queue = queue
        # spawn: a fresh interpreter, not a fork of a process with threads and open
        # database connections.
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._running: list[_Job] = []
        self._waiting: deque[asyncio.Future[None]] = deque()
        # Turns handed to waiting jobs that have not started yet: they count as running,
        # so that a job arriving meanwhile cannot take the place first.
        self._granted = 0
        self._closed = False

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _retry_after(self) -> int:
        """Seconds until the first running job ends at the latest (its time limit)."""
        now = time.monotonic()
        soonest = min((job.deadline - now for job in self._running), default=1.0)
        return max(1, math.ceil(soonest))

    def _busy(self) -> WorkersBusy:
        return WorkersBusy(
            running=self.running, waiting=self.waiting, retry_after=self._retry_after()
        )

    async def run(self, time_limit: float, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker process, within ``time_limit`` seconds of
        starting there (a job waiting for its turn waits at most as long again).
        ``function`` and its arguments must be picklable (a module's function, data)."""
        if self._closed:
            raise RuntimeError("the worker pool is closed")
        if self.running + self._granted >= self.processes:
            if self.waiting >= self.queue:
                raise self._busy()
            await self._wait_for_turn(time_limit)
            self._granted -= 1
        loop = asyncio.get_running_loop()
        job = _Job(deadline=time.monotonic() + time_limit)
        self._running.append(job)
        try:
            job.worker = self._idle.pop() if self._idle else await self._spawn()
        except BaseException:
            self._release(job)
            raise
        exchange = _in_thread(loop, lambda: self._exchange(job, (function, args, {})))
        exchange.add_done_callback(lambda done: self._finished(job, done.result()))
        # Shielded: a request that goes away leaves the work to finish (or time out) in
        # its process; the worker is only given back once it has answered.
        status, payload = await asyncio.shield(exchange)
        if status == "ok":
            return payload  # type: ignore[no-any-return]
        if status == "raised":
            raise _rebuilt(payload)
        if status == "timeout":
            raise WorkTimedOut(time_limit)
        raise WorkFailed(str(payload))

    async def _wait_for_turn(self, patience: float) -> None:
        """Wait until a running job ends and hands this one its turn (counted in
        ``_granted`` until the job starts); :class:`WorkersBusy` if none ends in time."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), patience)
        except TimeoutError:
            if not (turn.done() and not turn.cancelled()):
                self._waiting.remove(turn)
                raise self._busy() from None
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                # The turn came as the request went away: pass it on.
                self._granted -= 1
                self._wake()
            elif turn in self._waiting:
                self._waiting.remove(turn)
            raise

    def _exchange(self, job: _Job, message: tuple[Any, ...]) -> tuple[str, Any]:
        """In a thread: send the job, wait for its answer until the deadline."""
        assert job.worker is not None
        conn = job.worker.conn
        try:
            conn.send(message)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            return "failed", f"the job could not be sent to a worker: {exc}"
        except OSError:
            return "lost", "the worker process has gone"
        if not conn.poll(max(0.0, job.deadline - time.monotonic())):
            return "timeout", None
        try:
            answer: tuple[str, Any] = conn.recv()
        except (EOFError, OSError):
            return "lost", "the worker process died"
        return answer

    def _finished(self, job: _Job, answer: tuple[str, Any]) -> None:
        worker = job.worker
        if worker is not None:
            if answer[0] in ("timeout", "lost") or self._closed:
                # Killing and reaping a process is quick, but not the event loop's to wait for.
                threading.Thread(target=self._stop, args=(worker,), daemon=True).start()
            else:
                self._idle.append(worker)
        self._release(job)

    def _release(self, job: _Job) -> None:
        if job in self._running:
            self._running.remove(job)
        self._wake()

    def _wake(self) -> None:
        """Hand the free place, if any, to the job that has waited longest."""
        while self._waiting and self.running + self._granted < self.processes:
            turn = self._waiting.popleft()
            if not turn.done():
                self._granted += 1
                turn.set_result(None)

    async def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child,), name="outreach-worker", daemon=True
        )
        await asyncio.to_thread(process.start)
        child.close()
        return _Worker(process, parent)

    @staticmethod
    def _stop(worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.conn.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)

    def close(self) -> None:
        """Stop every idle worker now; busy ones are stopped when their job ends."""
        self._closed = True
        while self._idle:
            self._stop(self._idle.pop())
        for turn in self._waiting:
            if not turn.done():
                turn.cancel()


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool(processes: int = DEFAULT_PROCESSES, queue: int = DEFAULT_QUEUE) -> WorkerPool:
    """The serving process's pool, created on first use with these bounds."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            _shared = WorkerPool(processes, queue)
        return _shared
