"""scout log [RUN]: the provenance log as a readable table, or JSON for machines."""

from __future__ import annotations

import argparse
import json

from engine.commands import EXIT_NOT_FOUND, EXIT_OK, CommandError
from engine.fieldtypes import display
from engine.provenance import ProvenanceStore
from engine.settings import Settings


def _clip(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


async def cmd_log(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.log_db.exists():
        raise CommandError(f"no provenance log at {settings.log_db} yet: run `scout run` first", EXIT_NOT_FOUND)
    if settings.log_db.stat().st_size == 0:
        raise CommandError(f"the provenance log {settings.log_db} is empty (0 bytes): no runs recorded yet; "
                           "`scout run` starts it", EXIT_NOT_FOUND)
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        if args.run is None:
            runs = await store.list_runs(args.limit)
            if args.json:
                print(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
                return EXIT_OK
            print(f"{'run':>5}  {'kind':<6} {'mode':<8} {'started (UTC)':<26} {'written':>7} {'would':>6} "
                  f"{'skip':>5} {'drop':>5} {'fail':>5}  scanned")
            for r in runs:
                mode = "DRY RUN" if r.dry_run else "LIVE"
                scanned = f"{r.scanned}/{r.total} (cap {r.cap})" if r.kind == "pass" and r.total is not None else ""
                print(f"{r.id:>5}  {r.kind:<6} {mode:<8} {r.started_at:<26} {r.written or 0:>7} "
                      f"{r.would_write or 0:>6} {r.skipped or 0:>5} {r.dropped or 0:>5} {r.failed or 0:>5}  {scanned}"
                      + ("" if r.status == "finished" else f"  [{r.status}]"))
            return EXIT_OK
        run = await store.get_run(args.run)
        if run is None:
            raise CommandError(f"no run {args.run} in the log", EXIT_NOT_FOUND)
        rows = await store.actions_for_run(args.run)
        if args.action:
            rows = [r for r in rows if r.action.value in args.action]
        if args.json:
            print(json.dumps({"run": run.model_dump(mode="json"),
                              "actions": [r.model_dump(mode="json") for r in rows]}, indent=2))
            return EXIT_OK
        print(run.summary or f"run {run.id} ({run.kind}, {run.status})")
        print()
        print(f"{'id':>6} {'action':<16} {'deal':<30} {'field':<24} {'new':<28} {'previous/rep':<18} why / excerpt")
        for r in rows:
            other = display(r.rep_value) if r.rep_value is not None else display(r.previous)
            why = r.error or r.reason or ""
            if r.excerpt:
                why = f'{why} "{_clip(r.excerpt, 60)}" ({r.note_id})'
            dry = "" if not r.dry_run or r.action.value.startswith("would") else " (dry)"
            print(f"{r.id:>6} {r.action.value + dry:<16} {_clip(r.deal_name, 30):<30} {_clip(r.field, 24):<24} "
                  f"{_clip(display(r.new), 28):<28} {_clip(other, 18):<18} {why}")
        return EXIT_OK
    finally:
        await store.aclose()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="the provenance log: recent runs, or one run's actions")
    p.add_argument("run", type=int, nargs="?")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--limit", type=int, default=20, help="how many runs to list")
    p.add_argument("--action", action="append", help="only these actions (repeatable), e.g. would_write")
    p.set_defaults(func=cmd_log)
