"""The shared CRM HTTP plumbing: pacing, retries, Retry-After in both formats, and the errors a user sees."""

from __future__ import annotations

import asyncio
import random
from email.utils import formatdate
from typing import Callable

import httpx
import pytest

from engine.crm.base import AuthError, CRMError, CRMUnreachable
from engine.crm.http import WINDOW_MARGIN, RateLimiter, backoff_seconds, error_for, request, retry_after_seconds
from tests.standins.clock import VirtualTimeLoop
from tests.standins.contract import FakeClock

QUERY = "/v2/objects/deals/records/query"


def client_for(handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url="https://crm.test", transport=httpx.MockTransport(handler))


def scripted(*replies):
    """A handler answering with `replies` in order (an exception instance is raised), recording requests."""
    seen: list[httpx.Request] = []
    queue = list(replies)

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return handler, seen


async def test_limiter_never_lets_more_than_rate_through_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, clock=clock.time, sleep=clock.sleep)
    stamps = []
    for _ in range(17):
        release = await limiter.acquire()
        stamps.append(clock.time())
        release()  # an instant response: the place frees one window after it
    for i, start in enumerate(stamps):
        inside = [t for t in stamps[i:] if t < start + 1.0]
        assert len(inside) <= 5, (start, inside)
    # Five go at once, then it paces rather than stalling: 17 calls need a bit over 3 windows.
    assert stamps[4] == stamps[0]
    assert stamps[-1] - stamps[0] == pytest.approx(3 * (1.0 + WINDOW_MARGIN))


async def test_limiter_counts_a_request_until_a_window_after_its_response() -> None:
    """Network delay on either leg must never put more than `rate` requests in one of the vendor's windows.

    Counting only from the send lets a slow request and two fast ones land in one window on the server.
    """
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(2, 1.0, clock=clock.time, sleep=clock.sleep)
    legs = [(0.29, 0.0), (0.0, 0.0), (0.0, 0.4), (0.3, 0.1), (0.0, 0.0), (0.25, 0.3), (0.0, 0.0), (0.1, 0.0)] * 3
    arrivals = []
    for up, down in legs:
        release = await limiter.acquire()
        await clock.sleep(up)
        arrivals.append(clock.time())  # when the vendor counts it
        await clock.sleep(down)
        release()
    for start in arrivals:
        assert len([t for t in arrivals if start <= t < start + 1.0]) <= 2, (start, arrivals)


def _arrivals_under_adversarial_latency(limiter_for: Callable[[Callable[[], float]], RateLimiter],
                                        legs: Callable[[int], tuple[float, float]], workers: int,
                                        each: int) -> list[float]:
    """Run `workers` concurrent callers of `each` requests through one limiter on a virtual clock, request n
    travelling `legs(n)` (there, back); return when the server counted each (on arrival, as the stand-ins do)."""
    arrivals: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = limiter_for(loop.time)
        sent = iter(range(workers * each))

        async def caller() -> None:
            for _ in range(each):
                release = await limiter.acquire()
                up, down = legs(next(sent))
                await asyncio.sleep(up)
                arrivals.append(loop.time())
                await asyncio.sleep(down)
                release()

        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(caller())

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        runner.run(main())
    return arrivals


def _most_in_a_window(arrivals: list[float], period: float) -> int:
    """The stand-ins' count: requests that arrived in (t - period, t], at its worst over every arrival t."""
    return max(sum(1 for a in arrivals if t - period < a <= t) for t in arrivals)


def _wild(seed: int) -> Callable[[int], tuple[float, float]]:
    # Latency that swings between nothing and several windows from one request to the next, on either leg.
    rng = random.Random(seed)
    choices = (0.0, 0.0, 0.001, 0.02, 0.15, 0.5, 0.97, 1.0, 2.5)
    return lambda _n: (rng.choice(choices), rng.choice(choices))


def _seesaw(n: int) -> tuple[float, float]:
    # The worst case for counting from the send: a slow way there, then a quick one, in turn.
    return (0.9, 0.0) if n % 2 == 0 else (0.0, 0.9)


@pytest.mark.parametrize("legs", [_wild(1), _wild(2), _wild(3), _seesaw], ids=["wild1", "wild2", "wild3", "seesaw"])
def test_no_window_on_the_server_ever_holds_more_than_the_rate(legs: Callable[[int], tuple[float, float]]) -> None:
    """The limiter's invariant, under concurrent callers and latency that varies wildly between consecutive
    requests: however each request's legs split its round trip, the server never counts more than `rate` in
    one window, so a pass through it meets no 429."""
    arrivals = _arrivals_under_adversarial_latency(
        lambda clock: RateLimiter(5, 1.0, clock=clock, sleep=asyncio.sleep), legs, workers=12, each=15)
    assert len(arrivals) == 180
    assert _most_in_a_window(arrivals, 1.0) <= 5


class _CountsFromTheSend(RateLimiter):
    """The tempting shortcut: a place frees one window after its request was sent, whatever the network did."""

    def _hold(self) -> Callable[[], None]:
        self._expiries.append(self._clock() + self.period)
        return lambda: None


def test_counting_from_the_send_alone_would_meet_429s() -> None:
    """The check above can fail: a limiter that frees a place one window after the send lets a slow request
    and the next fast ones land in one window on the server."""
    arrivals = _arrivals_under_adversarial_latency(
        lambda clock: _CountsFromTheSend(5, 1.0, clock=clock, sleep=asyncio.sleep), _seesaw, workers=12, each=15)
    assert _most_in_a_window(arrivals, 1.0) > 5


