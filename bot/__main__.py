"""`python -m bot web | socket | clock`: the Slack app over HTTP, over Socket Mode, or the scheduler."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.config import MissingSetting

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Scout's Slack processes.")
    parser.add_argument("process", choices=("web", "socket", "clock"),
                        help="web: HTTP mode on $PORT /slack/events; socket: Socket Mode (SLACK_APP_TOKEN); "
                             "clock: the scheduled pass (SCOUT_SCHEDULE)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request and job")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from engine.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        print(f"scout-bot: configuration error in {err.get('loc', ['?'])[0]}: {err.get('msg')}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.process == "web":
            from bot.web import serve_http

            serve_http(settings)
        elif args.process == "socket":
            from bot.web import serve_socket

            asyncio.run(serve_socket(settings))
        else:
            from bot.clock import run_clock

            asyncio.run(run_clock(settings))
    except MissingSetting as exc:
        print(f"scout-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # e.g. SCOUT_SCHEDULE is not a crontab, SCOUT_TIMEZONE unknown
        print(f"scout-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
