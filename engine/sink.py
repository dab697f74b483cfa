"""Where `scout run --post` reports a pass. The engine names the seam; the Slack app implements it and the
application layer (scout_app) plugs it in, so the engine never imports the bot."""

from __future__ import annotations

from typing import Callable, Protocol

from engine.settings import Settings


class SummarySink(Protocol):
    def ready(self) -> None:
        """Raise a ScoutError now if posting cannot work: a live pass must not run only to go unreported."""

    async def post(self, run_id: int) -> object:
        """Report logged pass `run_id` (its summary and its new suggestions)."""


SinkFactory = Callable[[Settings], SummarySink]
