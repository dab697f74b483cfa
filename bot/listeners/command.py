"""`/scout NAME`: acknowledged at once, then an ephemeral read-only answer through the response_url.

Read-only by construction: a CRM reader (no write methods), the log opened `mode=ro`, and a fresh
extraction that bypasses the cache (a cache write would be a write).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import blocks
from engine.crm.base import CRMError
from engine.crm.factory import open_reader
from engine.dealview import lookup
from engine.extract.base import Extractor
from engine.provenance import open_log_reader
from engine.store import LogReader
from engine.settings import Settings

log = logging.getLogger("scout.bot")

Answer = tuple[list[blocks.Block], str]


async def answer(settings: Settings, query: str, extractor: Extractor | None) -> Answer:
    if not query:
        return blocks.usage_blocks(), "Usage: /scout DEAL NAME"
    try:
        crm = await open_reader(settings)
    except CRMError as exc:
        return blocks.error_blocks(f"Scout cannot read the CRM: {exc}"), "Scout cannot read the CRM"
    store: LogReader | None = None
    try:
        if settings.shared_log or settings.log_db.exists():
            store = await open_log_reader(settings.log_target)
        result = await lookup(query, crm, store, extractor, settings.field_map)
    except CRMError as exc:
        return blocks.error_blocks(f"Scout cannot read the CRM: {exc}"), "Scout cannot read the CRM"
    finally:
        await crm.aclose()
        if store is not None:
            await store.aclose()
    if result.view is not None:
        return blocks.deal_view_blocks(result.view, fresh_ran=extractor is not None), blocks.deal_view_text(result.view)
    if result.candidates:
        return blocks.candidates_blocks(result), blocks.plain(f"'{query}' matches {result.total} deals")
    return blocks.not_found_blocks(query), blocks.plain(f"No deal matches '{query}'")


def register(app: AsyncApp, settings: Settings, *, extractor: Extractor | None) -> None:
    @app.command("/scout")
    async def scout_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # within Slack's 3 seconds; the lookup (and a model call) may take longer
        query = " ".join((command.get("text") or "").split())
        try:
            shown, text = await answer(settings, query, extractor)
        except Exception as exc:  # the user should hear something rather than wait forever
            log.exception("/scout %r failed", query)
            shown, text = blocks.error_blocks(f"Scout could not answer: {exc}"), "Scout could not answer"
        await respond(text=text, blocks=shown, response_type="ephemeral", replace_original=False)
