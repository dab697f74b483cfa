"""The Slack app's side of the engine's SummarySink seam: a pass's summary and suggestions in the channel."""

from __future__ import annotations

from bot.config import require
from bot.post import PostResult, post_run_summary
from engine.settings import Settings


class SlackSummarySink:
    def __init__(self, settings: Settings):
        self.settings = settings

    def ready(self) -> None:
        require(self.settings, "slack_bot_token", "summary_channel")

    async def post(self, run_id: int) -> PostResult:
        return await post_run_summary(self.settings, run_id)
