"""``Idempotency-Key``: a write sent again with the same key gets the first answer and
stores nothing twice.

A client that sent a write and got no answer (a timeout, a reset, a 503 while the
database was away) cannot know whether it was stored; with a key it can simply send it
again. This ASGI middleware makes every unsafe request that carries the header (API
writes and staff forms alike, without a change to any endpoint) run as one transaction:

1. it takes the key (PostgreSQL: a transaction-scoped advisory lock, tried without
   waiting; SQLite: the database's write lock) and looks for an answer kept under it;
2. a kept answer is replayed (``Idempotent-Replayed: true``), or refused with 422 if the
   key came with another method, path, query or body;
3. otherwise the endpoint runs inside that transaction (the services' own
   ``in_transaction("default")`` blocks become savepoints of it, since Tortoise keeps
   the transaction in a context variable) and its answer is held back;
4. a success (status below 400) is stored beside what it wrote and committed in the same
   transaction, and only then sent; any other answer rolls everything back and is sent
   as it is: nothing was stored, so a retry simply runs again.

So a write is never stored without its answer: if the commit's acknowledgement is lost
(the database went away at that moment) the retry finds the answer, and if the commit
did not happen the retry does the write. The same key while its first request is still
running is a 409 with ``Retry-After``. Keys belong to the signed-in user (a token or a
session); requests nobody is signed in for pass through untouched (they are refused
anyway), and so do signing in and out (their effect is the cookie) and the POSTs that
only propose a stop order. Answers are kept for 24 hours; expired rows are deleted as
they are met and in a sweep at most every ten minutes per process.

Why here and not in each endpoint: the key must be stored in the transaction of the
write, and the answer is only known once the endpoint has rendered it, after its service
call; one transaction around the whole request is the only place where both are in hand,
and it covers every write, including those written after this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.transactions import in_transaction

from outreach.idempotent import KEEP, Kept, Key, KeyInUse, KeyReused, claim, keep
from outreach.models import IdempotentAnswer, StaffUser
from outreach.web.auth import authenticate
from outreach.web.errors import ApiError

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_HEADER = HEADER.lower().encode()
MAX_KEY = 255
# The largest body a keyed write may have (it is read whole to be compared).
MAX_BODY = 4 * 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Their effect is the session cookie, which a replay could not give back.
UNKEYED_PATHS = frozenset({"/staff/login", "/staff/logout"})
# POSTs that change nothing (a proposed stop order): a key would only hold a transaction
# open, and on SQLite the one connection, while the solver runs.
READ_ONLY_POSTS = re.compile(r"^/(api|staff/bookmobile)/routes/[^/]+/optimise$")
# Writes done in a worker process (a timetable import): the worker's own transaction takes
# the key and keeps the answer beside what it wrote (outreach.idempotent), which a
# transaction held here could not include. The endpoint finds the key in
# ``request.state.idempotency`` (see :func:`key_of`).
SELF_KEYED = re.compile(r"^/api/routes/import$")
# What a replay repeats of the first answer's headers (never cookies).
REPLAYED_HEADERS = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-language",
        "content-type",
        "etag",
        "last-modified",
        "location",
    }
)
IN_PROGRESS_RETRY_AFTER = 1
PURGE_EVERY = 600.0


class _Refused(Exception):
    """Ends the transaction, storing nothing, and answers ``response`` instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _Rollback(Exception):
    """Ends the transaction, storing nothing; the endpoint's answer goes out as it is."""


def _problem(status: int, error: str, problem: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "fields": {HEADER: problem}}, status, headers=headers)


def in_progress() -> JSONResponse:
    return _problem(
        409,
        "a request with this Idempotency-Key is still running; try again shortly",
        "is in use by a request that has not finished",
        **{"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
    )


def reused() -> JSONResponse:
    return _problem(
        422,
        "this Idempotency-Key was sent with a different request",
        "was used in the last 24 hours with another method, path or body;"
        " send a new key for a new request",
    )


def _credential(scope: Scope) -> bytes | None:
    """What the request signs in with, as ``authenticate`` reads it: the Authorization
    header alone if there is one, else the session's user; None for neither."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return b"authorization " + bytes(value)
    session: dict[str, object] = scope.get("session") or {}
    user_id = session.get("user_id")
    return f"session {user_id}".encode() if isinstance(user_id, int) else None


def _valid_key(raw: bytes) -> bool:
    return 1 <= len(raw) <= MAX_KEY and all(0x21 <= byte <= 0x7E for byte in raw)


def slot(user_id: int, key: str) -> str:
    """The stored name of one user's key: a digest of both, so neither is kept."""
    return hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()


def fingerprint(scope: Scope, body: bytes) -> str:
    """A digest of what makes a request the same request: method, path, query, body."""
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body)
    return digest.hexdigest()


