"""Benchmark: what ``outreach serve``'s access log costs a request, in process CPU.

``bench/feeds.py`` takes the access log's share of a 304 from two servers under load, a
logged and an unlogged one, and on a 2-core machine that share moves by several points
from run to run. This measures the log itself, without a server or a network: the same
trivial ASGI app (a 304, two messages) called directly and through
:class:`outreach.web.serving.AccessLog`, alternated in rounds on uvloop, the log written
to memory (its batches included). It prints the CPU microseconds of a request each way
and their difference: what the log adds to each request, to set beside the server CPU per
304 that ``bench/feeds.py`` prints (the goal: under a tenth of it). As a yardstick measured
in the same run, it also prints bare Starlette's own part of a 304 (its route table
answering ``If-None-Match``), without the HTTP server's work, which is most of a served
304's cost.

Usage: ``.venv/bin/python bench/access_log.py [--requests 200000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from typing import Any

import uvloop

from outreach.web.serving import AccessLog

SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "GET",
    "path": "/feeds/bench.ics",
    "query_string": b"kind=lecture",
    "client": ("127.0.0.1", 50000),
    "headers": [(b"if-none-match", b'"0123456789abcdef"')],
}


async def not_modified(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def starlette_304() -> Any:
    """Bare Starlette: one feed route answering 304 to its ETag."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    etag = '"0123456789abcdef"'

    async def feed(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(b"BEGIN:VCALENDAR", media_type="text/calendar")

    return Starlette(routes=[Route("/feeds/{name}", feed)])


async def receive() -> dict[str, Any]:
    return {"type": "http.request"}


async def send(message: Any) -> None:
    return None


async def cpu_per_request(app: Any, requests: int) -> float:
    """Process CPU microseconds per call of ``app``."""
    began = time.process_time()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)
    return (time.process_time() - began) / requests * 1e6


async def measure(requests: int, rounds: int) -> tuple[float, float, float]:
    logged = AccessLog(not_modified, stream=io.StringIO())
    starlette = starlette_304()
    bare, with_log, a_304 = [], [], []
    for _ in range(rounds):
        bare.append(await cpu_per_request(not_modified, requests))
        with_log.append(await cpu_per_request(logged, requests))
        logged.flush()
        a_304.append(await cpu_per_request(starlette, requests // 10))
    return statistics.median(bare), statistics.median(with_log), statistics.median(a_304)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bare, logged, a_304 = uvloop.run(measure(args.requests, args.rounds))
    cost = logged - bare
    print(
        f"a request: {bare:.2f} us of CPU bare, {logged:.2f} us through the access log"
        f" (medians of {args.rounds} rounds of {args.requests:,}): the log adds {cost:.2f} us"
    )
    print(f"bare Starlette's own part of a 304, without an HTTP server: {a_304:.2f} us")


if __name__ == "__main__":
    main()
