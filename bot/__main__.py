"""`python -m bot web | socket | clock`: the Slack app over HTTP, over Socket Mode, or the scheduler."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from engine.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ScoutError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Scout's Slack processes.")
    parser.add_argument("process", choices=("web", "socket", "clock"),
                        help="web: HTTP mode on $PORT /slack/events; socket: Socket Mode (SLACK_APP_TOKEN); "
                             "clock: the scheduled pass (SCOUT_SCHEDULE)")
    parser.add_argument("--now", action="store_true",
                        help="clock only: run one pass at start (e.g. after a deploy), then keep to the schedule")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request and job")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from engine.startup import load_settings

    try:
        settings = load_settings()
    except ScoutError as exc:
        print(f"scout-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        if args.process == "web":
            from bot.web import serve_http

            serve_http(settings)
        elif args.process == "socket":
            from bot.web import serve_socket

            asyncio.run(serve_socket(settings))
        else:
            from bot.clock import run_clock

            asyncio.run(run_clock(settings, now=args.now))
    except ScoutError as exc:  # the one root: a one-line message and the exit code it carries
        print(f"scout-bot: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # e.g. SCOUT_SCHEDULE is not a crontab, SCOUT_TIMEZONE unknown
        print(f"scout-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED  # as `scout` does; the clock stops on SIGINT/SIGTERM by itself and exits 0
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
