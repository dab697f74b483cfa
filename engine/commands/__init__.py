"""CLI commands. Exit codes are part of the interface: scripts and the scheduler rely on them, and
`python -m bot` uses the same ones."""

from __future__ import annotations

from pathlib import Path

from engine.errors import (  # noqa: F401 (re-exported: the commands' names for them)
    EXIT_BUSY, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CommandError,
)


def regular_file(path: Path, what: str) -> None:
    """Scout replaces only a regular file of its own: never a device, and never through a link to elsewhere."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = "a link" if path.is_symlink() else "a device or directory"
        raise CommandError(f"{what} {path} is not a regular file ({kind}); Scout will not replace it: point "
                           "SCOUT_WORKSPACE (or SCOUT_DATA_DIR) at a plain file path; nothing was changed", EXIT_USAGE)


from engine.commands import core, crmtools, dbcmd, evalcmd, logview  # noqa: E402

COMMAND_MODULES = [core, logview, evalcmd, crmtools, dbcmd]
