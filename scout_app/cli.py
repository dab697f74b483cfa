"""The `scout` console script: the engine's CLI with the Slack app as the place `run --post` reports to."""

from __future__ import annotations

import sys
from typing import Sequence

from bot.sink import SlackSummarySink
from engine import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, summary_sink=SlackSummarySink)


if __name__ == "__main__":
    sys.exit(main())
