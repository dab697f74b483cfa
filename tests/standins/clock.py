"""A clock for the Slack pacer that only moves when the pacer sleeps."""

from __future__ import annotations

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
