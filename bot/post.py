"""The run summary in the run-summary channel, and one threaded message per new suggestion.

The summary leads with the mode, so a rehearsal cannot be mistaken for a live run. A suggestion is posted
once: one already posted (by an earlier run) or already decided (promoted or dismissed) is not posted again.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import aiohttp
from pydantic import BaseModel
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.config import require, value, web_client
from bot.pacing import Pacer
from engine.errors import ScoutError
from engine.crm.base import CRMError
from engine.crm.factory import open_reader
from engine.jobs import open_log
from engine.models import RunSummary
from engine.provenance import ActionRow, RunRow
from engine.settings import Settings

log = logging.getLogger("scout.bot")


class PostFailed(ScoutError):
    """Slack refused or could not be reached; the message says what was posted. The pass itself is logged."""


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_HINTS = {
    "channel_not_found": "Check SCOUT_SUMMARY_CHANNEL (a channel ID) and that the bot is in that channel.",
    "not_in_channel": "Invite the bot to the run-summary channel (/invite @Scout).",
    "invalid_auth": "Check SLACK_BOT_TOKEN (the xoxb- token of the installed app).",
    "not_authed": "Check SLACK_BOT_TOKEN (the xoxb- token of the installed app).",
    "missing_scope": "Reinstall the app from manifest.yml so it has chat:write.",
}


class PostResult(BaseModel):
    channel: str
    ts: str
    posted: int  # suggestions posted in the thread
    deals: int = 0  # thread messages' deals
    waiting: int = 0  # deals past SCOUT_THREAD_DEALS, left for the review queue
    stopped: int = 0  # deals not posted because the process was asked to stop (the next run posts them)


def run_summary(run: RunRow) -> RunSummary:
    """The logged run in the form the summary formatters take."""
    reason = run.dry_run_reason or ("dry run" if run.dry_run else None)
    cap, total = run.cap or 0, run.total or 0
    return RunSummary(
        run_id=run.id, mode="DRY RUN" if run.dry_run else "LIVE", dry_run_reason=reason,
        written=run.written or 0, would_write=run.would_write or 0, skipped=run.skipped or 0,
        dropped=run.dropped or 0, failed=run.failed or 0, scanned=run.scanned or 0, total=total, cap=cap,
        not_reached=max(0, total - min(total, cap)), model=run.model or "",
    )


class DealContext(BaseModel):
    """What the thread shows around a deal's suggestions, read from the CRM (best effort)."""

    urls: dict[str, str | None] = {}
    notes: dict[str, tuple[str, str]] = {}  # note id -> (date, author)


async def deal_context(settings: Settings, rows: list[ActionRow]) -> DealContext:
    """Deal links (from SCOUT_DEAL_URL when set, else as the CRM reports them) and each quoted note's date/author."""
    ids = sorted({r.deal_id for r in rows if r.deal_id})
    out = DealContext(urls={i: None for i in ids})
    if not ids:
        return out
    if settings.deal_url_template:
        out.urls = {i: settings.deal_url_template.format(id=i) for i in ids}
    try:
        crm = await open_reader(settings)
    except CRMError as exc:
        log.warning("deal links and note dates left out: %s", exc)
        return out
    try:
        for deal_id in ids:
            try:
                if not settings.deal_url_template:
                    out.urls[deal_id] = (await crm.get_deal(deal_id)).url
                for note in await crm.list_notes(deal_id):
                    out.notes[note.id] = (note.created_at.date().isoformat(), note.author)
            except CRMError:
                pass  # a deal gone since the pass still gets its suggestions posted, unlinked
    finally:
        await crm.aclose()
    return out


def rep_fields(settings: Settings) -> dict[str, str]:
    """Each concept's rep field, by the concept's plain name (as log rows name it)."""
    return {str(c): f.rep.name for c, f in settings.field_map.concepts.items()}


def concept_labels(settings: Settings) -> dict[str, str]:
    """Each concept's label as the method or field map gives it."""
    return {str(c): f.label for c, f in settings.field_map.concepts.items()}


