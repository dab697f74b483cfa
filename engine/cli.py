"""`scout`: the command line. Each command lives in engine/commands/<module>.py and registers itself here."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
import tomllib
from typing import Any, Coroutine, Sequence

from pydantic import ValidationError

from engine.commands import EXIT_ERROR, EXIT_USAGE, COMMAND_MODULES, CommandError
from engine.crm.base import AuthError, CRMError
from engine.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scout",
        description="Keeps MEDIC fields current as cited suggestions in scout_* fields. "
        "Every write needs --apply AND LIVE_WRITES=1; anything else is a logged rehearsal.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def file_error(exc: BaseException, settings: Settings) -> str:
    """`exc` as one line that names the file: the opener's note, else the OSError's own filename, else the
    files Scout keeps."""
    detail = (str(exc).splitlines() or [type(exc).__name__])[0]
    notes = getattr(exc, "__notes__", None)
    if notes:
        return f"{notes[-1]}: {detail}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or detail}: {exc.filename}"
    files = f"provenance log {settings.log_db}" + (f", workspace {settings.workspace}" if settings.crm == "local" else "")
    return f"{detail} ({files})"


class Terminated(Exception):
    """SIGTERM arrived (a service manager or a platform stopping the process)."""


async def stop_on_sigterm(work: Coroutine[Any, Any, int]) -> int:
    """Run `work`; SIGTERM cancels it as Ctrl-C does, so a pass ends `interrupted` on record and frees its lock."""
    loop, task, signalled = asyncio.get_running_loop(), asyncio.current_task(), False

    def stop() -> None:
        nonlocal signalled
        signalled = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
    except (NotImplementedError, RuntimeError, ValueError):
        return await work  # not the main thread (or no signals here): SIGTERM keeps its default
    try:
        return await work
    except asyncio.CancelledError:
        if signalled:
            raise Terminated() from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = err.get("loc", ["?"])[0]
        print(f"scout: configuration error in {name}: {err.get('msg')}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings.field_map  # load the TOML now, so a bad file is one line here rather than a traceback later
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else exc.errors()[0]["msg"]
        print(f"scout: configuration error in SCOUT_FIELD_MAP ({settings.field_map_path}): {detail}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(stop_on_sigterm(args.func(args, settings)))
    except (AuthError, CRMError, CommandError) as exc:
        print(f"scout: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_ERROR)
    except (sqlite3.DatabaseError, OSError) as exc:
        # A corrupt log or workspace, an unwritable SCOUT_DATA_DIR, a full disk: one line naming the file.
        print(f"scout: {file_error(exc, settings)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("scout: interrupted; an interrupted live write is reconciled on the next run", file=sys.stderr)
        return 130
    except Terminated:
        print("scout: stopped by SIGTERM; an interrupted live write is reconciled on the next run", file=sys.stderr)
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
