"""scout log [RUN]: the provenance log as a readable table, or JSON for machines."""

from __future__ import annotations

import argparse
import json

from engine.commands import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, CommandError
from engine.commands.core import positive_int
from engine.commands.tables import Col, render, stdout_is_terminal
from engine.fieldtypes import display
from engine.models import ActionKind
from engine.provenance import open_log_reader
from engine.store import LogReader, RunRow
from engine.settings import Settings

RUNS_SHOWN = 20
ACTIONS = [a.value for a in ActionKind]

RUN_COLS = [Col("run", "right"), Col("kind"), Col("mode"), Col("started (UTC)"), Col("written", "right"),
            Col("would", "right"), Col("skip", "right"), Col("drop", "right"), Col("fail", "right"),
            Col("scanned"), Col("status")]
ACTION_COLS = [Col("id", "right"), Col("action"), Col("deal", max_width=30), Col("field", max_width=24),
               Col("new", max_width=28), Col("previous/rep", max_width=18), Col("why / excerpt", wrap=True)]


def _clip(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _counts(r: RunRow) -> str:
    return (f"{r.written or 0} written, {r.would_write or 0} would-write, {r.skipped or 0} skipped, "
            f"{r.dropped or 0} dropped, {r.failed or 0} failed")


def _run_line(r: RunRow) -> list[object]:
    mode = "DRY RUN" if r.dry_run else "LIVE"
    scanned = f"{r.scanned or 0}/{r.total} (cap {r.cap})" if r.kind == "pass" and r.total is not None else ""
    status = "RUNNING (counts so far)" if r.status == "running" else r.status
    return [r.id, r.kind, mode, r.started_at, r.written or 0, r.would_write or 0, r.skipped or 0, r.dropped or 0,
            r.failed or 0, scanned, status]


async def cmd_log(args: argparse.Namespace, settings: Settings) -> int:
    if args.action and args.run is None:
        raise CommandError("--action filters one run's actions: `scout log RUN --action X` "
                           "(`scout log` lists the runs with their counts)", EXIT_USAGE)
    if not settings.shared_log:  # the shared log's own open says whether it holds any run
        _check_log_file(settings)
    store = await open_log_reader(settings.log_target)
    try:
        return await _show(args, store)
    finally:
        await store.aclose()


def _check_log_file(settings: Settings) -> None:
    if not settings.log_db.exists():
        raise CommandError(f"no provenance log at {settings.log_db} yet: run `scout run` first", EXIT_NOT_FOUND)
    if settings.log_db.stat().st_size == 0:
        raise CommandError(f"the provenance log {settings.log_db} is empty (0 bytes): no runs recorded yet; "
                           "`scout run` starts it", EXIT_NOT_FOUND)


async def _show(args: argparse.Namespace, store: LogReader) -> int:
    if args.run is None:
        runs = await store.list_runs(args.limit or RUNS_SHOWN)
        if args.json:
            print(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
            return EXIT_OK
        print(render(RUN_COLS, [_run_line(r) for r in runs], terminal=stdout_is_terminal()))
        return EXIT_OK
    run = await store.get_run(args.run)
    if run is None:
        raise CommandError(f"no run {args.run} in the log", EXIT_NOT_FOUND)
    rows = await store.actions_for_run(args.run)
    if args.action:
        rows = [r for r in rows if r.action.value in args.action]
    hidden = max(0, len(rows) - args.limit) if args.limit else 0
    if args.limit:
        rows = rows[: args.limit]
    if args.json:
        print(json.dumps({"run": run.model_dump(mode="json"),
                          "actions": [r.model_dump(mode="json") for r in rows]}, indent=2))
        return EXIT_OK
    if run.status == "running":
        print(f"run {run.id} ({run.kind}) is RUNNING: so far {_counts(run)}")
    else:
        print(run.summary or f"run {run.id} ({run.kind}, {run.status})")
    print()
    table = []
    for r in rows:
        other = display(r.rep_value) if r.rep_value is not None else display(r.previous)
        why = r.error or r.reason or ""
        if r.excerpt:
            why = f'{why} "{_clip(r.excerpt, 60)}" ({r.note_id})'
        dry = "" if not r.dry_run or r.action.value.startswith("would") else " (dry)"
        table.append([r.id, r.action.value + dry, " ".join((r.deal_name or "").split()), r.field or "",
                      " ".join(display(r.new).split()), " ".join(other.split()), why])
    if not table:
        kinds = " or ".join(args.action) + " " if args.action else ""
        print(f"no {kinds}actions in run {run.id}")
        return EXIT_OK
    print(render(ACTION_COLS, table, terminal=stdout_is_terminal()))
    if hidden:
        print(f"… {hidden} more action(s) not shown (--limit {args.limit})")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="the provenance log: recent runs, or one run's actions")
    p.add_argument("run", type=int, nargs="?")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--limit", type=positive_int,
                   help=f"how many runs to list (default {RUNS_SHOWN}), or with RUN how many of its actions")
    p.add_argument("--action", action="append", choices=ACTIONS, metavar="ACTION",
                   help="with RUN: only these actions (repeatable), one of " + ", ".join(ACTIONS))
    p.set_defaults(func=cmd_log)
