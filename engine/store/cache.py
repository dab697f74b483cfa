"""The extraction cache: one model answer per (notes, model, prompt) key."""

from __future__ import annotations

from typing import Protocol, Sequence


class ExtractionCache(Protocol):
    async def cache_get(self, keys: Sequence[str]) -> dict[str, str]:
        """The cached answers among `keys`, by key (the missing ones are absent)."""
        ...

    async def cache_put(self, key: str, payload: str, *, commit: bool = True) -> None: ...
