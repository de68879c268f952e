"""Real servers for tests that need real connections: the app under uvicorn in a
subprocess, and a throwaway PostgreSQL cluster that a test starts, stops and restarts.

The cluster needs PostgreSQL's server binaries (``initdb``, ``pg_ctl``); tests skip with
a message without them. PostgreSQL refuses to run as root, so when the tests do (as in
this project's CI) the cluster belongs to the ``postgres`` (or ``nobody``) account.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from outreach.settings import PROJECT_ROOT


def free_port() -> int:
    """A TCP port nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _run(*command: str, user: pwd.struct_passwd | None = None, env: Mapping[str, str]) -> str:
    ids = {"user": user.pw_uid, "group": user.pw_gid} if user is not None else {}
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env),
        **ids,  # type: ignore[arg-type]
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {out.decode()}")
    return out.decode()


def postgres_binaries() -> Path:
    """The directory of ``initdb`` and ``pg_ctl`` (newest version), or skip the test."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: outage test skipped")


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _unprivileged_account() -> pwd.struct_passwd | None:
    """Who runs the cluster: this user, or, for root, an account PostgreSQL accepts."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    pytest.skip("running as root and no postgres or nobody account to run PostgreSQL as")


@dataclass
class PostgresCluster:
    """A cluster of its own in a temporary directory, on a free port, trust auth."""

    bin: Path
    port: int
    directory: Path
    account: pwd.struct_passwd | None

    @classmethod
    def create(cls) -> PostgresCluster:
        bin_dir = postgres_binaries()
        account = _unprivileged_account()
        directory = Path(tempfile.mkdtemp(prefix="outreach-pg-"))
        if account is not None:
            os.chown(directory, account.pw_uid, account.pw_gid)
        return cls(bin_dir, free_port(), directory, account)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/outreach"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}

    async def _pg(self, *args: str) -> str:
        return await _run(*args, user=self.account, env=self._env())

    async def init(self) -> None:
        await self._pg(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.directory / "data"),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )

    async def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off"
        )
        await self._pg(
            str(self.bin / "pg_ctl"),
            "--pgdata",
            str(self.directory / "data"),
            "--log",
            str(self.directory / "server.log"),
            "--wait",
            "--options",
            options,
            "start",
        )

    async def stop(self, mode: str = "fast") -> None:
        await self._pg(
            str(self.bin / "pg_ctl"), "--pgdata", str(self.directory / "data"), "--wait",
            "--mode", mode, "stop",
        )  # fmt: skip

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            await self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class AppServer:
    """``uvicorn outreach.app:create_app`` in a subprocess, on a free port."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        # A file, not a pipe: a pipe nobody reads fills up and stalls the server's logging.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __aexit__)

    async def __aenter__(self) -> AppServer:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", "outreach.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            cwd=PROJECT_ROOT, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self._log,
        )  # fmt: skip
        deadline = time.monotonic() + 60  # a loaded machine (the tests on two cores) is slow
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"uvicorn exited: {self.output()}")
                try:
                    await client.get("/healthz")
                    return self
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        raise RuntimeError("uvicorn did not start listening within 60 seconds")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def output(self) -> str:
        """What the server has logged so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._log.close()
