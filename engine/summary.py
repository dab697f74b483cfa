"""The loud run summary. The mode leads, so a rehearsal cannot be mistaken for a live run."""

from __future__ import annotations

from engine.extract.pricing import BATCH_PRICE_FACTOR, format_cost
from engine.gate import mode_label
from engine.models import RunSummary


def headline(s: RunSummary) -> str:
    mode = mode_label(s.mode, s.dry_run_reason)
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
    batch = s.batch
    if s.batch_id:
        how = "resumed after an interrupted run (no new batch submitted)" if s.batch_resumed else "submitted"
        lines.append(f"Message Batch {s.batch_id} {how}.")
    if s.usage.input_tokens or s.usage.output_tokens:
        u = s.usage
        price = f" (batch, {BATCH_PRICE_FACTOR:.0%} price)" if batch else ""
        lines.append(
            f"tokens: {u.input_tokens} in, {u.output_tokens} out, {u.cache_read_tokens} cache read, "
            f"{u.cache_write_tokens} cache write · est. {format_cost(s.cost_usd, s.model)}{price}"
        )
    if s.deadline_left:
        deals = "1 deal" if s.deadline_left == 1 else f"{s.deadline_left} deals"
        lines.append(f"Pass deadline reached (SCOUT_PASS_DEADLINE={s.deadline_seconds:g} s): {deals} left for the "
                     "next run, where they come first.")
    if s.expired:
        whose = "1 deal's extraction" if s.expired == 1 else f"{s.expired} deals' extractions"
        lines.append(f"{whose} expired: retried next run.")
    lines.extend(s.notices)
    if s.reconciled:
        lines.append(f"{s.reconciled} interrupted write(s) from an earlier run reconciled.")
    if s.errors:
        lines.append(f"{len(s.errors)} error(s), first: {s.errors[0]}")
    return "\n".join(lines)
