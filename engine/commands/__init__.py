"""CLI commands. Exit codes are part of the interface: scripts and the scheduler rely on them, and
`python -m bot` uses the same ones."""

from __future__ import annotations

from engine.errors import (  # noqa: F401 (re-exported: the commands' names for them)
    EXIT_BUSY, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CommandError,
)

from engine.commands import core, crmtools, evalcmd, logview  # noqa: E402

COMMAND_MODULES = [core, logview, evalcmd, crmtools]
