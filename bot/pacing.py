"""Posting at Slack's pace: chat.postMessage allows about one message per second per channel.

A `Pacer` spaces its calls by `interval`; a 429 is slack_sdk's to retry (`RateLimitRetry` on the client waits
what `Retry-After` says). `sleep` and `clock` are injectable so tests check the waits without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

T = TypeVar("T")
MAX_RATE_LIMIT_RETRIES = 5


class Pacer:
    def __init__(
        self, interval: float = 1.1, *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, clock: Callable[[], float] = time.monotonic,
    ):
        self.interval = interval
        self._sleep, self._clock = sleep, clock
        self._last: float | None = None

    async def call(self, send: Callable[[], Awaitable[T]]) -> T:
        if self._last is not None:
            wait = self._last + self.interval - self._clock()
            if wait > 0:
                await self._sleep(wait)
        try:
            return await send()
        finally:
            self._last = self._clock()


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting exactly `Retry-After` through an injectable sleep (no jitter: one
    process posts, and a test checks the wait without spending it)."""

    def __init__(self, max_retry_count: int = MAX_RATE_LIMIT_RETRIES, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    async def prepare_for_next_attempt_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("no response to retry")
        state.next_attempt_requested = True
        await self._sleep(retry_after(response.headers))
        state.increment_current_attempt()


def retry_after(headers: Mapping[str, list[str] | str]) -> float:
    # slack_sdk's HttpResponse declares a header as a list or a str (its constructor makes every one a list).
    raw = next((v if isinstance(v, str) else v[0] for k, v in headers.items() if k.lower() == "retry-after" and v),
               None)
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0
