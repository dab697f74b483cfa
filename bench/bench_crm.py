"""One pass over 10,000 deals through each CRM stand-in, at the vendor's documented rate limit.

    python bench/bench_crm.py                     # Attio, HubSpot Starter (100/10 s) and Professional (190/10 s)
    python bench/bench_crm.py --deals 2000 --latency-ms 20-150              # with network jitter
    python bench/bench_crm.py --deals 2000 --latency-ms 20-150 --headroom 5 # pace 5% under the limit

What runs is the real pass (engine.runner.run_pass: ordering, notes, offline extraction, citations, decisions,
the provenance log in a temporary SQLite file, live writes) against the stand-ins in tests/standins, with the
real adapters and their client-side limiters. Each deal has one note that yields five suggestions (metrics,
economic buyer, decision criteria, paper process, competition), so a live pass makes five scout_* writes per
deal, as a real pipeline does.

Time is virtual. The pass runs on an event loop whose clock only moves when every task is waiting on a
timer: it then jumps to the next timer instead of sleeping. The adapters' limiters, the retry waits and the
stand-ins' own rate windows all read that clock, so the "pass" figure is the time the rate limits (and the
simulated network latency, when given) force on a pass, measured rather than estimated; the engine's own CPU
and SQLite time count as zero (bench/bench_pass.py measures those). The floor is what the documented limit
allows at best: the requests the pass needed, divided by the rate (for Attio, reads and writes have separate
budgets, so the floor is the larger of the two). A pass can come in a hair under its floor: the first
window's whole budget is available at once.

The 429s column counts refusals the stand-in (which enforces the documented limit on its own clock, by
arrival time) answered. With no latency a limiter at exactly the documented rate meets none; with jittery
latency, requests sent in order can arrive bunched, which is what `--latency-ms` and `--headroom` explore.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import aiosqlite
import aiosqlite.core
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.crm.attio import AttioCRM  # noqa: E402
from engine.crm.hubspot import HubSpotCRM  # noqa: E402
from engine.extract.offline import OfflineExtractor  # noqa: E402
from engine.gate import Gate  # noqa: E402
from engine.medic import default_field_map  # noqa: E402
from engine.models import Deal, Note, WorkspaceData  # noqa: E402
from engine.provenance import ProvenanceStore  # noqa: E402
from engine.runner import run_pass  # noqa: E402
from tests.standins import attio as attio_standin  # noqa: E402
from tests.standins.clock import VirtualTimeLoop  # noqa: E402
from tests.standins import hubspot as hubspot_standin  # noqa: E402

EPOCH = 1_800_000_000.0  # Attio's Retry-After is an HTTP date: its clock must look like wall time
ATTIO_READS, ATTIO_WRITES = 100, 25  # per second (Attio's documented limits)
HUBSPOT_TIERS = {"Free/Starter": 100, "Professional/Enterprise": 190}  # per 10 seconds (private apps)


@contextmanager
def sqlite_work_counted() -> Iterator[None]:
    """Tell a VirtualTimeLoop when aiosqlite has work on its thread (a bench-only hook, undone on exit)."""
    original = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        loop.sqlite_pending += 1  # type: ignore[attr-defined]
        try:
            return await original(self, fn, *args, **kwargs)
        finally:
            loop.sqlite_pending -= 1  # type: ignore[attr-defined]

    aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        aiosqlite.core.Connection._execute = original  # type: ignore[method-assign]


def pipeline(n: int) -> WorkspaceData:
    fm = default_field_map()
    start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    fields = [c.rep for c in fm.concepts.values()] + fm.scout_fields()
    deals = [Deal(id=f"d{i:05d}", name=f"Bench deal {i:05d}", created_at=start + timedelta(minutes=i))
             for i in range(n)]
    notes = [Note(id=f"n{i:05d}", deal_id=f"d{i:05d}", author="Alex Rep",
                  created_at=start + timedelta(days=1, minutes=i),
                  text=f"Call recap for rollout {i}. Dana Ruiz, the CFO, signs off on anything over 50k. Their goal is"
                       " to cut month-end close from 10 days to 4. Security and SSO integrations are their main"
                       " criteria. Contract is now with legal for review. They are also evaluating Blackline"
                       " against us.")
             for i in range(n)]
    return WorkspaceData(fields=fields, deals=deals, notes=notes)


@dataclass
class Result:
    vendor: str
    limit: str
    deals: int
    reads: int
    writes: int
    floor_s: float
    pass_s: float
    throttled: int
    written: int
    failed: int
    wall_s: float
    missing: int = 0  # writes the log calls applied that the CRM does not hold


def _latency(spec: tuple[float, float], seed: int) -> Callable[[], float]:
    rng = random.Random(seed)
    lo, hi = spec
    return lambda: rng.uniform(lo, hi) if hi > 0 else 0.0


class Wire:
    """The network between adapter and stand-in: optional latency each way, and a record of every exchange."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response], latency: Callable[[], float]):
        self.handler = handler
        self.latency = latency
        self.seen: list[tuple[str, str, int]] = []  # (method, path, status)

    def transport(self) -> httpx.MockTransport:
        async def over_the_network(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(self.latency())  # the request travels: the server stamps it on arrival
            response = self.handler(request)
            self.seen.append((request.method, request.url.path, response.status_code))
            await asyncio.sleep(self.latency())  # and the answer travels back
            return response

        return httpx.MockTransport(over_the_network)

    def counts(self, is_write: Callable[[str, str], bool]) -> tuple[int, int, int]:
        """(reads, writes) the server accepted, and the 429s it answered."""
        accepted = [(m, p) for m, p, status in self.seen if status != 429]
        writes = sum(1 for m, p in accepted if is_write(m, p))
        return len(accepted) - writes, writes, sum(1 for *_, status in self.seen if status == 429)


async def _pass(crm: Any, concurrency: int, n: int) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        store = await ProvenanceStore.open(Path(tmp) / "log.sqlite")
        try:
            started = loop.time()
            summary = await run_pass(crm=crm, writer=crm, store=store, extractor=OfflineExtractor(),
                                     field_map=default_field_map(), gate=Gate(live=True, reason=None), cap=n,
                                     concurrency=concurrency)
            return summary, loop.time() - started
        finally:
            await store.aclose()
            await crm.aclose()


def _paced(rate: int, headroom: float) -> int:
    return max(1, int(rate * (1 - headroom)))


async def bench_attio(n: int, concurrency: int, latency: tuple[float, float], seed: int, headroom: float) -> Result:
    loop = asyncio.get_running_loop()
    wall = lambda: EPOCH + loop.time()  # noqa: E731
    standin = attio_standin.AttioStandIn(clock=wall, reads_per_s=ATTIO_READS, writes_per_s=ATTIO_WRITES)
    standin.load(pipeline(n))
    wire = Wire(standin.handler, _latency(latency, seed))
    client = httpx.AsyncClient(base_url=attio_standin.BASE_URL, headers={"Authorization": f"Bearer {standin.token}"},
                               transport=wire.transport())
    crm = AttioCRM(client, default_field_map(), reads_per_s=_paced(ATTIO_READS, headroom),
                   writes_per_s=_paced(ATTIO_WRITES, headroom), sleep=asyncio.sleep, clock=wall)
    began = time.perf_counter()
    summary, elapsed = await _pass(crm, concurrency, n)
    # The stand-in's rule: GETs and record queries are reads, everything else is a write.
    reads, writes, refused = wire.counts(lambda m, p: m != "GET" and not p.endswith("/records/query"))
    floor = max(reads / ATTIO_READS, writes / ATTIO_WRITES)
    limit = f"{ATTIO_READS} reads/s + {ATTIO_WRITES} writes/s"
    return Result("attio", limit, n, reads, writes, floor, elapsed, refused, summary.written, summary.failed,
                  time.perf_counter() - began)


async def bench_hubspot(
    n: int, concurrency: int, latency: tuple[float, float], seed: int, tier: str, headroom: float
) -> Result:
    loop = asyncio.get_running_loop()
    budget = HUBSPOT_TIERS[tier]
    standin = hubspot_standin.HubSpotStandIn(clock=loop.time, requests_per_10s=budget)
    standin.load(pipeline(n))
    wire = Wire(standin.handler, _latency(latency, seed))
    client = httpx.AsyncClient(base_url=hubspot_standin.BASE_URL,
                               headers={"Authorization": f"Bearer {standin.token}"}, transport=wire.transport())
    crm = HubSpotCRM(client, default_field_map(), requests_per_10s=_paced(budget, headroom), sleep=asyncio.sleep,
                     clock=loop.time)
    began = time.perf_counter()
    summary, elapsed = await _pass(crm, concurrency, n)
    reads, writes, refused = wire.counts(
        lambda m, p: m in ("PATCH", "PUT", "DELETE") or (m == "POST" and not p.endswith(("/search", "/batch/read"))))
    return Result("hubspot", f"{budget} requests/10 s ({tier})", n, reads, writes, (reads + writes) / (budget / 10.0),
                  elapsed, refused, summary.written, summary.failed, time.perf_counter() - began)


def _run(coro_factory: Callable[[], Any]) -> Result:
    with sqlite_work_counted(), asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro_factory())