@dataclass
class _Captured:
    """The endpoint's response, held back until its transaction has committed."""

    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.chunks.append(bytes(message.get("body", b"")))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def replay_to(self, send: Send) -> None:
        assert self.status is not None
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None if it is too large to be kept for comparison."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the endpoint the body already read, then listens on."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def key_of(request: Request) -> Key | None:
    """The key of a write on a :data:`SELF_KEYED` path, if it came with one."""
    found: Key | None = getattr(request.state, "idempotency", None)
    return found


class Idempotency:
    """ASGI middleware: see the module's documentation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Keys (with the credential they came with) whose first request runs in this
        # process: a duplicate is told at once. Other processes learn it from the
        # database (PostgreSQL: the advisory lock; SQLite: its write lock, waited for).
        self._running: set[str] = set()
        self._last_purge = -math.inf  # monotonic time may start near 0 at boot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"] in UNKEYED_PATHS
            or READ_ONLY_POSTS.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == _HEADER]
        credential = _credential(scope)
        if not keys or credential is None:  # nobody signed in: refused anyway
            await self.app(scope, receive, send)
            return
        if len(keys) > 1 or not _valid_key(keys[0]):
            response: Response = _problem(
                400, "bad request", f"must be sent once, as 1 to {MAX_KEY} visible ASCII characters"
            )
            await response(scope, receive, send)
            return
        key = keys[0].decode("ascii")
        try:
            body = await _read_body(receive)
        except ClientDisconnect:
            return
        if body is None:
            response = JSONResponse(
                {"error": "request too large", "fields": {"body": f"at most {MAX_BODY} bytes"}},
                413,
            )
            await response(scope, receive, send)
            return
        receive = _replaying(body, receive)
        # Asked before the database: on SQLite the first request's transaction holds the
        # process's one connection, so even signing the duplicate in would wait for it.
        running = hashlib.sha256(credential + b"\n" + keys[0]).hexdigest()
        if running in self._running:
            await in_progress()(scope, receive, send)
            return
        self._running.add(running)
        try:
            user = await self._principal(scope, receive)
            if user is None:
                await self.app(scope, receive, send)
                return
            sent = Key(slot(user.id, key), fingerprint(scope, body))
            if SELF_KEYED.match(scope["path"]):
                scope.setdefault("state", {})["idempotency"] = sent
                await self.app(scope, receive, send)
                return
            answer = await self._once(scope, receive, sent)
        except _Refused as refused:
            await refused.response(scope, receive, send)
            return
        finally:
            self._running.discard(running)
        await answer.replay_to(send)
        await self._purge_now_and_then()

    @staticmethod
    async def _principal(scope: Scope, receive: Receive) -> StaffUser | None:
        try:
            return await authenticate(Request(scope, receive))
        except ApiError:
            return None  # refused (e.g. a browser without its CSRF token): the endpoint says why

    async def _once(self, scope: Scope, receive: Receive, key: Key) -> _Captured:
        """Run the write at most once per key; its answer, replayed or fresh."""
        now = dt.datetime.now(dt.UTC)
        captured = _Captured()
        try:
            async with in_transaction("default") as conn:
                try:
                    kept = await claim(conn, key, now)
                except KeyInUse:
                    raise _Refused(in_progress()) from None
                except KeyReused:
                    raise _Refused(reused()) from None
                if kept is not None:
                    replay = _Captured(
                        kept.status, [(k.encode(), v.encode()) for k, v in kept.headers]
                    )
                    replay.headers.append((b"idempotent-replayed", b"true"))
                    replay.chunks.append(kept.body)
                    return replay
                await self.app(scope, receive, captured.send)
                if captured.status is None:
                    raise RuntimeError("the endpoint sent no response")
                if captured.status >= 400:
                    raise _Rollback
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in captured.headers
                    if k.lower().decode("latin-1") in REPLAYED_HEADERS
                ]
                await keep(conn, key, Kept(captured.status, headers, captured.body), now)
        except _Rollback:
            pass
        return captured

    async def _purge_now_and_then(self) -> None:
        """Delete expired answers, at most once every ``PURGE_EVERY`` seconds; best effort,
        after the answer has gone out."""
        clock = time.monotonic()
        if clock - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = clock
        cutoff = dt.datetime.now(dt.UTC) - KEEP
        try:
            deleted = await IdempotentAnswer.filter(created_at__lt=cutoff).delete()
        except Exception as exc:  # the next sweep tries again
            log.warning("could not delete expired idempotency answers: %s", type(exc).__name__)
            return
        if deleted:
            log.info("deleted %d expired idempotency answers", deleted)
