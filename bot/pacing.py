"""Posting at Slack's pace: chat.postMessage allows about one message per second per channel.

A `Pacer` spaces its calls by `interval` and, on a 429, waits what `Retry-After` says and tries again.
`sleep` and `clock` are injectable so tests check the waits without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from slack_sdk.errors import SlackApiError

T = TypeVar("T")


class Pacer:
    def __init__(
        self, interval: float = 1.1, *, max_retries: int = 5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, clock: Callable[[], float] = time.monotonic,
    ):
        self.interval, self.max_retries = interval, max_retries
        self._sleep, self._clock = sleep, clock
        self._last: float | None = None

    async def call(self, send: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            if self._last is not None:
                wait = self._last + self.interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            try:
                result = await send()
            except SlackApiError as exc:
                if exc.response.status_code != 429 or attempt >= self.max_retries:
                    self._last = self._clock()
                    raise
                attempt += 1
                await self._sleep(_retry_after(exc))
                self._last = None  # Retry-After has passed: Slack takes the next call at once
                continue
            self._last = self._clock()
            return result


def _retry_after(exc: SlackApiError) -> float:
    raw = (exc.response.headers or {}).get("Retry-After") or (exc.response.headers or {}).get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0
