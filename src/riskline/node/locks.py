"""Advisory file locks (``flock``): one server per node directory, one deliverer per outbox, and a gate in
front of SQLite's write lock.

The kernel releases an ``flock`` when its holder dies, even by SIGKILL, so a crashed server never leaves a
stale lock behind.

Why a gate: a SQLite writer that finds the database locked sleeps in steps of 1, 2, 5, 10, 15, 20, 25 … ms
before it looks again (its default busy handler), so a server writing while the CLI sends waits tens of
milliseconds for a lock that was free after one or two. Taking ``WriterGate`` first, every riskline writer
queues on the gate and gets it within a fraction of a millisecond of its release. The gate only orders
writers; SQLite's own locking still guarantees correctness (a writer that does not take it is merely slower).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class FileLock:
    """A non-blocking exclusive ``flock`` on ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """True when this process now holds the lock; False when another process does."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


class WriterGate:
    """An exclusive ``flock`` taken around each write transaction of a node; re-entrant within one holder.

    ``enter(timeout)`` waits at most ``timeout`` [s] (looking every ``POLL`` s); if the gate stays shut — a
    writer hung inside its transaction — it lets the caller through to SQLite, whose busy timeout then decides.
    """

    POLL = 0.0002  # [s]

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._depth = 0
        self._locked = False

    def enter(self, timeout: float) -> None:
        self._depth += 1
        if self._depth > 1:
            return
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(self.POLL)
            else:
                self._locked = True
                return

    @property
    def held(self) -> bool:
        """True while this gate holds the lock (False when ``enter`` timed out and let the caller through)."""
        return self._locked

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._locked and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._locked = False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._locked = False
            self._depth = 0
