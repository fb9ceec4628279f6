"""The live picture the watch feeds, and the numbered event stream the dashboard pushes to pages.

``LivePicture`` keeps, for the current data time, every live platform (one column per field, as the watch's
``Snapshot``), a short trail per platform, the open (actual or predicted) encounters, and a bounded history of
frames so one time slider can scrub back through what the watch saw. ``EventStream`` numbers every event; a page
that reconnects with ``Last-Event-ID`` gets what it missed, or a ``reset`` when that has left the buffer.

Frames are columnar JSON (ids, lat, lon, …) rounded to 1e-5° (about 1 m): 10,000 platforms make one message of
about 600 kB that the page turns into one GeoJSON update (tar1090 batches the same way). Pages get at most
one frame per ``frame_interval_s`` of wall time, however fast the watch ticks.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskline.incidents.model import Encounter
from riskline.tracks.snapshot import Snapshot

TRAIL_POINTS = 12
"""Positions kept per platform for its recent track on the map."""
HISTORY_FRAMES = 720
"""Frames kept for scrubbing back (at the watch's 10 s tick: two hours)."""
AIR, MILITARY, TRANSPONDER_OFF = 1, 2, 4
"""Bits of a platform's ``flags`` in a frame."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Every live platform at data time ``t``, columnar; what the map draws."""

    t: float
    """[s] POSIX data time."""
    ids: tuple[str, ...]
    parties: tuple[str, ...]
    party: tuple[int, ...]
    """Index into ``parties`` per platform."""
    flags: tuple[int, ...]
    """``AIR | MILITARY | TRANSPONDER_OFF`` bits per platform."""
    lat: tuple[float, ...]  # [deg]
    lon: tuple[float, ...]  # [deg]
    alt_m: tuple[float | None, ...]  # [m] None: unknown
    course_deg: tuple[float, ...]  # [deg] true, clockwise from north
    speed_mps: tuple[float, ...]  # [m/s]

    def __len__(self) -> int:
        return len(self.ids)

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "ids": list(self.ids),
            "parties": list(self.parties),
            "party": list(self.party),
            "flags": list(self.flags),
            "lat": list(self.lat),
            "lon": list(self.lon),
            "alt": list(self.alt_m),
            "course": list(self.course_deg),
            "speed": list(self.speed_mps),
        }

    @staticmethod
    def empty(t: float) -> Frame:
        return Frame(t, (), (), (), (), (), (), (), (), ())


def frame_from_snapshot(snapshot: Snapshot) -> Frame:
    """The map's frame of a watch snapshot (vectorised; positions rounded to 1e-5°)."""
    flags = (
        snapshot.is_air.astype(np.int64) * AIR
        + snapshot.is_military.astype(np.int64) * MILITARY
        + (~snapshot.transponder).astype(np.int64) * TRANSPONDER_OFF
    )
    course = np.degrees(np.arctan2(snapshot.v_east, snapshot.v_north)) % 360.0
    speed = np.hypot(snapshot.v_east, snapshot.v_north)
    alt = [None if math.isnan(a) else round(a, 1) for a in snapshot.alt.tolist()]
    return Frame(
        t=snapshot.t,
        ids=snapshot.ids,
        parties=snapshot.party_names,
        party=tuple(snapshot.party.tolist()),
        flags=tuple(flags.tolist()),
        lat=tuple(np.round(snapshot.lat, 5).tolist()),
        lon=tuple(np.round(snapshot.lon, 5).tolist()),
        alt_m=tuple(alt),
        course_deg=tuple(np.round(course, 1).tolist()),
        speed_mps=tuple(np.round(speed, 1).tolist()),
    )


def encounter_summary(encounter: Encounter, now: float) -> dict[str, Any]:
    """What the encounter list and the map show of an encounter (open or closed) at data time ``now`` [s]."""
    return {
        "rule": encounter.rule,
        "severity": encounter.severity,
        "a": encounter.a,
        "b": encounter.b,
        "party_a": encounter.party_a,
        "party_b": encounter.party_b,
        "occurred": encounter.occurred,
        "start": encounter.start,
        "end": encounter.end,
        "t_cpa": encounter.t_cpa,
        "time_to_cpa_s": encounter.t_cpa - now,
        "lead_time_s": encounter.lead_time_s,
        "min_distance_m": round(encounter.min_distance_m, 1),
        "min_horizontal_m": round(encounter.min_horizontal_m, 1),
        "min_vertical_m": None if encounter.min_vertical_m is None else round(encounter.min_vertical_m, 1),
        "lat": encounter.lat,
        "lon": encounter.lon,
        "source": encounter.details.get("source"),
    }


