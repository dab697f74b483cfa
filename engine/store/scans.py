"""Scan marks: when each deal was last scanned, per mode, so passes rotate through the pipeline."""

from __future__ import annotations

from typing import Protocol

from engine.store.actions import ActionRow


class ScanMarks(Protocol):
    async def last_scanned(self, dry_run: bool | None = None) -> dict[str, str]: ...

    async def log_scanned(
        self, rows: list[ActionRow], deal_id: str, run_id: int, *, counted: bool = True
    ) -> None: ...

    async def log_scanned_many(self, scanned: list[tuple[str, list[ActionRow]]], run_id: int) -> None:
        """A page of deals at once: each deal's rows and scan mark, and the run's `scanned` count, in one commit."""
        ...
