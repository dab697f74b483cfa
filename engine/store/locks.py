"""The pass lock: one pass (or setup, undo, import) at a time over one log."""

from __future__ import annotations

import os
import socket
from typing import Protocol


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_dead(holder: str | None) -> bool:
    """A lock left by a killed process on this host is stale at once; elsewhere only its TTL frees it."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class PassLock(Protocol):
    async def acquire_lock(self, name: str = "pass") -> str: ...

    async def extend_lock(self, holder: str, name: str = "pass") -> None: ...

    async def confirm_lock(self, holder: str, name: str = "pass") -> None:
        """Raises LockHeld unless this process still holds the lock (checked before each page is settled)."""
        ...

    async def release_lock(self, holder: str, name: str = "pass") -> None: ...
