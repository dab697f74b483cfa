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
