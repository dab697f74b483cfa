"""A thread message rebuilt from the log, for decisions made away from it (App Home, the edit modal).

The message a suggestion was posted in is drawn again from what the log knows: the suggestions posted in it
and what the latest review of each said. So it shows the same state whichever place the decision came from.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.post import concept_labels, deal_context, rep_fields
from engine.jobs import open_log
from engine.promote import ReviewResult
from engine.provenance import ActionRow
from engine.settings import Settings
from engine.store import suggestion_key

log = logging.getLogger("scout.bot")


async def refresh_messages(settings: Settings, client: AsyncWebClient, suggestion_ids: list[int]) -> None:
    """Update every thread message holding one of these suggestions. Best effort: the decisions are logged."""
    if not suggestion_ids:
        return
    messages: dict[tuple[str, str], tuple[list[ActionRow], dict[str, str], tuple[int, int] | None]] = {}
    async with open_log(settings) as store:
        for sid in suggestion_ids:
            row = await store.get_action(sid)
            post = await store.post_for(suggestion_key(row)) if row is not None else None
            if post is None or (post.channel, post.ts) in messages:
                continue
            rows = await store.posted_with(post.channel, post.ts)
            parts = (await store.deal_messages_in(post.channel, post.thread_ts, rows[0].deal_id or "")
                     if post.thread_ts and rows else [])
            part_of = (parts.index(post.ts) + 1, len(parts)) if post.ts in parts else None
            messages[(post.channel, post.ts)] = (rows, await store.review_results([suggestion_key(r) for r in rows]),
                                                 part_of)
    if not messages:
        return
    ctx = await deal_context(settings, [r for rows, _, _ in messages.values() for r in rows])
    reps, labels = rep_fields(settings), concept_labels(settings)
    for (channel, ts), (rows, results, part_of) in messages.items():
        ((_, shown),) = blocks.deal_messages(rows, rep_fields=reps, url=ctx.urls.get(rows[0].deal_id or ""),
                                            notes=ctx.notes, labels=labels, part_of=part_of)[:1]
        texts = []
        for row in rows:
            if (raw := results.get(suggestion_key(row))) is None:
                continue
            result = ReviewResult.model_validate_json(raw)
            line = blocks.status_line(result)
            shown = blocks.reviewed_blocks(shown, line, keep_buttons=not result.final, suggestion_id=row.id or 0)
            texts.append(f"{row.field}: {line}")
        try:
            await client.chat_update(channel=channel, ts=ts, blocks=shown,
                                     text=(blocks.deal_text(rows) + "\n" + "\n".join(texts))[:3000])
        except SlackApiError as exc:
            log.warning("could not update the thread message %s (%s)", ts, exc.response.get("error"))
