"""The loud run summary. The mode leads, so a rehearsal cannot be mistaken for a live run."""

from __future__ import annotations

from pydantic import Field

from engine.extract.pricing import BATCH_PRICE_FACTOR
from engine.models import RunSummary


class PassSummary(RunSummary):
    """A pass's summary, with what only a pass has: its Message Batch and the deals it must retry."""

    batch: bool = False  # extraction went through the Message Batches API (billed at BATCH_PRICE_FACTOR)
    batch_id: str | None = None  # the batch submitted, or resumed, this run
    batch_resumed: bool = False  # polled a batch an interrupted run had submitted, instead of paying again
    expired: int = 0  # deals whose batch extraction expired or was canceled: not marked scanned
    notices: list[str] = Field(default_factory=list)


def headline(s: RunSummary) -> str:
    mode = s.mode if s.dry_run_reason is None else f"{s.mode} ({s.dry_run_reason})"
    counts = f"{s.written} written, {s.would_write} would-write, {s.skipped} skipped, {s.dropped} dropped"
    if s.failed:
        counts += f", {s.failed} failed"
    return f"{mode}: {counts}; scanned {s.scanned}/{s.total} (cap {s.cap})"


def format_summary(s: RunSummary) -> str:
    lines = [headline(s), f"run {s.run_id} · model {s.model}"]
    if s.dry_run_reason is not None:
        lines.append("Nothing was written to the CRM. A live pass needs `scout run --apply` with LIVE_WRITES=1.")
    if s.not_reached:
        lines.append(f"{s.not_reached} deals not reached this run (cap {s.cap}); they come first next run.")
    batch = isinstance(s, PassSummary) and s.batch
    if isinstance(s, PassSummary) and s.batch_id:
        how = "resumed after an interrupted run (no new batch submitted)" if s.batch_resumed else "submitted"
        lines.append(f"Message Batch {s.batch_id} {how}.")
    if s.usage.input_tokens or s.usage.output_tokens:
        u = s.usage
        price = f" (batch, {BATCH_PRICE_FACTOR:.0%} price)" if batch else ""
        lines.append(
            f"tokens: {u.input_tokens} in, {u.output_tokens} out, {u.cache_read_tokens} cache read, "
            f"{u.cache_write_tokens} cache write · est. ${s.cost_usd:.4f}{price}"
        )
    if isinstance(s, PassSummary) and s.expired:
        whose = "1 deal's extraction" if s.expired == 1 else f"{s.expired} deals' extractions"
        lines.append(f"{whose} expired: retried next run.")
    if isinstance(s, PassSummary):
        lines.extend(s.notices)
    if s.reconciled:
        lines.append(f"{s.reconciled} interrupted write(s) from an earlier run reconciled.")
    if s.errors:
        lines.append(f"{len(s.errors)} error(s), first: {s.errors[0]}")
    return "\n".join(lines)
