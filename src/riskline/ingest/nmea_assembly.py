"""Multi-sentence AIS messages (IEC 61162-1 / NMEA 0183 VDM fragments) put back together.

Fragments are grouped by (station, talker, sequence id, channel, fragment count), as receivers interleave
several messages. A group is dropped as ``incomplete_multipart`` (each of its sentences counted once) when:

* it is older than ``timeout`` seconds of *data* time (the newest time seen in the input, never the wall clock);
* a fragment number arrives that the group already holds (the sender reused the sequence id);
* more than ``max_pending`` groups are open (the oldest goes first);
* the input ends (``flush``).

The sentences of a group are counted in ``IngestStats.read`` only when the group's fate is known, so
``read == accepted + rejected_total`` holds between any two lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pyais.messages import AISSentence

from riskline.ingest.counting import Counting
from riskline.ingest.stats import IngestStats

GroupKey = tuple[str | None, str, int | None, str, int]


@dataclass(slots=True)
class _Group:
    parts: list[AISSentence | None]
    received: int
    t: float | None  # [s] message time: the first time any fragment carried
    started: float | None  # [s] data time when the first fragment came, for the timeout
    station: str | None


@dataclass(frozen=True, slots=True)
class AssembledMessage:
    sentence: AISSentence
    """One sentence carrying the whole payload (pyais ``assemble_from_iterable``)."""
    units: int
    """Input lines that made it."""
    t: float | None
    station: str | None


class MultipartAssembler(Counting):
    __slots__ = ("_earliest", "_max_pending", "_pending", "_timeout")

    def __init__(self, stats: IngestStats, timeout: float, max_pending: int = 1000) -> None:
        super().__init__(stats)
        self._timeout = timeout  # [s]
        self._max_pending = max_pending
        self._pending: dict[GroupKey, _Group] = {}
        self._earliest = math.inf  # [s] earliest start among open groups: most lines need no scan

    @property
    def pending(self) -> int:
        """Open groups."""
        return len(self._pending)

    def _drop(self, key: GroupKey) -> None:
        group = self._pending.pop(key)
        self._reject("incomplete_multipart", group.received)

    def evict(self, now: float) -> None:
        """Drop the groups started more than ``timeout`` before data time ``now``."""
        oldest = now - self._timeout
        if self._earliest >= oldest:
            return
        for key in [k for k, g in self._pending.items() if g.started is not None and g.started < oldest]:
            self._drop(key)
        self._earliest = min((g.started for g in self._pending.values() if g.started is not None), default=math.inf)

    def flush(self) -> None:
        """Drop every open group: the input has ended."""
        for key in list(self._pending):
            self._drop(key)

    def add_adjacent(self, key: GroupKey, t: float, now: float | None) -> bool:
        """What ``add`` does with the fragments of a message that come one after the other, the first at time ``t``
        and data time ``now``, the others with no time: the timeouts, the room made for its group and its group
        opened and closed at once. False, with only the timeouts run, when a group of ``key`` is open: then the
        fragments must go through ``add``."""
        if now is not None and self._pending:
            self.evict(now)
        if key in self._pending:
            return False
        if len(self._pending) >= self._max_pending:
            self._drop(next(iter(self._pending)))
        if now is not None and now < self._earliest:
            self._earliest = now
        return True

    def add(self, sentence: Any, t: float | None, station: str | None, now: float | None) -> AssembledMessage | None:
        """Add one fragment (a pyais ``AISSentence`` with a valid checksum); the whole message once complete."""
        if now is not None and self._pending:
            self.evict(now)
        count: int = sentence.frag_cnt
        index: int = sentence.frag_num - 1
        key: GroupKey = (station, sentence.talker_id, sentence.seq_id, sentence.channel, count)
        group = self._pending.get(key)
        if group is not None and group.parts[index] is not None:
            self._drop(key)
            group = None
        if group is None:
            if len(self._pending) >= self._max_pending:
                self._drop(next(iter(self._pending)))
            group = _Group([None] * count, 0, t, now, station)
            self._pending[key] = group
            if now is not None and now < self._earliest:
                self._earliest = now
        group.parts[index] = sentence
        group.received += 1
        if group.t is None:
            group.t = t
        if group.received < count:
            return None
        del self._pending[key]
        parts = [part for part in group.parts if part is not None]
        return AssembledMessage(AISSentence.assemble_from_iterable(parts), count, group.t, group.station)
