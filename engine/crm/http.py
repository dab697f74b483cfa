"""Vendor-neutral HTTP plumbing for CRM adapters: a client-side rate limiter and a retrying request.

Adapters own the vendor knowledge (paths, payloads, what a 404 means); this module only knows HTTP:
429 / 5xx / connection errors are retried (honouring `Retry-After` as seconds or an HTTP date, else
jittered exponential backoff), 401 / 403 become `AuthError` with a message the adapter supplies (naming
the env var to fix), and every other response, 404 included, is handed back to the adapter.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable, Protocol

import httpx

from engine.crm.base import AuthError, CRMError, CRMRetriesSpent, CRMUnreachable

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# A server asking for longer than this is honoured only up to here; the next attempt will tell again.
RETRY_AFTER_CAP = 60.0
# A place frees this long after a full window: a vendor stamping arrivals to the millisecond may count two
# requests exactly one window apart in the same window.
WINDOW_MARGIN = 0.001

# Errors where the request may not have reached the server, or the reply was lost: worth another try.
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class Limiter(Protocol):
    async def acquire(self) -> Callable[[], None]:
        """Wait for a place; call the returned function when the response (or failure) arrives."""
        ...


class RateLimiter:
    """At most `rate` requests counted in any window of `period` seconds (a sliding-window log).

    A request holds its place from the moment it is sent until one full `period` after its response
    arrived (plus `WINDOW_MARGIN`). The vendor counts a request somewhere in between, so however the network
    delays either leg, the vendor never sees more than `rate` in a window; counting from the send alone meets
    429s as soon as latency varies. This is also the earliest a place can safely free without knowing when
    the vendor counted: its request may have arrived just before the response came back, and the next one
    may arrive the moment it is sent. A sliding log is also strict where a token bucket is not (a full bucket plus its refill
    lets nearly twice `rate` through in one `period`). `clock` and `sleep` are injectable for fake clocks.
    """

    def __init__(
        self,
        rate: int,
        period: float = 1.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate < 1 or period <= 0:
            raise ValueError("rate must be >= 1 and period > 0")
        self.rate = rate
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._expiries: list[float] = []  # per place: when it frees; inf while its request is in flight
        self._lock = asyncio.Lock()

    async def acquire(self) -> Callable[[], None]:
        """Wait for a place; call the returned function when the response (or failure) arrives."""
        # The lock keeps waiters in order, so a burst drains first-come first-served.
        async with self._lock:
            while True:
                now = self._clock()
                self._expiries = [e for e in self._expiries if e > now]
                if len(self._expiries) < self.rate:
                    return self._hold()
                finite = [e for e in self._expiries if e != math.inf]
                wait = (min(finite) - now) if finite else self.period / self.rate
                await self._sleep(max(wait, 0.001))

    def _hold(self) -> Callable[[], None]:
        self._expiries.append(math.inf)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                # In-flight markers are interchangeable: turn one into this request's real expiry.
                self._expiries[self._expiries.index(math.inf)] = self._clock() + self.period + WINDOW_MARGIN

        return release


def retry_after_seconds(value: str | None, *, now: Clock = time.time) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date. None if absent/unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with a naive one
        return None
    return max(when.timestamp() - now(), 0.0)


def backoff_seconds(attempt: int, *, rng: Callable[[], float] = random.random) -> float:
    """Jittered exponential backoff for retry `attempt` (0-based): half to full of base*2^attempt, capped."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    return ceiling * (0.5 + 0.5 * rng())


def _where(method: str, url: httpx.URL | str) -> str:
    # Path only: query strings may carry ids or filters that do not belong in an error message.
    return f"{method.upper()} {httpx.URL(str(url)).path}"


def _host(client: httpx.AsyncClient, url: httpx.URL | str) -> str:
    full = client.base_url.join(str(url)) if client.base_url else httpx.URL(str(url))
    return full.netloc.decode("ascii", "replace") or str(full)


def _describe(status: int) -> str:
    if status == 429:
        return "rate limited"
    return "server error"


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL | str,
    *,
    limiter: Limiter,
    max_retries: int = 5,
    vendor: str = "CRM",
    auth_message: str | None = None,
    sleep: Sleep = asyncio.sleep,
    now: Clock = time.time,
    rng: Callable[[], float] = random.random,
    auth_statuses: tuple[int, ...] = (401, 403),
    **kwargs: Any,
) -> httpx.Response:
    """Send one request through `limiter`, retrying what is safe to retry; return the final response.

    `auth_message` may contain `{status}`; it becomes the AuthError text on 401/403. Any other non-retryable
    response (2xx, 3xx, 4xx incl. 404) is returned for the adapter to interpret. After `max_retries` retries
    a CRMError says what kept failing, e.g. "Attio 429 rate limited after 5 retries on POST /v2/...".
    `auth_statuses` are the statuses that mean a refused token; an adapter whose vendor says more in a 401/403
    body (Salesforce: an expired session, a spent allocation) passes () and reads the response itself.
    """
    where = _where(method, url)
    attempt = 0
    while True:
        release = await limiter.acquire()
        try:
            response = await client.request(method, url, **kwargs)
        except _RETRYABLE_TRANSPORT as exc:
            release()
            if attempt >= max_retries:
                raise CRMUnreachable(
                    f"{vendor} unreachable at {_host(client, url)} ({type(exc).__name__}: {exc}) "
                    f"after {max_retries} retries on {where}"
                ) from exc
            await sleep(backoff_seconds(attempt, rng=rng))
            attempt += 1
            continue

        except BaseException:
            release()
            raise
        release()
        status = response.status_code
        if status in auth_statuses:
            await response.aread()
            template = auth_message or f"{vendor} rejected the API token ({{status}})"
            raise AuthError(template.replace("{status}", str(status)))
        if status == 429 or status >= 500:
            await response.aread()
            if attempt >= max_retries:
                raise CRMRetriesSpent(f"{vendor} {status} {_describe(status)} after {max_retries} retries on {where}")
            delay = retry_after_seconds(response.headers.get("retry-after"), now=now)
            if delay is None:
                delay = backoff_seconds(attempt, rng=rng)
            await sleep(min(delay, RETRY_AFTER_CAP))
            attempt += 1
            continue
        return response


def error_for(response: httpx.Response, vendor: str) -> CRMError:
    """A CRMError for a response the adapter did not expect, with the vendor's own message when it gave one."""
    detail = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = str(body.get("message") or body.get("error") or body.get("code") or "")
    if not detail:
        detail = response.text[:200]
    where = _where(response.request.method, response.request.url)
    return CRMError(f"{vendor} {response.status_code} on {where}: {detail}".rstrip(": "))
