"""scout demo | setup | run | undo | deal."""

from __future__ import annotations

import argparse
import sys
from contextlib import AsyncExitStack
from typing import Callable

from engine.commands import regular_file
from engine.errors import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CommandError
from engine.commands.progress import pass_progress
from engine.commands.tables import Col, render, stdout_is_terminal
from engine.demo import MAX_DEALS, generate_demo
from engine.crm.factory import open_reader
from engine.dealview import format_candidates, format_view, lookup
from engine.jobs import run_job, setup_job, undo_job
from engine.provenance import open_log_reader
from engine.store import LogReader
from engine.settings import Settings
from engine.summary import format_summary
from engine.undo import LAST, RunRef
from engine.wiring import build_extractor


SETUP_COLS = [Col("field"), Col("type"), Col("state"), Col("detail")]


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse type for a whole number in low..high: anything else is a usage error naming the range, never a
    silent default or a traceback."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value
    return parse


positive_int = bounded_int(1)  # counts such as --cap: 0 or a negative number is a usage error


def run_ref(text: str) -> RunRef:
    """argparse type for `scout undo`: a run id, or `last` for the newest live pass."""
    if text == LAST:
        return LAST
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a run id (a whole number) or 'last'") from None


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from engine.crm.local import LocalCRM

    if settings.crm != "local":
        raise CommandError("`scout demo` seeds the embedded workspace; unset SCOUT_CRM (or set it to local)")
    path = settings.workspace
    regular_file(path, "the workspace")
    if path.exists() and not args.reset:
        print(f"Demo workspace already at {path} (use --reset to reseed it).")
        return EXIT_OK
    if path.exists():
        path.unlink()
    data = generate_demo(seed=args.seed, n_deals=args.deals, method=settings.method)
    crm = await LocalCRM.open(path, writable=True, create=True)
    try:
        await crm.load(data)
    finally:
        await crm.aclose()
    print(f"Seeded demo workspace {path}: {len(data.deals)} deals, {len(data.notes)} notes, "
          f"{len(data.people)} people. Next: `scout run` (a rehearsal).")
    return EXIT_OK


async def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    gate, run_id, plans = await setup_job(settings, apply=args.apply)
    print(f"{gate.label}: setup run {run_id}")
    print(render(SETUP_COLS, [[p.field, p.type, p.state, p.detail or ""] for p in plans],
                 terminal=stdout_is_terminal(), indent=2))
    if not gate.live and any(p.state == "would_create" for p in plans):
        print("Nothing was created. To create: `scout setup --apply` with LIVE_WRITES=1.")
    return EXIT_PARTIAL if any(p.state in ("conflict", "failed") for p in plans) else EXIT_OK


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    sink = None
    if args.post:
        if args.summary_sink is None:
            raise CommandError("--post needs the Slack app: run the `scout` command, not `python -m engine.cli`",
                               EXIT_USAGE)
        sink = args.summary_sink(settings)
        sink.ready()  # before the pass, not after it
    with pass_progress(args.quiet, sys.stderr) as progress:
        summary, missing = await run_job(settings, apply=args.apply, cap=args.cap, batch=args.batch,
                                         progress=progress, new_log=args.new_log)
    text = format_summary(summary)
    if missing:
        text += f"\nnote: {len(missing)} scout_* field(s) missing; `scout setup` shows what a live run needs."
    print(text)
    if sink is not None:
        await sink.post(summary.run_id)
    if await _run_status(settings, summary.run_id) == "failed":
        return EXIT_ERROR  # the pass itself failed (deals could not be listed, a batch unreadable): not partial
    return EXIT_PARTIAL if summary.failed else EXIT_OK


async def _run_status(settings: Settings, run_id: int) -> str | None:
    """The run's status as the runner recorded it: the summary carries counts, the log says how it ended."""
    store = await open_log_reader(settings.log_target)
    try:
        run = await store.get_run(run_id)
    finally:
        await store.aclose()
    return run.status if run else None


async def cmd_undo(args: argparse.Namespace, settings: Settings) -> int:
    gate, result = await undo_job(settings, args.run, apply=args.apply)
    head = f"{gate.label}: undo of run {result.target} (run {result.run_id})"
    print(f"{head}: {result.reverted} reverted, {result.would_revert} would-revert, "
          f"{result.conflicts} conflicts, {result.failed} failed, {result.already} already reverted")
    if not gate.live:
        print(f"Nothing was changed. To revert: `scout undo {args.run} --apply` with LIVE_WRITES=1.")
    if result.conflicts:
        print(f"Conflicts were left as the humans set them; see `scout log {result.run_id}`.")
    return EXIT_PARTIAL if result.conflicts or result.failed else EXIT_OK


async def cmd_deal(args: argparse.Namespace, settings: Settings) -> int:
    name = " ".join(args.name)
    async with AsyncExitStack() as opened:  # whatever fails, what was opened is closed (or the process hangs)
        crm = await open_reader(settings)
        opened.push_async_callback(crm.aclose)
        log: LogReader | None = None
        if settings.shared_log or (settings.log_db.exists() and settings.log_db.stat().st_size > 0):
            log = await open_log_reader(settings.log_target)  # an empty file has no history either
            opened.push_async_callback(log.aclose)
        extractor = None if args.no_extract else build_extractor(settings)
        result = await lookup(name, crm, log, extractor, settings.field_map)
    if args.json:
        print(result.model_dump_json(indent=2))
        return EXIT_OK if result.view else EXIT_NOT_FOUND
    if result.view is None:
        if result.candidates:
            print(format_candidates(result, "scout deal"))
        else:
            print(f"No deal matches '{name}'.")
        return EXIT_NOT_FOUND
    print(format_view(result.view))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="seed the embedded CRM with a demo pipeline")
    p.add_argument("--reset", action="store_true", help="replace an existing workspace")
    p.add_argument("--deals", type=bounded_int(1, MAX_DEALS), default=212, metavar="N",
                   help=f"deals to seed, 1 to {MAX_DEALS} (default 212)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("setup", help="create the scout_* fields (rehearsal unless --apply and LIVE_WRITES=1)")
    p.add_argument("--apply", action="store_true", help="lock 1 of 2: also needs LIVE_WRITES=1")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("run", help="one pass over the pipeline (rehearsal unless --apply and LIVE_WRITES=1)")
    p.add_argument("--apply", action="store_true", help="lock 1 of 2: also needs LIVE_WRITES=1")
    p.add_argument("--cap", type=positive_int, help="deals to scan this pass (default SCOUT_SCAN_CAP)")
    p.add_argument("--post", action="store_true", help="post the summary and suggestions to Slack")
    p.add_argument("--batch", action=argparse.BooleanOptionalAction, default=None,
                   help="extract through one Message Batch at half price and wait for it (default SCOUT_BATCH)")
    p.add_argument("--new-log", action="store_true",
                   help="start a new provenance log although the CRM already holds scout_* values")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("undo", help="revert a run's writes (rehearsal unless --apply and LIVE_WRITES=1)")
    p.add_argument("run", type=run_ref, metavar="RUN", help="a run id, or `last` for the newest live pass")
    p.add_argument("--apply", action="store_true", help="lock 1 of 2: also needs LIVE_WRITES=1")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("deal", help="read-only summary of one deal, by id or name")
    p.add_argument("name", nargs="+", metavar="ID|NAME",
                   help="a deal id (d0001) or name; case, spacing and dash style do not matter")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-extract", action="store_true", help="skip the fresh extraction")
    p.set_defaults(func=cmd_deal)

