"""An exclusive, process-level write lock held in a file beside the DuckDB file.

The lock is an OS advisory lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on ``<store>.lock``.
The operating system releases it when the holding process ends, however it ends (even SIGKILL), so a
crashed load never leaves a stale lock behind. While held, the file records who holds it (process id,
host, purpose, start time) so a second writer can be told which load is running.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

from uptake.errors import UptakeError

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class StoreBusy(UptakeError):
    """Another process is writing to the analytics store."""

    def __init__(self, store_path: Path, holder: dict | None):
        self.store_path = store_path
        self.holder = holder or {}
        who = describe_holder(self.holder)
        super().__init__(
            f"another load is running on the analytics store {store_path}{who}; "
            "only one process may write at a time. Wait for it to finish, then try again."
        )


def describe_holder(holder: dict) -> str:
    if not holder:
        return ""
    parts = []
    if holder.get("purpose"):
        parts.append(str(holder["purpose"]))
    if holder.get("pid"):
        parts.append(f"process {holder['pid']} on {holder.get('host', '?')}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return " (" + ", ".join(parts) + ")" if parts else ""


def read_holder(lock_path: Path) -> dict | None:
    try:
        text = lock_path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


class WriteLock:
    """Reentrant (within one object) exclusive lock on ``lock_path``; fails at once if another holds it."""

    def __init__(self, lock_path: Path, store_path: Path):
        self.lock_path = lock_path
        self.store_path = store_path
        self._fd: int | None = None
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self, purpose: str) -> None:
        if self._depth:
            self._depth += 1
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise StoreBusy(self.store_path, read_holder(self.lock_path))
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
            "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder) + "\n").encode("utf-8"))
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        fd, self._fd = self._fd, None
        assert fd is not None
        try:
            os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)
