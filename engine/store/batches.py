"""Submitted Message Batches, so a pass polls them even after a restart."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel


BatchStatus = Literal["submitted", "ended", "gone", "superseded"]


class BatchEntry(BaseModel):
    """One request of a submitted Message Batch: which deal it extracts, and the cache key of its notes."""

    custom_id: str
    deal_id: str
    cache_key: str


class BatchRow(BaseModel):
    id: str
    run_id: int | None
    model: str | None
    prompt_version: str | None
    status: BatchStatus
    submitted_at: str
    closed_at: str | None
    note: str | None


class Batches(Protocol):
    async def record_batch(
        self, batch_id: str, *, run_id: int, model: str, prompt_version: str, entries: list[BatchEntry]
    ) -> None: ...

    async def open_batch(self) -> BatchRow | None: ...

    async def get_batch(self, batch_id: str) -> BatchRow | None: ...

    async def batch_entries(self, batch_id: str) -> list[BatchEntry]: ...

    async def close_batch(self, batch_id: str, status: BatchStatus, note: str | None = None) -> None: ...
