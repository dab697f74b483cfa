"""The extraction cache: one model answer per (notes, model, prompt) key."""

from __future__ import annotations

from typing import Protocol


class ExtractionCache(Protocol):
    async def cache_get(self, key: str) -> str | None: ...

    async def cache_put(self, key: str, payload: str, *, commit: bool = True) -> None: ...
