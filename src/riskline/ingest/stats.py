"""Ingest statistics: what was read, what became an observation, what was dropped and why.

Every reader counts each unit of input (line, frame, record) exactly once: either it yields observations,
or it is accepted without one (a static with nothing new, a Mode S reply with no usable field), or it is
rejected with a reason. ``read == accepted + rejected`` always holds; tests check it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class IngestStats:
    """Mutable counters owned by one ingest run."""

    read: int = 0
    """Units of input seen (lines, frames, records)."""
    accepted: int = 0
    """Units that decoded (whether or not they gave a position)."""
    observations: int = 0
    """Observations yielded (a unit may yield none or one)."""
    bytes_read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Rejected units by reason, e.g. ``bad_checksum``, ``incomplete_multipart``, ``implausible_jump``."""
    dropped_by_kernel: int = 0
    """UDP datagrams the kernel dropped before riskline could read them (the socket's receive buffer was full):
    never seen, so not in ``read``. TCP feeds cannot lose data this way."""

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def merge(self, other: IngestStats) -> None:
        self.read += other.read
        self.accepted += other.accepted
        self.observations += other.observations
        self.bytes_read += other.bytes_read
        self.rejected.update(other.rejected)
        self.dropped_by_kernel += other.dropped_by_kernel

    def as_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "observations": self.observations,
            "bytes_read": self.bytes_read,
            "rejected": dict(sorted(self.rejected.items())),
            "dropped_by_kernel": self.dropped_by_kernel,
        }
