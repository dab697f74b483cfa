"""Promote and Dismiss buttons on a posted suggestion.

Acknowledged at once; only reviewers get through; the engine decides and logs; the channel message is then
updated so everyone sees what happened. Non-reviewers and no-op clicks get an ephemeral note instead.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.reviewers import is_reviewer, rejection_text
from engine.fieldtypes import display
from engine.promote import ReviewOutcome, dismiss, promote
from engine.settings import Settings

log = logging.getLogger("scout.bot")


async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the clicker, in the suggestion's thread."""
    message = body.get("message") or {}
    await client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"], text=text,
                                    thread_ts=message.get("thread_ts") or None)


async def handle_review(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    user = body["user"]["id"]
    action = body["actions"][0]
    if not await is_reviewer(settings, client, user):
        log.info("review click by non-reviewer %s refused", user)
        await _tell(client, body, rejection_text(settings, user))
        return
    try:
        suggestion_id = int(action["value"])
    except (KeyError, TypeError, ValueError):
        await _tell(client, body, "This button does not name a suggestion; nothing was done.")
        return
    decide = promote if action["action_id"] == blocks.PROMOTE else dismiss
    try:
        result = await decide(suggestion_id, user, settings, click_id=action.get("action_ts"))
    except Exception as exc:
        log.exception("review of suggestion %s by %s failed", suggestion_id, user)
        await _tell(client, body, f"Scout could not record that: {exc}. Nothing was written.")
        return
    line = blocks.status_line(result)
    if result.outcome in (ReviewOutcome.ALREADY, ReviewOutcome.NOT_FOUND):
        await _tell(client, body, line if result.outcome is ReviewOutcome.ALREADY else f":x: {result.detail}")
        return
    message = body.get("message") or {}
    ts = message.get("ts") or (body.get("container") or {}).get("message_ts")
    # The fallback text keeps naming the suggestion (notifications, search) and adds what happened to it.
    text = f"Suggestion for {result.deal_name}: {result.scout_field} = {display(result.value)} — {line}"
    await client.chat_update(channel=body["channel"]["id"], ts=ts, text=text,
                             blocks=blocks.reviewed_blocks(message.get("blocks") or [], line,
                                                           keep_buttons=not result.final))


def register(app: AsyncApp, settings: Settings) -> None:
    async def on_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await handle_review(settings, body, client)

    app.action(blocks.PROMOTE)(on_click)
    app.action(blocks.DISMISS)(on_click)
