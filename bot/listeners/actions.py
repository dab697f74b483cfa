"""Promote and Dismiss buttons on a posted suggestion.

Acknowledged at once; only reviewers get through; the engine decides and logs; the channel message is then
updated so everyone sees what happened. Non-reviewers and no-op clicks get an ephemeral note instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.reviewers import is_reviewer, rejection_text
from engine.fieldtypes import display
from engine.promote import ReviewInterrupted, ReviewOutcome, dismiss, promote
from engine.settings import Settings

log = logging.getLogger("scout.bot")


# An action row id as Slack hands it back: a positive integer SQLite can hold, nothing else.
_ROW_ID = re.compile(r"[1-9][0-9]{0,17}")

NOT_A_SUGGESTION = "This button does not name a suggestion Scout can act on; nothing was done."


async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the clicker, in the suggestion's thread."""
    message = body.get("message") or {}
    await client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"], text=text,
                                    thread_ts=message.get("thread_ts") or None)


def _message_ts(body: dict[str, Any]) -> str | None:
    return (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")


async def handle_review(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Whatever happens, the clicker hears something: a refusal, the result, or what went wrong."""
    try:
        await _review(settings, body, client)
    except Exception as exc:
        log.exception("review click could not be answered normally")
        try:
            await _tell(client, body, f":x: Scout could not answer that click: {blocks.esc(exc, 300)}")
        except Exception:
            log.exception("could not tell the reviewer either")


async def _review(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    user = body["user"]["id"]  # from the signed payload: the only identity a click carries
    action = body["actions"][0]
    if not await is_reviewer(settings, client, user):
        log.info("review click by non-reviewer %s refused", user)
        await _tell(client, body, rejection_text(settings, user))
        return
    raw, ts = str(action.get("value") or ""), _message_ts(body)
    if not _ROW_ID.fullmatch(raw) or ts is None:
        log.warning("review click by %s with button value %r refused", user, raw[:40])
        await _tell(client, body, NOT_A_SUGGESTION)
        return
    suggestion_id = int(raw)
    decide = promote if action["action_id"] == blocks.PROMOTE else dismiss
    try:
        result = await decide(suggestion_id, user, settings, click_id=action.get("action_ts"),
                              posted_at=(body["channel"]["id"], ts))
    except ReviewInterrupted as exc:
        log.exception("review of suggestion %s by %s was interrupted", suggestion_id, user)
        if exc.intent_pending:
            await _tell(client, body, f":warning: Scout could not confirm the promotion: {blocks.esc(exc, 300)}. "
                        "Whether the rep's field was written is not known yet; Scout asks the CRM and settles it "
                        f"on its next pass (see `scout log {exc.run_id}`).")
        else:
            await _tell(client, body, f":x: Scout could not record that: {blocks.esc(exc, 300)}. Nothing was written "
                        f"(see `scout log {exc.run_id}`).")
        return
    except Exception as exc:
        log.exception("review of suggestion %s by %s failed", suggestion_id, user)
        await _tell(client, body, f":x: Scout could not record that: {blocks.esc(exc, 300)}. Nothing was written.")
        return
    line = blocks.status_line(result)
    if result.outcome in (ReviewOutcome.ALREADY, ReviewOutcome.NOT_FOUND):
        await _tell(client, body, line if result.outcome is ReviewOutcome.ALREADY
                    else f":x: {blocks.esc(result.detail, 300)}")
        return
    message = body.get("message") or {}
    # The fallback text keeps naming the suggestion (notifications, search) and adds what happened to it.
    text = blocks.plain(f"Suggestion for {result.deal_name}: {result.scout_field} = {display(result.value)}") \
        + f" — {line}"
    try:
        await client.chat_update(channel=body["channel"]["id"], ts=ts, text=text,
                                 blocks=blocks.reviewed_blocks(message.get("blocks") or [], line,
                                                               keep_buttons=not result.final))
    except SlackApiError as exc:  # decided and logged all the same: say so to the one who clicked
        log.warning("could not update the suggestion message (%s)", exc.response.get("error"))
        await _tell(client, body, line)


def register(app: AsyncApp, settings: Settings) -> None:
    async def on_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await handle_review(settings, body, client)

    app.action(blocks.PROMOTE)(on_click)
    app.action(blocks.DISMISS)(on_click)
