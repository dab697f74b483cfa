"""What the read-only faces (`/scout`, `scout deal`, `scout log`) may ask of the log: reads only.

Like `CRMReader` on the CRM side, this protocol has no write method, so a read-only face cannot be handed
one by mistake; the SQLite implementation also opens the file `mode=ro`.
"""

from __future__ import annotations

from typing import Protocol

from engine.models import ActionKind
from engine.store.actions import ActionRow, RunRow


class LogReader(Protocol):
    async def get_run(self, run_id: int) -> RunRow | None: ...

    async def list_runs(self, limit: int = 20) -> list[RunRow]: ...

    async def actions_for_run(self, run_id: int) -> list[ActionRow]: ...

    async def latest_for_field(
        self, deal_id: str, field: str, actions: tuple[ActionKind, ...]
    ) -> ActionRow | None: ...

    async def last_scanned(self, dry_run: bool | None = None) -> dict[str, str]: ...

    async def pending_suggestions(self) -> list[ActionRow]:
        """The review queue: each field's newest suggestion not promoted, dismissed or undone, newest first."""
        ...

    async def review_results(self, keys: list[str]) -> dict[str, str]:
        """For each suggestion key, what the latest review of it told its reviewer (result JSON), if any."""
        ...

    async def aclose(self) -> None: ...
