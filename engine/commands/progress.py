"""How `scout run` shows a pass's progress on stderr: rich's live line on a terminal, a plain line every few
seconds otherwise (a log file, CI), or nothing with --quiet. stdout keeps only the summary."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Callable, Iterator, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from engine.progress import PassProgress, ProgressSink

PLAIN_EVERY_SECONDS = 5.0


def _counts(p: PassProgress) -> str:
    return f"{p.written} written" if p.live else f"{p.would_write} would-write"


def _clock_text(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class PlainProgress:
    """One line every `every` seconds of `clock`; the ETA assumes the pace so far holds."""

    def __init__(self, out: TextIO, *, clock: Callable[[], float] = time.monotonic,
                 every: float = PLAIN_EVERY_SECONDS):
        self._out, self._clock, self._every = out, clock, every
        self._started: float | None = None
        self._last = 0.0

    def __call__(self, p: PassProgress) -> None:
        now = self._clock()
        if self._started is None:
            self._started = self._last = now
        if now - self._last < self._every or p.done == 0:
            return
        self._last = now
        elapsed = now - self._started
        eta = elapsed / p.done * (p.total - p.done)
        self._out.write(f"scout: {p.done}/{p.total} deals, {_counts(p)}, {p.failed} failed, "
                        f"{_clock_text(elapsed)} elapsed, ETA {_clock_text(eta)}\n")
        self._out.flush()


class LiveProgress:
    """rich's progress display, kept to one line: done of total, the counts so far, elapsed and ETA."""

    def __init__(self, console: Console):
        self._bar = Progress(
            TextColumn("scout"), BarColumn(), MofNCompleteColumn(), TextColumn("deals, {task.fields[counts]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
        )
        self._task = self._bar.add_task("pass", total=None, counts="")

    def __call__(self, p: PassProgress) -> None:
        self._bar.update(self._task, completed=p.done, total=p.total,
                         counts=f"{_counts(p)}, {p.failed} failed")

    def __enter__(self) -> "LiveProgress":
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


@contextmanager
def pass_progress(quiet: bool, stream: TextIO) -> Iterator[ProgressSink | None]:
    """The sink for `scout run`: live on an interactive terminal, plain otherwise, None when quiet."""
    if quiet:
        yield None
        return
    console = Console(file=stream)
    if console.is_terminal and console.is_interactive:
        with LiveProgress(console) as live:
            yield live
    else:
        yield PlainProgress(stream)
