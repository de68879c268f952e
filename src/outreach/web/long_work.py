"""Long work from the web: the app's worker pool, and the answer when work cannot run.

Optimisations and imports run in worker processes (:mod:`outreach.workers`). When every
worker is busy and the queue is full, or a job ran out of time, the client gets a 503
with ``Retry-After`` and a JSON body whose ``reason`` says which
(``workers_busy``, ``time_limit``); nothing was saved either way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from outreach.i18n import gettext as _
from outreach.workers import WorkerPool, WorkersBusy, WorkTimedOut, shared_pool

# After a job ran out of time the server is slow: clients should not retry at once.
TIMED_OUT_RETRY_AFTER = 30


def workers(request: Request) -> WorkerPool:
    """The pool of ``app.state.workers`` (tests set their own), else the process's own."""
    pool: WorkerPool | None = getattr(request.app.state, "workers", None)
    if pool is None:
        settings = request.app.state.settings
        pool = shared_pool(settings.worker_processes, settings.worker_queue)
    return pool


def refusal(exc: WorkersBusy | WorkTimedOut) -> tuple[str, str, int]:
    """The reason, the sentence and the seconds to wait, for a client or a page."""
    if isinstance(exc, WorkersBusy):
        return (
            "workers_busy",
            _(
                "the server is busy with other long work (optimisations and imports:"
                " %(running)s running, %(waiting)s waiting); nothing was done, try again"
                " in %(seconds)s s",
                running=exc.running,
                waiting=exc.waiting,
                seconds=exc.retry_after,
            ),
            exc.retry_after,
        )
    return (
        "time_limit",
        _(
            "the work took longer than its limit of %(seconds)s s and was stopped;"
            " nothing was saved",
            seconds=format(exc.seconds, "g"),
        ),
        TIMED_OUT_RETRY_AFTER,
    )


def unavailable(exc: WorkersBusy | WorkTimedOut) -> JSONResponse:
    """503 with ``Retry-After``: ``{"error": ..., "reason": ..., "retry_after": s}``."""
    reason, error, retry_after = refusal(exc)
    return JSONResponse(
        {"error": error, "reason": reason, "retry_after": retry_after},
        status_code=503,
        headers={"Retry-After": str(retry_after), "Cache-Control": "no-store"},
    )
