"""The one place Claude requests are retried: which errors, how long to wait, and when to give up.

The SDK's own retries are switched off (max_retries=0) because it honours any positive `retry-after` with no
upper bound. Here a server-requested wait longer than the cap fails the request at once: the deal is logged
`failed`, is not marked scanned, and leads the next run. `sleep` and `jitter` are injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

import anthropic
import httpx2

from engine.extract.base import ExtractionError
from engine.errors import WaitTooLong  # noqa: F401 (re-exported)
from engine.settings import DEFAULT_RETRY_AFTER_CAP

T = TypeVar("T")
# What the API documents as worth retrying: timeouts, lock conflicts, rate limits, server errors, overload.
_RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP  # seconds; a longer server-requested wait fails the deal
    base_delay: float = 0.5  # backoff without a retry-after: 0.5 s doubling, at most max_delay, less jitter
    max_delay: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random


def retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds the server asked for: `retry-after-ms`, else `retry-after` as seconds or an HTTP date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    when = email.utils.parsedate_tz(raw)
    return None if when is None else email.utils.mktime_tz(when) - time.time()


def _worth_retrying(exc: anthropic.APIError) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
        return True
    if not isinstance(exc, anthropic.APIStatusError):
        return False
    should = exc.response.headers.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    return exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500


def _backoff(policy: RetryPolicy, retries: int) -> float:
    return min(policy.base_delay * 2 ** retries, policy.max_delay) * (1 - 0.25 * policy.jitter())


async def with_retries(
    policy: RetryPolicy, call: Callable[[], Awaitable[T]],
    describe: Callable[[anthropic.APIError, int], str],
) -> T:
    """`call()` until it succeeds, is not worth retrying, or has been retried `max_retries` times.

    Raises ExtractionError with `describe(exc, retries_taken)`, or WaitTooLong."""
    retries = 0
    while True:
        try:
            return await call()
        except anthropic.APIError as exc:
            if not _worth_retrying(exc) or retries >= policy.max_retries:
                raise ExtractionError(describe(exc, retries)) from exc
            asked = retry_after(exc.response.headers) if isinstance(exc, anthropic.APIStatusError) else None
            if asked is not None and asked > policy.retry_after_cap:
                raise WaitTooLong(
                    f"{describe(exc, retries)}; the API asked to wait {asked:.0f} s before retrying, longer than "
                    f"SCOUT_RETRY_AFTER_CAP ({policy.retry_after_cap:.0f} s): failed for this run, first next run"
                ) from exc
            wait = asked if asked is not None and asked > 0 else _backoff(policy, retries)
            await policy.sleep(wait)
            retries += 1
