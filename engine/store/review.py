"""Slack review state: where each suggestion was posted, and reviewers' decisions on it."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from engine.store.actions import ActionRow


class SlackPostRow(BaseModel):
    suggestion_key: str
    suggestion_id: int
    run_id: int | None
    channel: str
    ts: str
    thread_ts: str | None
    posted_at: str


class ReviewClaim(BaseModel):
    """What `record_review` did: logged a new row (`action_id`), or found an earlier one and logged nothing."""

    action_id: int | None = None
    earlier: ActionRow | None = None  # the decision or replayed row that made this one a no-op
    earlier_result: str | None = None  # for a replayed click: the result JSON shown the first time
    replay: bool = False


class ReviewState(Protocol):
    async def unposted_earlier(self, run_id: int) -> list[ActionRow]:
        """Earlier passes' suggestions (same mode) never posted nor decided, and not replaced since."""
        ...

    async def post_for(self, key: str) -> SlackPostRow | None: ...

    async def posted_with(self, channel: str, ts: str) -> list[ActionRow]:
        """The suggestions one Slack message holds, in the order they were recorded."""
        ...

    async def deal_messages_in(self, channel: str, thread_ts: str, deal_id: str) -> list[str]:
        """The messages (ts, in posting order) one deal's suggestions took in one thread: its parts."""
        ...

    async def record_post(self, row: ActionRow, channel: str, ts: str, thread_ts: str | None) -> None: ...

    async def final_decision(self, key: str) -> ActionRow | None: ...

    async def replayed_click(self, click_id: str | None) -> ReviewClaim | None: ...

    async def record_review(
        self, row: ActionRow, *, suggestion: ActionRow, decision: str, click_id: str | None, exclusive: bool
    ) -> ReviewClaim: ...

    async def set_review_result(self, action_id: int, result: str) -> None: ...
