"""How long App Home takes to publish a reviewer's queue, for a demo pipeline of N deals after one rehearsal.

    python bench/bench_home.py                  # 212 and 1000 demo deals
    python bench/bench_home.py --deals 5000

What is timed is what `app_home_opened` does: the queue read from the log's reader, the CRM checked in one
batched read, one page of note dates and links, the view built and published to the local Slack stand-in
(loopback). Slack wants the view within a few seconds of the tab opening; this shows how the time grows
with the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.home import publish_home, read_queue  # noqa: E402
from engine.crm.local import LocalCRM  # noqa: E402
from engine.demo import generate_demo  # noqa: E402
from engine.jobs import run_job  # noqa: E402
from engine.settings import Settings  # noqa: E402
from tests.standins.slack_api import BOT_TOKEN, SlackStandIn  # noqa: E402


async def one(deals: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(SCOUT_DATA_DIR=tmp, SCOUT_EXTRACTOR="offline", SCOUT_SCAN_CAP=str(deals),
                          SCOUT_REVIEWERS="U0BENCH")
        slack = await SlackStandIn().start()
        try:
            os.environ.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.base_url)
            settings = Settings()
            crm = await LocalCRM.open(settings.workspace, writable=True, create=True)
            await crm.load(generate_demo(seed=7, n_deals=deals))
            await crm.aclose()
            await run_job(settings, apply=False)
            started = time.perf_counter()
            queue = await read_queue(settings)
            read = time.perf_counter() - started
            started = time.perf_counter()
            await publish_home(settings, slack.client(), "U0BENCH")
            total = time.perf_counter() - started
            blocks = len(slack.homes["U0BENCH"]["blocks"])
        finally:
            await slack.stop()
    print(f"{deals:>6} deals  {len(queue.rows):>6} pending  queue read {read * 1000:7.0f} ms  "
          f"open to published {total * 1000:7.0f} ms  ({blocks} blocks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", default="212,1000", help="comma-separated pipeline sizes")
    args = parser.parse_args()
    for n in (int(x) for x in args.deals.split(",")):
        asyncio.run(one(n))


if __name__ == "__main__":
    main()
