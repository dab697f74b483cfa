"""Message Batches for a pass: every uncached extraction goes out as one batch at half price.

The runner owns reading deals and acting on findings (the same code as a synchronous pass); this module
owns the batch: its requests and custom ids, the record of what was submitted (so a restart polls the same
batch instead of paying twice), polling, and turning result lines into one outcome per deal.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from engine.extract.base import ExtractionError
from engine.extract.cache import worth_caching
from engine.errors import BatchGone  # noqa: F401 (re-exported)
from engine.medic import FieldMap
from engine.models import Deal, Extraction, Note, Usage
from engine.store import BatchEntry, Batches

log = logging.getLogger("scout.batch")

# The API's rule for custom ids.
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class BatchOptions:
    """How a batch pass waits. `sleep` is injectable so tests never wait."""

    poll_seconds: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class BatchItem(BaseModel):
    """One line of a batch's results, already parsed: an extraction when the request succeeded."""

    custom_id: str
    outcome: Literal["succeeded", "errored", "canceled", "expired"]
    extraction: Extraction | None = None
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)  # tokens the request spent, even when its reply was unusable


@runtime_checkable
class SupportsBatch(Protocol):
    """What an extractor offers to run as a batch (ClaudeExtractor does)."""

    @property
    def model(self) -> str: ...

    @property
    def prompt_version(self) -> str: ...

    def requests_for(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> list[dict[str, Any]]:
        """The Messages bodies one deal needs (several when its notes are long)."""
        ...

    async def submit_batch(self, requests: list[dict[str, Any]]) -> str:
        """Creates the batch; returns its id. Raises ExtractionError."""
        ...

    async def batch_ended(self, batch_id: str) -> bool:
        """Raises BatchGone when the batch is unknown, ExtractionError when the API cannot be reached."""
        ...

    async def batch_results(self, batch_id: str, field_map: FieldMap) -> list[BatchItem]: ...

    def merge(self, parts: list[Extraction]) -> Extraction:
        """One deal's extraction from the extractions of its requests."""
        ...


@dataclass(frozen=True)
class PendingDeal:
    """A deal whose extraction is not cached: it goes into the batch."""

    deal: Deal
    notes: list[Note]
    cache_key: str


class DealOutcome(BaseModel):
    """What the batch gave for one deal: an extraction, an error (logged failed), or nothing yet (retried)."""

    deal_id: str
    extraction: Extraction | None = None
    error: str | None = None
    expired: bool = False
    usage: Usage = Field(default_factory=Usage)  # every token the deal's requests spent


def custom_ids(keys: list[tuple[str, int]]) -> list[str]:
    """Ids for (deal id, request index) pairs: `<deal id>-p<index>` when the API allows it, else `req<n>`.

    Readable ids always end in `-p<digits>` and fallbacks never contain `-p`, so the two cannot collide.
    """
    out: list[str] = []
    used: set[str] = set()
    for n, (deal_id, index) in enumerate(keys):
        cid = f"{deal_id}-p{index}"
        if not _CUSTOM_ID.fullmatch(cid) or cid in used:
            cid = f"req{n}"
        used.add(cid)
        out.append(cid)
    return out


async def submit(
    source: SupportsBatch, store: Batches, run_id: int, pending: list[PendingDeal], field_map: FieldMap
) -> tuple[str, list[BatchEntry]]:
    """Submits one batch for every pending deal and records it before anything else can go wrong."""
    bodies = [(p, i, params) for p in pending
              for i, params in enumerate(source.requests_for(p.deal, p.notes, field_map))]
    ids = custom_ids([(p.deal.id, i) for p, i, _ in bodies])
    requests = [{"custom_id": cid, "params": params} for cid, (_, _, params) in zip(ids, bodies)]
    entries = [BatchEntry(custom_id=cid, deal_id=p.deal.id, cache_key=p.cache_key)
               for cid, (p, _, _) in zip(ids, bodies)]
    batch_id = await source.submit_batch(requests)
    await store.record_batch(batch_id, run_id=run_id, model=source.model, prompt_version=source.prompt_version,
                             entries=entries)
    return batch_id, entries


async def wait_until_ended(
    source: SupportsBatch, batch_id: str, options: BatchOptions, on_poll: Callable[[], Awaitable[None]]
) -> None:
    """Polls until the batch has ended (succeeded, errored, expired or canceled: all of it)."""
    while not await source.batch_ended(batch_id):
        await on_poll()
        log.info("Message Batch %s still in progress; next check in %ss", batch_id, options.poll_seconds)
        await options.sleep(options.poll_seconds)


def outcomes(source: SupportsBatch, items: list[BatchItem], entries: list[BatchEntry]) -> dict[str, DealOutcome]:
    """One outcome per deal, in submission order. An errored request fails its deal; an expired, canceled
    or missing one leaves the deal to be retried; only a deal whose every request succeeded is extracted."""
    by_id = {item.custom_id: item for item in items}
    parts_of: dict[str, list[BatchItem | None]] = {}
    for entry in entries:
        parts_of.setdefault(entry.deal_id, []).append(by_id.get(entry.custom_id))
    out: dict[str, DealOutcome] = {}
    for deal_id, parts in parts_of.items():
        done = [p.extraction for p in parts if p is not None and p.extraction is not None]
        usage = sum((p.usage for p in parts if p is not None), Usage())
        errors = [p.error or "errored" for p in parts if p is not None and p.outcome == "errored"]
        if errors:
            out[deal_id] = DealOutcome(deal_id=deal_id, error=errors[0], usage=usage)
        elif len(done) < len(parts):
            out[deal_id] = DealOutcome(deal_id=deal_id, expired=True, usage=usage)
        else:
            out[deal_id] = DealOutcome(deal_id=deal_id, extraction=source.merge(done), usage=usage)
    return out


# The extraction cache's own rule, under the name the runner imports: one rule, not a copy of it.
cacheable = worth_caching
