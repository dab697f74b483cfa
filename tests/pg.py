"""The real PostgreSQL the suite runs against: each test gets a schema of its own, dropped afterwards.

SCOUT_TEST_POSTGRES_URL names the server (.ci/run exports it); without it the loopback default is tried. No
server answering: the PostgreSQL tests are left out with one line saying why (tests/conftest.py), unless
SCOUT_REQUIRE_POSTGRES=1 (CI), where each of them fails instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, Coroutine, TypeVar

import asyncpg
import pytest

T = TypeVar("T")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("SCOUT_TEST_POSTGRES_URL") or DEFAULT_URL


def _asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1).replace("postgresql+asyncpg://", "postgresql://", 1)


async def execute(sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_asyncpg_url(server_url()), timeout=5)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def run(work: Coroutine[Any, Any, T]) -> T:
    """`work` on an event loop of its own, so sync and async tests alike can call it."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


@cache
def unreachable() -> str | None:
    """Why the server cannot be used, or None when it answers."""
    try:
        run(execute("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def reason() -> str:
    return f"no PostgreSQL at {server_url()} ({unreachable()}); set SCOUT_TEST_POSTGRES_URL to run them"


def required() -> bool:
    return os.environ.get("SCOUT_REQUIRE_POSTGRES") == "1"


def require_server() -> None:
    why = unreachable()
    if why is None:
        return
    if required():
        pytest.fail(reason(), pytrace=False)
    pytest.skip(reason())


class Schema:
    """A fresh schema on the test server; `query` and `scalar` read it as a user with psql would."""

    def __init__(self) -> None:
        self.name = f"scout_t_{uuid.uuid4().hex[:12]}"
        self.url = server_url()

    @classmethod
    def at(cls, url: str, name: str) -> "Schema":
        """A schema that already exists, on any server (to read it as the tests read theirs)."""
        found = cls()
        found.url, found.name = url, name
        return found

    def create(self) -> None:
        run(execute(f"CREATE SCHEMA {self.name}"))

    def drop(self) -> None:
        run(execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE"))

    def query(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async def go() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(_asyncpg_url(self.url), timeout=5,
                                         server_settings={"search_path": self.name})
            try:
                return await conn.fetch(sql, *args)
            finally:
                await conn.close()
        return run(go())

    def scalar(self, sql: str, *args: object) -> Any:
        rows = self.query(sql, *args)
        return rows[0][0] if rows else None

    def env(self) -> dict[str, str]:
        """The settings that point Scout at this schema."""
        return {"DATABASE_URL": self.url, "SCOUT_DB_SCHEMA": self.name}


class PrivateServer:
    """A PostgreSQL server of the test's own (initdb in a temporary directory, a free loopback port), so a test
    can restart it without disturbing the machine's server or anything else using it."""

    def __init__(self) -> None:
        import glob
        import shutil
        import tempfile

        found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1:]), None)
        if found is None:
            why = "no initdb on this machine: the server-restart test needs PostgreSQL's server binaries"
            if required():
                pytest.fail(why, pytrace=False)  # CI: a missing server is a failure, as for the shared one
            pytest.skip(why)
        self._bin = Path(found).parent
        # Not under pytest's tmp_path: its parents are private to this user, and the server may run as another.
        root = self.root = Path(tempfile.mkdtemp(prefix="scout-pg-"))
        self.data = root / "pgdata"
        self._log = root / "pg.log"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        self._back: Any = None  # the thread that brings the server back after down_for
        if os.geteuid() == 0:  # initdb refuses root: run the server as the machine's postgres user
            # util-linux's runuser lives in /usr/sbin, which a non-root PATH (or a minimal one) may leave out
            self._as = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]
            os.chown(root, _uid("postgres"), -1)

    def _run(self, *argv: str) -> None:
        import subprocess

        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(str(self._bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")
        self._ctl("start")

    def _ctl(self, what: str) -> None:
        self._run(str(self._bin / "pg_ctl"), what, "-D", str(self.data), "-w", "-m", "fast", "-l", str(self._log),
                  "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off")

    def restart(self) -> None:
        """Every session ends, the server stops and starts again on the same port; returns once it accepts."""
        self._ctl("restart")

    def down_for(self, seconds: float) -> None:
        """Stops the server now and starts it again `seconds` later, from a thread: a restart that keeps clients
        waiting (their connections are refused meanwhile)."""
        import threading
        import time

        self._run(str(self._bin / "pg_ctl"), "stop", "-D", str(self.data), "-w", "-m", "fast")

        def later() -> None:
            time.sleep(seconds)
            self._ctl("start")
        self._back = threading.Thread(target=later)
        self._back.start()

    def stop(self) -> None:
        import shutil
        import subprocess

        if self._back is not None:
            self._back.join(60)
        subprocess.run([*self._as, str(self._bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid
