"""The Claude path never hangs: a request timeout, a cap on server-requested waits, retries in one place, and a
pass deadline. Every wait goes through an injected sleep or clock, so no test here waits for real."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx2
import pytest

from engine.extract.base import ExtractionError
from engine.extract.claude import TOOL_NAME, ClaudeExtractor
from engine.jobs import run_job
from engine.provenance import ProvenanceStore
from engine.settings import Settings
from engine.summary import format_summary
from tests.standins.anthropic_api import AnthropicStandIn
from tests.pipeline import GOOD_SCRIPT, seed, small_pipeline
from tests.standins.scripted_model import ScriptedModel
from tests.samples import DEAL, GOOD_INPUT, NOTES

FIELD_MAP = Settings().field_map


class Sleeps(list):
    """An injected sleep: records how long Scout would have waited, and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def from_settings(standin: AnthropicStandIn, sleeps: Sleeps, **env: str) -> ClaudeExtractor:
    settings = Settings(ANTHROPIC_API_KEY="sk-ant-test", **env)
    return ClaudeExtractor.from_settings(settings, http_client=standin.http_client(), sleep=sleeps)


@pytest.mark.parametrize(("env", "expected"), [({}, 120.0), ({"SCOUT_ANTHROPIC_TIMEOUT": "15"}, 15.0)])
async def test_every_request_carries_the_timeout_setting(env: dict[str, str], expected: float) -> None:
    standin = AnthropicStandIn()
    standin.queue_tool_use(TOOL_NAME, GOOD_INPUT)

    await from_settings(standin, Sleeps(), **env).extract(DEAL, NOTES, FIELD_MAP)

    [request] = standin.requests
    assert request.timeout == {"connect": expected, "read": expected, "write": expected, "pool": expected}


async def test_a_retry_after_longer_than_the_cap_fails_the_deal_at_once() -> None:
    standin = AnthropicStandIn()
    standin.queue_error(429, "rate_limit_error", "Output tokens per minute exceeded", {"retry-after": "90"})
    standin.queue_tool_use(TOOL_NAME, GOOD_INPUT)
    sleeps = Sleeps()

    with pytest.raises(ExtractionError) as caught:
        await from_settings(standin, sleeps).extract(DEAL, NOTES, FIELD_MAP)

    assert str(caught.value) == (
        "Claude rate limit (429) after 0 retries: Output tokens per minute exceeded [request req_standin_0001]; "
        "the API asked to wait 90 s before retrying, longer than SCOUT_RETRY_AFTER_CAP (30 s): failed for this "
        "run, first next run")
    assert sleeps == [] and len(standin.requests) == 1 and standin.pending == 1  # no wait, no second try


async def test_a_retry_after_as_an_http_date_is_capped_too() -> None:
    standin = AnthropicStandIn()
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    standin.queue_error(529, "overloaded_error", "Overloaded", {"retry-after": later})

    with pytest.raises(ExtractionError, match=r"asked to wait 3[56]\d\d s before retrying, longer than "
                                              r"SCOUT_RETRY_AFTER_CAP \(5 s\)"):
        await from_settings(standin, Sleeps(), SCOUT_RETRY_AFTER_CAP="5").extract(DEAL, NOTES, FIELD_MAP)


async def test_a_short_retry_after_is_honoured_once_by_scout_and_never_by_the_sdk() -> None:
    standin = AnthropicStandIn()
    standin.queue_error(429, "rate_limit_error", "slow down", {"retry-after": "2"})
    standin.queue_tool_use(TOOL_NAME, GOOD_INPUT)
    sleeps = Sleeps()

    result = await from_settings(standin, sleeps).extract(DEAL, NOTES, FIELD_MAP)

    assert len(result.findings) == 3
    assert sleeps == [2.0]
    # The SDK's own retry loop is off: it would have slept on its own, outside any cap.
    assert [r.headers["x-stainless-retry-count"] for r in standin.requests] == ["0", "0"]


