"""Tables for the terminal (rich), and the same columns as plain aligned text when stdout is not a terminal
(a pipe, a file, cron), so scripts and `grep` see stable lines without colours or box characters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

# Wide enough that plain output never wraps; columns are clipped by their own max_width instead.
PLAIN_WIDTH = 10_000


@dataclass(frozen=True)
class Col:
    header: str
    justify: Literal["left", "right"] = "left"
    max_width: int | None = None  # longer values end in an ellipsis
    wrap: bool = False  # on a terminal, wrap this (long, free-text) column rather than clip it


def stdout_is_terminal() -> bool:
    """rich's answer, so TTY_COMPATIBLE / NO_COLOR / FORCE_COLOR work as they do for other rich tools."""
    return Console().is_terminal


def render(cols: Sequence[Col], rows: Sequence[Sequence[object]], *, terminal: bool,
           sections: Sequence[int] = (), indent: int = 0) -> str:
    """The table as text; `sections` are row indexes that start a new section (a rule on a terminal)."""
    table = Table(box=box.SIMPLE_HEAD if terminal else None, show_edge=False, pad_edge=False,
                  header_style="bold" if terminal else "", padding=(0, 1))
    for c in cols:
        if terminal and c.wrap:
            # Free text takes what the terminal has left, wrapped; a narrow terminal squeezes it first.
            table.add_column(c.header, justify=c.justify, overflow="fold", ratio=1, min_width=12)
        else:
            # On a terminal too narrow for the row, rich may wrap these as well rather than push columns off.
            table.add_column(c.header, justify=c.justify, max_width=c.max_width, no_wrap=not terminal,
                             overflow="ellipsis", min_width=min(len(c.header), c.max_width or 99))
    for i, row in enumerate(rows):
        table.add_row(*("" if v is None else str(v) for v in row), end_section=(i + 1) in sections)
    console = (Console(highlight=False) if terminal else
               Console(width=PLAIN_WIDTH, color_system=None, force_terminal=False, highlight=False))
    with console.capture() as captured:
        console.print(table)
    pad = " " * indent
    return "\n".join(pad + line.rstrip() for line in captured.get().rstrip("\n").splitlines())
