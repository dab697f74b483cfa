"""The pass's progress seam: the runner reports each deal here; whoever shows it (the CLI) decides how.

The engine stays free of any display library: a sink is any callable taking a PassProgress.
"""

from __future__ import annotations

from typing import Callable

from pydantic import BaseModel, ConfigDict


class PassProgress(BaseModel):
    """Where a pass stands: deals done of the deals it will take this run, and the counts so far."""

    model_config = ConfigDict(frozen=True)

    done: int
    total: int
    written: int = 0
    would_write: int = 0
    failed: int = 0
    live: bool = False


ProgressSink = Callable[[PassProgress], None]
