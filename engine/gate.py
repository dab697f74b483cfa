"""Invariant 2: the two locks. Only `--apply` together with `LIVE_WRITES=1` opens a live write, and
`gated_crm` is the only place a writer is handed out."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from pydantic import BaseModel

from engine.crm.base import CRMReader
from engine.crm.factory import open_reader, open_writer
from engine.models import Mode
from engine.settings import Settings
from engine.writeguard import ScoutWriter


class Gate(BaseModel):
    live: bool
    reason: str | None  # why this is a dry run, in words an operator acts on; None when live

    @property
    def mode(self) -> Mode:
        return "LIVE" if self.live else "DRY RUN"

    @property
    def label(self) -> str:
        """The mode with the reason a rehearsal is one: what every output leads with."""
        return mode_label(self.mode, self.reason)


def mode_label(mode: Mode, reason: str | None) -> str:
    return mode if reason is None else f"{mode} ({reason})"


def open_gate(apply: bool, settings: Settings) -> Gate:
    raw = settings.live_writes_raw  # shown as given: " 1" must read as what keeps the lock shut
    env_reason = None if settings.live_writes else (
        "LIVE_WRITES is not set" if not raw else f"LIVE_WRITES is {raw!r}, not 1"
    )
    reasons = [r for r in ("--apply was not given" if not apply else None, env_reason) if r]
    return Gate(live=not reasons, reason=" and ".join(reasons) or None)


@asynccontextmanager
async def gated_crm(settings: Settings, gate: Gate) -> AsyncIterator[tuple[CRMReader, ScoutWriter | None]]:
    """The only place a writer is handed out: when both locks are open, and one that writes only scout_* fields."""
    if gate.live:
        writer = await open_writer(settings)
        try:
            yield writer, ScoutWriter(writer, settings.field_map)
        finally:
            await writer.aclose()
    else:
        reader = await open_reader(settings)
        try:
            yield reader, None
        finally:
            await reader.aclose()
