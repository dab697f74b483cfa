"""CLI commands. Exit codes are part of the interface: scripts and the scheduler rely on them, and
`python -m bot` uses the same ones."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1  # configuration, CRM or extractor error; nothing half-done is left unlogged
EXIT_USAGE = 2  # bad arguments or settings
EXIT_BUSY = 3  # another pass holds the lock
EXIT_PARTIAL = 4  # finished, but some actions failed or conflicted (see `scout log RUN`)
EXIT_NOT_FOUND = 5  # no such run or deal
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class CommandError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_ERROR):
        super().__init__(message)
        self.exit_code = exit_code


def regular_file(path: Path, what: str) -> None:
    """Scout replaces only a regular file of its own: never a device, and never through a link to elsewhere."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = "a link" if path.is_symlink() else "a device or directory"
        raise CommandError(f"{what} {path} is not a regular file ({kind}); Scout will not replace it: point "
                           "SCOUT_WORKSPACE (or SCOUT_DATA_DIR) at a plain file path; nothing was changed", EXIT_USAGE)


from engine.commands import core, crmtools, evalcmd, logview  # noqa: E402

COMMAND_MODULES = [core, logview, evalcmd, crmtools]
