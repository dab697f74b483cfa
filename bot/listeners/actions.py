"""Promote, Dismiss and Promote all, in a thread message or in App Home's queue: one handler for both.

Acknowledged at once; only reviewers get through; the engine decides and logs; the thread message is then
updated so everyone sees what happened. Non-reviewers and no-op clicks get an ephemeral note instead (in
App Home: a line at the top of the re-published queue). A decision made in App Home updates the thread
message the suggestion was posted in too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.home import publish_home, state_of
from bot.reviewers import is_reviewer, rejection_text
from bot.thread import refresh_messages
from engine.fieldtypes import display
from engine.promote import ReviewInterrupted, ReviewOutcome, dismiss, promote
from engine.settings import Settings

log = logging.getLogger("scout.bot")


# An action row id as Slack hands it back: a positive integer SQLite can hold, nothing else.
_ROW_ID = re.compile(r"[1-9][0-9]{0,17}")

NOT_A_SUGGESTION = "This button does not name a suggestion Scout can act on; nothing was done."


def in_home(body: dict[str, Any]) -> bool:
    """A click in App Home (a view) rather than in a channel message."""
    return (body.get("container") or {}).get("type") == "view" or "channel" not in body


async def tell(settings: Settings, client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """A note to the clicker only: ephemeral in the suggestion's thread, or atop their App Home queue."""
    if in_home(body):
        await publish_home(settings, client, body["user"]["id"], state_of(body.get("view")), notice=text)
        return
    message = body.get("message") or {}
    await client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"], text=text,
                                    thread_ts=message.get("thread_ts") or None)


def _message_ts(body: dict[str, Any]) -> str | None:
    return (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")


async def handle_review(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Whatever happens, the clicker hears something: a refusal, the result, or what went wrong."""
    try:
        if body["actions"][0].get("action_id") == blocks.PROMOTE_ALL:
            await _review_all(settings, body, client)
        else:
            await _review(settings, body, client)
    except Exception as exc:
        log.exception("review click could not be answered normally")
        try:
            await tell(settings, client, body, f":x: Scout could not answer that click: {blocks.esc(exc, 300)}")
        except Exception:
            log.exception("could not tell the reviewer either")


async def _review(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    user = body["user"]["id"]  # from the signed payload: the only identity a click carries
    action = body["actions"][0]
    if not await is_reviewer(settings, client, user):
        log.info("review click by non-reviewer %s refused", user)
        await tell(settings, client, body, rejection_text(settings, user))
        return
    raw, ts = str(action.get("value") or ""), _message_ts(body)
    if not _ROW_ID.fullmatch(raw) or (ts is None and not in_home(body)):
        log.warning("review click by %s with button value %r refused", user, raw[:40])
        await tell(settings, client, body, NOT_A_SUGGESTION)
        return
    decide = promote if action["action_id"] == blocks.PROMOTE else dismiss
    await _settle(settings, body, client, decide, [int(raw)], click_id=action.get("action_ts"), ts=ts)


async def _review_all(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Promote all: each suggestion the button names, one by one, exactly as its own Promote would."""
    user = body["user"]["id"]
    action = body["actions"][0]
    if not await is_reviewer(settings, client, user):
        log.info("promote-all click by non-reviewer %s refused", user)
        await tell(settings, client, body, rejection_text(settings, user))
        return
    raw, ts = blocks.promote_all_ids(str(action.get("value") or "")), _message_ts(body)
    if not raw or not all(_ROW_ID.fullmatch(r) for r in raw) or (ts is None and not in_home(body)):
        log.warning("promote-all click by %s with button value %r refused", user, str(action.get("value"))[:40])
        await tell(settings, client, body, NOT_A_SUGGESTION)
        return
    await _settle(settings, body, client, promote, [int(r) for r in raw], click_id=action.get("action_ts"), ts=ts)


async def _settle(settings: Settings, body: dict[str, Any], client: AsyncWebClient, decide: Any, ids: list[int],
                  *, click_id: str | None, ts: str | None) -> None:
    """Decide each suggestion, then update the one message in place; what cannot be shown there is told.

    From App Home (no message): the thread messages holding them are rebuilt from the log, and the queue
    is re-published with what happened at its top."""
    home = in_home(body)
    user = body["user"]["id"]
    channel = None if home else body["channel"]["id"]
    posted_at = None if home or channel is None or ts is None else (channel, ts)
    message = body.get("message") or {}
    shown: list[Any] = message.get("blocks") or []
    changed, notes, texts, decided = False, [], [], []
    for suggestion_id in ids:
        # One click id per suggestion: a replayed Promote all is recognised suggestion by suggestion.
        click = click_id if len(ids) == 1 or click_id is None else f"{click_id}#{suggestion_id}"
        try:
            result = await decide(suggestion_id, user, settings, click_id=click, posted_at=posted_at)
        except ReviewInterrupted as exc:
            log.exception("review of suggestion %s by %s was interrupted", suggestion_id, user)
            if exc.intent_pending:
                notes.append(f":warning: Scout could not confirm the promotion: {blocks.esc(exc, 300)}. "
                             "Whether the rep's field was written is not known yet; Scout asks the CRM and settles "
                             f"it on its next pass (see `scout log {exc.run_id}`).")
            else:
                notes.append(f":x: Scout could not record that: {blocks.esc(exc, 300)}. Nothing was written "
                             f"(see `scout log {exc.run_id}`).")
            continue
        except Exception as exc:
            log.exception("review of suggestion %s by %s failed", suggestion_id, user)
            notes.append(f":x: Scout could not record that: {blocks.esc(exc, 300)}. Nothing was written.")
            continue
        line = blocks.status_line(result)
        if result.outcome in (ReviewOutcome.ALREADY, ReviewOutcome.NOT_FOUND):
            notes.append(line if result.outcome is ReviewOutcome.ALREADY else f":x: {blocks.esc(result.detail, 300)}")
            continue
        shown = blocks.reviewed_blocks(shown, line, keep_buttons=not result.final, suggestion_id=suggestion_id)
        changed = True
        decided.append(suggestion_id)
        # The fallback text keeps naming the suggestion (notifications, search) and adds what happened to it.
        texts.append(blocks.plain(f"Suggestion for {result.deal_name}: {result.scout_field} = "
                                  f"{display(result.value)}") + f" — {line}")
    if home:
        await refresh_messages(settings, client, decided)
        await publish_home(settings, client, user, state_of(body.get("view")), notice="\n".join(texts + notes)[:3000])
        return
    if changed and channel is not None and ts is not None:
        try:
            await client.chat_update(channel=channel, ts=ts, text="\n".join(texts)[:3000], blocks=shown)
        except SlackApiError as exc:  # decided and logged all the same: say so to the one who clicked
            log.warning("could not update the suggestion message (%s)", exc.response.get("error"))
            notes.extend(texts)
    if notes:
        await tell(settings, client, body, "\n".join(notes)[:3000])


def register(app: AsyncApp, settings: Settings) -> None:
    async def on_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await handle_review(settings, body, client)

    app.action(blocks.PROMOTE)(on_click)
    app.action(blocks.DISMISS)(on_click)
    app.action(blocks.PROMOTE_ALL)(on_click)