async def test_a_failed_request_frees_its_place() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 1.0, clock=clock.time, sleep=clock.sleep)
    handler, seen = scripted(httpx.ConnectError("down"), httpx.Response(200, json={}))
    async with client_for(handler) as client:
        response = await request(client, "GET", "/x", limiter=limiter, sleep=clock.sleep, rng=lambda: 0.0)
    assert response.status_code == 200 and len(seen) == 2


def test_retry_after_in_seconds_or_http_date() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds("3", now=lambda: now) == 3.0
    assert retry_after_seconds(formatdate(now + 7, usegmt=True), now=lambda: now) == pytest.approx(7.0)
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), now=lambda: now) == 0.0
    assert retry_after_seconds("soon", now=lambda: now) is None
    assert retry_after_seconds(None) is None


def test_backoff_is_exponential_jittered_and_capped() -> None:
    assert [backoff_seconds(a, rng=lambda: 1.0) for a in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_seconds(2, rng=lambda: 0.0) == 1.0
    assert backoff_seconds(20, rng=lambda: 1.0) == 30.0


async def test_429_with_http_date_then_success() -> None:
    clock = FakeClock()
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": formatdate(clock.time() + 4, usegmt=True)}),
        httpx.Response(200, json={"data": []}),
    )
    async with client_for(handler) as client:
        resp = await request(
            client, "POST", QUERY, limiter=RateLimiter(100), sleep=clock.sleep, now=clock.time, json={}, vendor="Attio"
        )
    assert resp.status_code == 200
    assert len(seen) == 2
    assert clock.sleeps == [pytest.approx(4.0)]


async def test_5xx_without_retry_after_backs_off_then_succeeds() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx.Response(503), httpx.Response(500), httpx.Response(200, json={}))
    async with client_for(handler) as client:
        resp = await request(client, "GET", "/x", limiter=RateLimiter(100), sleep=clock.sleep, rng=lambda: 1.0)
    assert resp.status_code == 200
    assert clock.sleeps == [0.5, 1.0]


async def test_connection_errors_are_retried_then_reported() -> None:
    clock = FakeClock()
    handler, _ = scripted(httpx.ConnectError("refused"), httpx.Response(200, json={}))
    async with client_for(handler) as client:
        assert (await request(client, "GET", "/x", limiter=RateLimiter(100), sleep=clock.sleep)).status_code == 200

    handler, seen = scripted(*[httpx.ConnectError("refused")] * 3)
    async with client_for(handler) as client:
        with pytest.raises(CRMError) as err:
            await request(client, "GET", "/x", limiter=RateLimiter(100), sleep=clock.sleep, max_retries=2, vendor="Attio")
    assert len(seen) == 3
    assert str(err.value).startswith("Attio unreachable at crm.test (ConnectError: refused) after 2 retries on GET /x")
    assert isinstance(err.value, CRMUnreachable)


async def test_gives_up_after_max_retries_with_a_message_naming_the_request() -> None:
    clock = FakeClock()
    handler, seen = scripted(*[httpx.Response(429)] * 6)
    async with client_for(handler) as client:
        with pytest.raises(CRMError) as err:
            await request(
                client, "POST", QUERY + "?secret=1", limiter=RateLimiter(100), sleep=clock.sleep, vendor="Attio", json={}
            )
    assert len(seen) == 6
    assert str(err.value) == "Attio 429 rate limited after 5 retries on POST /v2/objects/deals/records/query"
    assert not isinstance(err.value, AuthError)


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_token_raises_auth_error_with_the_adapters_message(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json={"message": "nope"}))
    async with client_for(handler) as client:
        with pytest.raises(AuthError) as err:
            await request(
                client, "GET", "/x", limiter=RateLimiter(100), auth_message="MY_TOKEN was rejected ({status}): fix it"
            )
    assert str(err.value) == f"MY_TOKEN was rejected ({status}): fix it"
    assert len(seen) == 1, "a rejected token is not retried"


async def test_404_and_other_4xx_are_handed_back() -> None:
    handler, _ = scripted(httpx.Response(404), httpx.Response(400, json={"message": "Bad filter"}))
    async with client_for(handler) as client:
        assert (await request(client, "GET", "/deal/1", limiter=RateLimiter(100))).status_code == 404
        bad = await request(client, "POST", "/q", limiter=RateLimiter(100), json={})
    assert str(error_for(bad, "Attio")) == "Attio 400 on POST /q: Bad filter"


async def test_every_attempt_goes_through_the_limiter() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 1.0, clock=clock.time, sleep=clock.sleep)
    handler, seen = scripted(httpx.Response(500), httpx.Response(500), httpx.Response(200, json={}))
    async with client_for(handler) as client:
        await request(client, "GET", "/x", limiter=limiter, sleep=clock.sleep, rng=lambda: 0.0)
    # Backoff waits were 0.25 and 0.5 s; the third attempt also had to wait for the 2-per-second window.
    assert len(seen) == 3
    assert clock.sleeps[:2] == [0.25, 0.5]
    assert sum(clock.sleeps) == pytest.approx(1.0 + WINDOW_MARGIN)
