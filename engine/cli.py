"""`scout`: the command line. Each command lives in engine/commands/<module>.py and registers itself here."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
import sys
from typing import Any, Coroutine, Sequence, TextIO

from engine.commands import COMMAND_MODULES
from engine.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ScoutError
from engine.gate import open_gate
from engine.settings import Settings
from engine.sink import SinkFactory
from engine.startup import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scout",
        description="Keeps MEDIC fields current as cited suggestions in scout_* fields. "
        "Every write needs --apply AND LIVE_WRITES=1; anything else is a logged rehearsal.",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say on stderr what each stage is doing (listing deals, reading notes, extracting, ...)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now, so log lines land above rich's live line (which swaps stderr)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _Voice(logging.Formatter):
    """One voice on stderr: `scout: message`, and `scout: warning: message`, not raw log levels."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"scout: {record.levelname.lower()}: {text}"
        return f"scout: {text}"


def configure_logging(verbose: bool) -> None:
    """INFO with -v (what each stage of a pass is doing), else warnings only; idempotent across calls."""
    handler = _StderrHandler()
    handler.setFormatter(_Voice("%(message)s"))
    for name in ("scout", "engine"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if verbose else logging.WARNING)


def _culprit(exc: BaseException, settings: Settings) -> str | None:
    """Which of Scout's files an error without a note came from, read off the code that raised it."""
    tb = exc.__traceback__
    found = None
    while tb is not None:  # the innermost of our two SQLite modules wins
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name == "engine.provenance":
            found = f"provenance log {settings.log_db}"
        elif name == "engine.crm.local":
            found = f"embedded workspace {settings.workspace}"
        tb = tb.tb_next
    return found


def file_error(exc: BaseException, settings: Settings) -> str:
    """`exc` as one line that names the one file at fault: the opener's note, else the OSError's own
    filename, else the module that was reading it."""
    detail = (str(exc).splitlines() or [type(exc).__name__])[0]
    notes = getattr(exc, "__notes__", None)
    if notes:
        return f"{notes[-1]}: {detail}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or detail}: {exc.filename}"
    culprit = _culprit(exc, settings)
    return f"{culprit}: {detail}" if culprit else detail


def _interrupted(args: argparse.Namespace, settings: Settings, what: str = "interrupted") -> str:
    if not hasattr(args, "apply"):
        return what  # a command that never writes
    if open_gate(args.apply, settings).live:
        return f"{what}; an interrupted live write is reconciled on the next run"
    return f"{what}; this was a rehearsal, so nothing was written to the CRM (the log marks the run interrupted)"


def _quiet_stdout() -> None:
    """The reader went away (`scout log | head -1`): point stdout at /dev/null so the exit flush is silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class Terminated(ScoutError):
    """SIGTERM arrived (a service manager or a platform stopping the process)."""

    exit_code = 128 + signal.SIGTERM


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


def main(argv: Sequence[str] | None = None, *, summary_sink: SinkFactory | None = None) -> int:
    """The CLI; `summary_sink` is what `run --post` reports to (the application layer passes the Slack app's)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.summary_sink = summary_sink
    configure_logging(args.verbose)
    try:
        settings = load_settings()
    except ScoutError as exc:
        print(f"scout: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        code = asyncio.run(stop_on_sigterm(args.func(args, settings)))
        sys.stdout.flush()  # here, not at exit: a reader that went away is handled below, not as a traceback
        return code
    except BrokenPipeError:
        # Before OSError: a closed pipe is the reader having seen enough, not a file or database error.
        _quiet_stdout()
        return EXIT_OK
    except Terminated as exc:  # before the root it descends from: its line depends on the run
        print(f"scout: {_interrupted(args, settings, 'stopped by SIGTERM')}", file=sys.stderr)
        return exc.exit_code
    except ScoutError as exc:  # the one root: a one-line message and the exit code it carries
        print(f"scout: {exc}", file=sys.stderr)
        return exc.exit_code
    except (sqlite3.DatabaseError, OSError) as exc:
        # A corrupt log or workspace, an unwritable SCOUT_DATA_DIR, a full disk: one line naming the file.
        print(f"scout: {file_error(exc, settings)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"scout: {_interrupted(args, settings)}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