def by_deal(rows: list[ActionRow]) -> list[list[ActionRow]]:
    """Consecutive rows of one deal together (the rows come sorted by deal)."""
    groups: list[list[ActionRow]] = []
    for row in rows:
        if groups and groups[-1][0].deal_id == row.deal_id:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


async def post_run_summary(
    settings: Settings, run_id: int, *, client: AsyncWebClient | None = None, pacer: Pacer | None = None,
    note: str | None = None, stop: asyncio.Event | None = None,
) -> PostResult:
    """Post run `run_id`'s summary, then its new suggestions in the summary's thread. `note` adds a line.

    `stop` (set on SIGTERM) ends the thread between two messages: what was posted is recorded, the rest is
    left unposted for the next run to carry (and shows in App Home's queue meanwhile).
    """
    require(settings, "summary_channel")
    client = client or web_client(settings)
    pacer = pacer or Pacer()
    async with open_log(settings) as store:
        run = await store.get_run(run_id)
        if run is None or run.kind != "pass":
            raise ValueError(f"run {run_id} is not a pass in the provenance log; nothing to post")
        summary = run_summary(run)
        order = {str(c): i for i, c in enumerate(settings.field_map.concepts)}
        # Grouped by deal, the method's order within a deal: passes log deals concurrently, readers want them together.
        # What an earlier post left unposted comes along: nothing unposted is lost.
        fresh = sorted(await store.new_suggestions(run_id) + await store.unposted_earlier(run_id),
                       key=lambda r: ((r.deal_name or "").casefold(), r.deal_id or "", order.get(r.concept or "", 99)))
        deals = by_deal(fresh)
        posting, waiting = deals[:settings.thread_deals], deals[settings.thread_deals:]
        ctx = await deal_context(settings, [r for d in posting for r in d])
        reps, labels = rep_fields(settings), concept_labels(settings)
        try:
            head = await pacer.call(partial(
                client.chat_postMessage, channel=value(settings, "summary_channel"),
                text=blocks.summary_text(summary),
                blocks=blocks.summary_blocks(summary, failed=run.status == "failed", new_suggestions=len(fresh),
                                             note=note, deals_posted=len(posting), deals_waiting=len(waiting)),
                unfurl_links=False, unfurl_media=False,
            ))
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            why = _why(exc)
            raise PostFailed(f"Slack refused the run summary (chat.postMessage: {why}); nothing was posted. "
                             + _HINTS.get(why, "The pass itself is logged: see `scout log`.")) from exc
        channel, thread_ts = head["channel"], head["ts"]
        stopped = 0
        for done, deal in enumerate(posting):
            if stop is not None and stop.is_set():
                stopped = len(posting) - done
                log.warning("posting of run %s stopped after %d of %d deal(s); the next run posts the other %d",
                            run_id, done, len(posting), stopped)
                break
            url = ctx.urls.get(deal[0].deal_id or "")
            messages = blocks.deal_messages(deal, rep_fields=reps, url=url, notes=ctx.notes, labels=labels)
            for rows, message in messages:
                try:
                    reply = await pacer.call(partial(
                        client.chat_postMessage, channel=channel, thread_ts=thread_ts, text=blocks.deal_text(rows),
                        blocks=message, unfurl_links=False, unfurl_media=False,
                    ))
                except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    raise PostFailed(f"Slack stopped posting the thread (chat.postMessage: {_why(exc)}) after {done} "
                                     f"of {len(posting)} deal(s); the summary is posted, the rest are not.") from exc
                # Recorded message by message: if posting stops half-way, what was posted is not posted again.
                for row in rows:
                    await store.record_post(row, channel, reply["ts"], thread_ts)
    sent = posting[:len(posting) - stopped]
    return PostResult(channel=channel, ts=thread_ts, posted=sum(len(d) for d in sent), deals=len(sent),
                      waiting=len(waiting), stopped=stopped)
