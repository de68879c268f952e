"""The data version: one counter in the database, bumped by every write that can change
a feed or a report, so that caches in any number of processes know when to rebuild.

A warm feed request does not read it from the database: each process keeps the version
in a :class:`VersionWatch` and learns of a new one

- on PostgreSQL by ``LISTEN``: the bump sends ``NOTIFY outreach_data_version`` in the
  transaction of the write, so every process hears of it when (and only if) it commits;
  the listening connection is a dedicated asyncpg one, checked every few seconds and made
  again after an outage, and while it is down every request reads the version again;
- on SQLite (one machine, no notifications) by reading the version at most every
  :data:`POLL_SECONDS`: another process's write reaches this process's feeds within that
  bound;
- in the process that wrote, at once, on both: a bump makes every watch of the process
  read the version again on each request for :data:`AFTER_WRITE_SECONDS`, long enough for
  the writing transaction to commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import weakref
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from outreach.db import instant
from outreach.models import DataVersion
from outreach.sql import dialect, positional

PROGRAMME = "programme"
CHANNEL = "outreach_data_version"
LISTENER_NAME = "outreach-version-listener"
POLL_SECONDS = 0.5
AFTER_WRITE_SECONDS = 2.0
# How often the listening connection proves it is alive (a dropped TCP connection is not
# noticed until something is sent on it), and how long to wait between reconnections.
LISTEN_CHECK_SECONDS = 5.0
RECONNECT_SECONDS = (0.1, 5.0)
_log = logging.getLogger("outreach.versions")
_watches: weakref.WeakSet[VersionWatch] = weakref.WeakSet()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SELECT = f"SELECT version, changed_at FROM {DataVersion._meta.db_table} WHERE scope = :scope"


async def bump_data_version(
    scope: str = PROGRAMME, *, using_db: BaseDBAsyncClient | None = None
) -> None:
    """Increment the counter; call it inside the transaction of the write it describes
    (on PostgreSQL its NOTIFY is delivered when that transaction commits)."""
    now = dt.datetime.now(dt.UTC)
    for watch in list(_watches):
        watch.wrote()
    updated = (
        await DataVersion.filter(scope=scope)
        .using_db(using_db)
        .update(version=F("version") + 1, changed_at=now)
    )
    if not updated:
        await DataVersion.get_or_create(
            scope=scope, defaults={"version": 1, "changed_at": now}, using_db=using_db
        )
    connection = using_db or connections.get("default")
    if dialect(connection) == "postgres":
        await connection.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, scope])


async def current_data_version(scope: str = PROGRAMME) -> tuple[int, dt.datetime]:
    """The counter and when it last changed (the epoch before the first write).

    Every feed request, cached or 304, reads it, so it skips the ORM: one plain query costs
    about a fifth of the ORM's time, which is most of what a cached answer costs.
    """
    connection = connections.get("default")
    text, values = positional(_SELECT, {"scope": scope}, dialect(connection))
    _, rows = await connection.execute_query(text, values)
    if not rows:
        return 0, EPOCH
    return int(rows[0]["version"]), instant(rows[0]["changed_at"])


def _asyncpg_dsn(database_url: str) -> str:
    """The server of a Tortoise URL for asyncpg (Tortoise's own query options left out)."""
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


class VersionWatch:
    """One process's knowledge of the data version (see the module's docstring).

    :meth:`start` (from the app's lifespan) begins listening on PostgreSQL; without it,
    on PostgreSQL every call of :meth:`current` reads the database, as before.
    """

    def __init__(
        self,
        database_url: str,
        *,
        scope: str = PROGRAMME,
        poll_seconds: float = POLL_SECONDS,
        after_write_seconds: float = AFTER_WRITE_SECONDS,
    ) -> None:
        self.scope = scope
        self.poll_seconds = poll_seconds
        self.after_write_seconds = after_write_seconds
        self.postgres = database_url.startswith(("postgres", "asyncpg"))
        self._dsn = _asyncpg_dsn(database_url) if self.postgres else ""
        self._known: tuple[int, dt.datetime] | None = None
        self._fresh_until = 0.0
        self._read_until = 0.0
        # Moves with every sign of a change, so that a read that began before the change
        # does not store what it read after it.
        self._generation = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.listening = False
        self.reads = 0  # how often the version was read from the database (for tests)
        _watches.add(self)

    def invalidate(self) -> None:
        """Something may have changed: read the version on the next request."""
        self._generation += 1
        self._known = None

    def wrote(self) -> None:
        """This process is writing: read the version on every request for a while."""
        self.invalidate()
        self._read_until = time.monotonic() + self.after_write_seconds

    def known(self) -> tuple[int, dt.datetime] | None:
        """The version if this process knows it without asking the database, else None."""
        now = time.monotonic()
        fresh = self.listening if self.postgres else now < self._fresh_until
        if fresh and now >= self._read_until:
            return self._known
        return None

    async def current(self) -> tuple[int, dt.datetime]:
        """The data version as this process knows it, read from the database only when
        it may have changed."""
        known = self.known()
        if known is not None:
            return known
        now = time.monotonic()
        generation = self._generation
        value = await current_data_version(self.scope)
        self.reads += 1
        if generation == self._generation:
            self._known = value
            self._fresh_until = now + self.poll_seconds
        return value

    async def start(self) -> None:
        """Listen for new versions (PostgreSQL only); returns once listening or once the
        first attempt failed (the watch then keeps trying in the background)."""
        if not self.postgres or self._task is not None:
            return
        self._task = asyncio.create_task(self._listen(), name="outreach-version-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.listening = False

    def _notified(self, *_: object) -> None:
        self.invalidate()

    async def _listen(self) -> None:
        delay = RECONNECT_SECONDS[0]
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    self._dsn, timeout=10, server_settings={"application_name": LISTENER_NAME}
                )
                lost = asyncio.Event()

                def closed(_: object, lost: asyncio.Event = lost) -> None:
                    lost.set()

                connection.add_termination_listener(closed)
                await connection.add_listener(CHANNEL, self._notified)
                # Anything committed before LISTEN took effect was not heard: read again.
                self.invalidate()
                self.listening = True
                self._ready.set()
                delay = RECONNECT_SECONDS[0]
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), LISTEN_CHECK_SECONDS)
                    if not lost.is_set():
                        await asyncio.wait_for(connection.fetchval("SELECT 1"), 5)
                _log.warning("data version listener: connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                _log.warning("data version listener: %s; reconnecting in %.1f s", e, delay)
            finally:
                self.listening = False
                self.invalidate()
                self._ready.set()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_SECONDS[1])