def _minutes(seconds: float) -> str:
    return f"{seconds:,.1f} s ({seconds / 60:,.1f} min)"


def report(results: list[Result], latency: tuple[float, float], concurrency: int, headroom: float) -> str:
    lat = "none" if latency[1] <= 0 else f"{latency[0] * 1000:.0f}-{latency[1] * 1000:.0f} ms each way"
    paced = "at the documented rate" if not headroom else f"{headroom:g}% below the documented rate"
    lines = [
        f"CRM pass benchmark: one live pass, {results[0].deals:,} deals, 1 note and 5 scout_* writes each; "
        f"offline extractor; concurrency {concurrency}; network latency {lat}; adapters paced {paced}.",
        "Virtual time: 'pass' is the time the rate limits (and latency) force; engine CPU and SQLite count as zero;",
        "'floor' is requests / documented rate; 'wall' is how long this benchmark took to simulate it.",
        "",
        f"{'vendor':<8} {'limit':<44} {'reads':>7} {'writes':>7} {'calls/deal':>10} "
        f"{'floor':>22} {'pass':>22} {'pass/floor':>10} {'429s':>5} {'written':>8} {'wall':>7}",
    ]
    for r in results:
        per_deal = (r.reads + r.writes) / r.deals
        lines.append(
            f"{r.vendor:<8} {r.limit:<44} {r.reads:>7,} {r.writes:>7,} {per_deal:>10.2f} "
            f"{_minutes(r.floor_s):>22} {_minutes(r.pass_s):>22} {r.pass_s / r.floor_s:>10.3f} {r.throttled:>5} "
            f"{r.written:>8,} {r.wall_s:>6.1f}s"
        )
        if r.failed:
            lines.append(f"         {r.failed} failed action(s): see the run's log")
    return "\n".join(lines)


def _parse_latency(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    low = float(lo) / 1000
    return low, (float(hi) / 1000 if hi else low)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4, help="SCOUT_CONCURRENCY (default 4)")
    parser.add_argument("--latency-ms", default="0", help="one-way network latency, e.g. 40 or 20-150 (uniform)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--headroom", type=float, default=0.0,
                        help="pace the adapters this many percent below the documented rate (default 0)")
    parser.add_argument("--vendor", choices=("attio", "hubspot", "all"), default="all")
    args = parser.parse_args(argv)
    latency = _parse_latency(args.latency_ms)
    headroom = args.headroom / 100
    results = []
    if args.vendor in ("attio", "all"):
        results.append(_run(lambda: bench_attio(args.deals, args.concurrency, latency, args.seed, headroom)))
    if args.vendor in ("hubspot", "all"):
        for tier in HUBSPOT_TIERS:
            results.append(_run(
                lambda t=tier: bench_hubspot(args.deals, args.concurrency, latency, args.seed, t, headroom)))
    print(report(results, latency, args.concurrency, args.headroom))


if __name__ == "__main__":
    main()