async def test_without_retry_after_the_backoff_is_bounded_and_the_retries_counted() -> None:
    standin = AnthropicStandIn()
    standin.queue_error(529, "overloaded_error", "Overloaded", times=5)
    sleeps = Sleeps()

    with pytest.raises(ExtractionError, match=r"^Claude is overloaded \(529\) after 4 retries \[request "):
        await from_settings(standin, sleeps).extract(DEAL, NOTES, FIELD_MAP)

    assert len(standin.requests) == 5 and len(sleeps) == 4
    assert all(0 < s <= 8 for s in sleeps) and sum(sleeps) <= 0.5 + 1 + 2 + 4  # 0.5 s doubling, less jitter


async def test_a_timed_out_request_is_retried_then_named() -> None:
    def slow(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    settings = Settings(ANTHROPIC_API_KEY="sk-ant-test", SCOUT_ANTHROPIC_MAX_RETRIES="2")
    sleeps = Sleeps()
    ex = ClaudeExtractor.from_settings(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(slow)),
                                       sleep=sleeps)

    with pytest.raises(ExtractionError, match=r"^Claude request timed out \(SCOUT_ANTHROPIC_TIMEOUT\) after 2 retries$"):
        await ex.extract(DEAL, NOTES, FIELD_MAP)
    assert len(sleeps) == 2


# ---- the pass deadline -------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SlowModel(ScriptedModel):
    """Each reply takes `seconds` on the injected clock (and no real time)."""

    def __init__(self, clock: Clock, seconds: float):
        super().__init__(GOOD_SCRIPT)
        self.clock, self.seconds = clock, seconds

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.clock.now += self.seconds
        return super().handle(request)


async def scanned(settings: Settings) -> set[str]:
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        return set(await store.last_scanned(dry_run=True))
    finally:
        await store.aclose()


async def test_past_the_pass_deadline_the_remaining_deals_are_left_for_the_next_run(make_settings) -> None:
    settings = make_settings(SCOUT_CONCURRENCY="1", SCOUT_PASS_DEADLINE="10")
    await seed(settings.workspace, small_pipeline())
    clock = Clock()

    summary, _ = await run_job(settings, apply=False, extractor=SlowModel(clock, 6).extractor(), clock=clock)

    # d1 starts at 0 s and d2 at 6 s; at 12 s the deadline (10 s) has passed: d3, d4 and d5 wait.
    assert (summary.scanned, summary.deadline_left, summary.failed) == (2, 3, 0)
    assert await scanned(settings) == {"d1", "d2"}
    assert ("Pass deadline reached (SCOUT_PASS_DEADLINE=10 s): 3 deals left for the next run, where they come "
            "first.") in format_summary(summary).splitlines()

    second, _ = await run_job(settings, apply=False, cap=3, extractor=SlowModel(Clock(), 0).extractor())
    assert second.deadline_left == 0 and await scanned(settings) == {"d1", "d2", "d3", "d4", "d5"}


class HangingModel(AnthropicStandIn):
    """Never answers: without a bound the pass would wait for ever."""

    async def handle(self, request: httpx2.Request) -> httpx2.Response:  # type: ignore[override]
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_deal_still_extracting_at_the_deadline_is_cut_off_not_failed(make_settings) -> None:
    settings = make_settings(SCOUT_CONCURRENCY="1", SCOUT_PASS_DEADLINE="1.5")
    await seed(settings.workspace, small_pipeline())
    ticks = iter(range(1000))

    def clock() -> float:  # one second per reading: the deadline passes while d1 is being extracted
        return float(next(ticks))

    extractor = ClaudeExtractor(HangingModel().client(), model="claude-sonnet-5-5", max_tokens=1024)
    summary, _ = await run_job(settings, apply=False, extractor=extractor, clock=clock)

    assert (summary.scanned, summary.deadline_left, summary.failed) == (0, 5, 0)
    assert await scanned(settings) == set()