@dataclass(slots=True)
class LivePicture:
    """What the watch sees now, and the frames it saw before (thread-safe: the watch writes, pages read)."""

    history_frames: int = HISTORY_FRAMES
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _frames: deque[Frame] = field(default_factory=deque)
    _trails: dict[str, deque[tuple[float, float, float]]] = field(default_factory=dict)
    _open: tuple[Encounter, ...] = ()

    def update(self, frame: Frame, open_encounters: Iterable[Encounter]) -> None:
        with self._lock:
            if self._frames and frame.t < self._frames[-1].t:  # a new replay: start over
                self._frames.clear()
                self._trails.clear()
            self._frames.append(frame)
            while len(self._frames) > self.history_frames:
                self._frames.popleft()
            live = set(frame.ids)
            for gone in [pid for pid in self._trails if pid not in live]:
                del self._trails[gone]
            for pid, lat, lon in zip(frame.ids, frame.lat, frame.lon, strict=True):
                trail = self._trails.get(pid)
                if trail is None:
                    trail = self._trails[pid] = deque(maxlen=TRAIL_POINTS)
                if not trail or trail[-1][1:] != (lat, lon):
                    trail.append((frame.t, lat, lon))
            self._open = tuple(open_encounters)

    @property
    def t(self) -> float | None:
        with self._lock:
            return self._frames[-1].t if self._frames else None

    def span(self) -> tuple[float, float] | None:
        """[s] the data times of the oldest and newest frame kept."""
        with self._lock:
            return (self._frames[0].t, self._frames[-1].t) if self._frames else None

    def frame(self, at: float | None = None) -> Frame | None:
        """The newest frame, or the last one at or before ``at`` [s] (None before the first)."""
        with self._lock:
            if not self._frames:
                return None
            if at is None:
                return self._frames[-1]
            times = [f.t for f in self._frames]
            index = bisect.bisect_right(times, at) - 1
            return self._frames[index] if index >= 0 else None

    def trails(self, ids: Iterable[str] | None = None) -> dict[str, list[list[float]]]:
        """``{platform: [[t, lat, lon], …]}``, oldest first, for the given platforms (all if None)."""
        with self._lock:
            wanted = self._trails.keys() if ids is None else [i for i in ids if i in self._trails]
            return {pid: [list(point) for point in self._trails[pid]] for pid in wanted}

    def open_encounters(self) -> tuple[Encounter, ...]:
        with self._lock:
            return self._open


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: str
    """``frame``, ``encounters``, ``alarm``, ``incident``, ``channel``, ``reset``."""
    data: dict[str, Any]


class EventStream:
    """Numbered events in a bounded buffer; readers ask for what came after the last number they saw."""

    def __init__(self, capacity: int = 2000) -> None:
        self._events: deque[Event] = deque(maxlen=capacity)
        self._seq = 0
        self._changed = threading.Condition()
        self.closed = False

    def close(self) -> None:
        """The server is stopping: wake every waiting reader so that its stream ends."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    @property
    def last_seq(self) -> int:
        with self._changed:
            return self._seq

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        with self._changed:
            self._seq += 1
            event = Event(self._seq, kind, data)
            self._events.append(event)
            self._changed.notify_all()
            return event

    def since(self, seq: int) -> list[Event]:
        """Events after ``seq``; a single ``reset`` if some of them already left the buffer."""
        with self._changed:
            if seq > self._seq:  # the server restarted since: everything is new
                return [Event(self._seq, "reset", {"reason": "server restarted"})]
            if self._events and seq < self._events[0].seq - 1:
                return [Event(self._seq, "reset", {"reason": "missed events left the buffer"})]
            return [event for event in self._events if event.seq > seq]

    def wait(self, seq: int, timeout: float) -> bool:
        """Block until an event after ``seq`` exists or ``timeout`` [s] passes; True if there is one."""
        with self._changed:
            return self._changed.wait_for(lambda: self._seq > seq or self.closed, timeout=timeout)
