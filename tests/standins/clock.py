"""Clocks that only move when something waits: one for the Slack pacer, and an event loop for concurrent code."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.pacing import Pacer


class FakeTime:
    """A clock that only moves when the pacer sleeps: waits are recorded, never spent."""

    def __init__(self) -> None:
        self.now, self.waits = 0.0, []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.now += seconds

    def pacer(self) -> Pacer:
        return Pacer(1.1, sleep=self.sleep, clock=lambda: self.now)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever nothing is ready to run.

    SQLite work (aiosqlite runs it on a thread and answers through the loop's self-pipe) is waited for in
    real time with the clock stopped, so it counts as zero: `sqlite_pending` says when some is in flight.
    """

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        self.sqlite_pending = 0
        real = self._selector.select

        def select(timeout: float | None = None) -> list[Any]:
            events = real(0)
            if events or timeout == 0:
                return events
            if timeout is None or self.sqlite_pending:
                return real(None)  # an answer is on its way from a thread: wait for it, clock stopped
            self._now += timeout
            return events

        self._selector.select = select  # type: ignore[method-assign]

    def time(self) -> float:
        return self._now
