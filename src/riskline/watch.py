"""The watch: observations in, encounters out — ``ingest → tracks → detection → incidents`` in one object.

Pure core: no files, no clock. The caller feeds observations (in roughly increasing time) and the watch ticks
the detector on data time every ``tick_s``, so a recording replays exactly as it happened live, and a replay
of the same input always gives the same encounters.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import repeat

import numpy as np

from riskline.detection.confirm import BreachJudge
from riskline.detection.detector import Detector
from riskline.detection.rulebook import Rulebook
from riskline.incidents.evidence import build_evidence
from riskline.incidents.model import Encounter, Evidence
from riskline.incidents.tracker import EncounterTracker
from riskline.ingest.batch import ObservationBatch
from riskline.ingest.observation import Domain, Observation
from riskline.tracks.attribution import Attributor
from riskline.tracks.identity import PlatformIdentity
from riskline.tracks.segment import TrackSegment
from riskline.tracks.table import TrackTable
from riskline.transparency.observed import ActivityLog

_MAX_CATCH_UP_TICKS = 5
"""After a gap in the data longer than this many ticks, jump to the new time instead of ticking through it, and
restart the tick clock there as at the start (``Watch._catch_up``)."""


@dataclass(frozen=True, slots=True)
class WatchStatus:
    t: float | None
    """[s] data time of the last tick."""
    observations: int
    tracks: int
    """Live tracks now."""
    platforms: int
    """Distinct platforms seen since the start."""
    open_encounters: int
    closed_encounters: int
    ticks: int


class Watch:
    def __init__(self, rulebook: Rulebook, *, attributor: Attributor | None = None) -> None:
        settings = rulebook.watch
        self.rulebook = rulebook
        self.attributor = attributor or Attributor(None)
        self.tracks = TrackTable(
            max_age_air_s=60.0,
            max_age_sea_s=600.0,
            history_s=2 * settings.evidence_sea_s + settings.hold_sea_s,
        )
        self.detector = Detector(rulebook)
        self.judge = BreachJudge(rulebook)
        self.tracker = EncounterTracker(rulebook)
        self._awaiting_evidence: list[tuple[float, int, Encounter]] = []
        self._kept: dict[tuple[int, str], TrackSegment] = {}
        """Segments of awaited encounters taken before their track expired, by (awaiting number, platform)."""
        self._tick_s = settings.tick_s
        self._next_tick: float | None = None
        self._last_tick: float | None = None
        self._observations = 0
        self._identities: dict[str, PlatformIdentity] = {}
        self._steady: dict[tuple[object, ...], PlatformIdentity] = {}
        """Identity fields of a row (``_identity_keys``) → the platform's current identity, for the fields the
        attributor is known to answer with the current identity itself (a fixed point: it is pure)."""
        self._steady_keys: dict[str, list[tuple[object, ...]]] = {}
        """The ``_steady`` keys of each platform, dropped when its identity changes."""
        self._ticks = 0
        self._closed = 0
        self.activity = ActivityLog()
        """Observed military activity (one sample per platform per bin), for ``transparency compare``."""

    # ------------------------------------------------------------------ feeding

    def feed(self, observation: Observation) -> list[Encounter]:
        """Take one observation; return the encounters that closed on the ticks it triggered."""
        closed: list[Encounter] = []
        t = observation.t
        if not math.isfinite(t):
            return closed
        if self._next_tick is None:
            self._next_tick = math.floor(t / self._tick_s) * self._tick_s + self._tick_s
        elif t > self._next_tick:
            closed += self._catch_up(t)
        self._observations += 1
        pid = observation.platform_id
        previous = self._identities.get(pid)
        identity = self.attributor.identify(observation, previous)
        if identity != previous:
            self._identity_changed(pid)
        self._identities[pid] = identity
        self.tracks.update(observation, identity)
        self.activity.add(observation, identity)
        return closed

    def feed_batch(self, batch: ObservationBatch) -> list[Encounter]:
        """Take many observations in one call (columnar, in arrival order): the same encounters as ``feed`` on
        each row in turn. The batch is cut where the rows cross a tick; each piece goes to the track table in
        one call, and the attributor runs only when a platform's identity fields change."""
        closed: list[Encounter] = []
        t = batch.t
        if not np.isfinite(t).all():
            batch = batch.select(np.flatnonzero(np.isfinite(t)))
            t = batch.t
        start, n = 0, len(batch)
        newest = np.maximum.accumulate(t) if n else t  # [s] the first row after a time is where this passes it
        while start < n:
            if self._next_tick is None:
                self._next_tick = math.floor(t[start] / self._tick_s) * self._tick_s + self._tick_s
            stop = max(start, int(np.searchsorted(newest, self._next_tick, side="right")))
            if stop > start:
                self._absorb(batch.take(start, stop))
            if stop == n:
                break
            closed += self._catch_up(float(t[stop]))
            start = stop
        return closed

    def _absorb(self, batch: ObservationBatch) -> None:
        identities = self._identities_of(batch)
        self._observations += len(batch)
        self.tracks.update_batch(batch, identities)
        self.activity.add_batch(batch, identities)

    def _identities_of(self, batch: ObservationBatch) -> list[PlatformIdentity]:
        """The attributor's identity for each row, as ``feed`` gives them row by row. The attributor is pure:
        a row whose identity fields it answered before with the platform's current identity itself gets that
        identity again without asking (one dictionary look-up per row); it is asked only for the platforms
        with a row it has not answered so, and for those, row by row in order."""
        keys = _identity_keys(batch)
        identities = list(map(self._steady.get, keys))
        asking = [row for row, identity in enumerate(identities) if identity is None]
        if not asking:
            return identities  # type: ignore[return-value]
        platform_ids = batch.platform_id
        changing = {platform_ids[row] for row in asking}
        for row in range(asking[0], len(batch)):  # the rows before the first one asked for are answered
            pid = platform_ids[row]
            if pid not in changing:
                continue
            identity = self._steady.get(keys[row])
            if identity is None:
                previous = self._identities.get(pid)
                identity = self.attributor.identify(batch.row(row), previous)
                if identity == previous:
                    assert previous is not None
                    identity = previous
                    self._steady[keys[row]] = previous
                    self._steady_keys.setdefault(pid, []).append(keys[row])
                else:
                    self._identity_changed(pid)
                    self._identities[pid] = identity
            identities[row] = identity
        return identities  # type: ignore[return-value]

    def _identity_changed(self, platform_id: str) -> None:
        for key in self._steady_keys.pop(platform_id, ()):
            del self._steady[key]

    def _catch_up(self, t: float) -> list[Encounter]:
        """The ticks an observation at ``t`` (after the next tick) makes due, as ``feed`` runs them."""
        closed: list[Encounter] = []
        assert self._next_tick is not None
        if t - self._next_tick > _MAX_CATCH_UP_TICKS * self._tick_s:
            # Across a gap the clock restarts as a fresh watch's starts on ``t`` (``feed``): the tick that was due,
            # one at ``floor(t)`` that looks back over the gap, and ``t`` in the tick after — even when ``t`` is
            # exactly on a tick. So a history partition whose data begins after the gap ticks as one watch does.
            closed += self.tick(self._next_tick)
            restart = math.floor(t / self._tick_s) * self._tick_s
            closed += self.tick(restart)
            self._next_tick = restart + self._tick_s
            return closed
        while t > self._next_tick:
            closed += self.tick(self._next_tick)
            self._next_tick += self._tick_s
        return closed

    def feed_all(self, observations: Iterable[Observation]) -> Iterator[Encounter]:
        for observation in observations:
            yield from self.feed(observation)

    def tick(self, t: float) -> list[Encounter]:
        """Run the detector at data time ``t`` and advance the encounters."""
        since = self._last_tick if self._last_tick is not None else t - self._tick_s
        snapshot = self.tracks.snapshot(t)
        findings = self.judge.judge(
            self.detector.detect(snapshot, t, since=since), since=since, t=t, segment=self.tracks.segment,
            is_air=self._is_air,
        )
        self._await_evidence(self.tracker.update(findings, t))
        self._keep_evidence_of(self.tracks.stale(t))
        self.tracks.expire(t)
        self._last_tick = t
        self._ticks += 1
        return self._with_evidence(until=t)

    def finish(self) -> list[Encounter]:
        """End of input: a last tick, then close every open encounter."""
        if self._next_tick is None:
            return []
        closed = self.tick(self._next_tick)
        self._await_evidence(self.tracker.close_all())
        return closed + self._with_evidence(until=math.inf)

    def _is_air(self, platform_id: str) -> bool:
        identity = self._identities.get(platform_id)
        return identity is not None and identity.domain is Domain.AIR

    def identities(self) -> list[PlatformIdentity]:
        """Every platform seen since the start, with its latest identity."""
        return list(self._identities.values())

    def status(self) -> WatchStatus:
        return WatchStatus(
            t=self._last_tick,
            observations=self._observations,
            tracks=len(self.tracks),
            platforms=len(self._identities),
            open_encounters=self.tracker.open_count,
            closed_encounters=self._closed,
            ticks=self._ticks,
        )

    # ------------------------------------------------------------------ evidence
    # A closed encounter waits until the data has run past ``t_cpa + window``, so that its evidence holds both
    # tracks on both sides of the closest approach; at the end of the input every waiting one is released.
    # A track that falls silent expires from the table long before that (60 s for aircraft, against a 180 s
    # window): its segment is taken as it expires and kept for the encounter, else the evidence would be empty
    # whenever other traffic keeps the data running past the silence (issue 6: the Il-20 with 0 fixes).

    def _half_window(self, encounter: Encounter) -> float:
        settings = self.rulebook.watch
        return settings.evidence_sea_s if encounter.details.get("domain") == "sea" else settings.evidence_air_s

    def _await_evidence(self, closed: list[Encounter]) -> None:
        for encounter in closed:
            ready = encounter.t_cpa + self._half_window(encounter)
            heapq.heappush(self._awaiting_evidence, (ready, self._closed, encounter))
            self._closed += 1

    def _keep_evidence_of(self, expiring: list[str]) -> None:
        """Take the evidence segments of awaited encounters whose platforms are about to expire."""
        if not expiring or not self._awaiting_evidence:
            return
        leaving = set(expiring)
        for _, number, encounter in self._awaiting_evidence:
            for platform_id in (encounter.a, encounter.b):
                if platform_id in leaving and (number, platform_id) not in self._kept:
                    t0, t1 = self._window(encounter)
                    self._kept[number, platform_id] = self.tracks.segment(platform_id, t0, t1)

    def _with_evidence(self, *, until: float) -> list[Encounter]:
        released = []
        while self._awaiting_evidence and self._awaiting_evidence[0][0] <= until:
            _, number, encounter = heapq.heappop(self._awaiting_evidence)
            released.append(replace(encounter, evidence=self._evidence(number, encounter)))
        return released

    def _window(self, encounter: Encounter) -> tuple[float, float]:
        half = self._half_window(encounter)
        return encounter.t_cpa - half, encounter.t_cpa + half

    def _segment(self, number: int, platform_id: str, t0: float, t1: float) -> TrackSegment:
        """The kept segment (if the track expired meanwhile) followed by what the table holds after it."""
        current = self.tracks.segment(platform_id, t0, t1)
        kept = self._kept.pop((number, platform_id), None)
        if kept is None or len(kept) == 0:
            return current
        after = [i for i, t in enumerate(current.t) if t > kept.t[-1]]
        if not after:
            return kept
        k = after[0]
        return TrackSegment(
            platform_id, kept.t + current.t[k:], kept.lat + current.lat[k:], kept.lon + current.lon[k:],
            kept.alt + current.alt[k:],
        )

    def _evidence(self, number: int, encounter: Encounter) -> Evidence:
        t0, t1 = self._window(encounter)
        segment_a = self._segment(number, encounter.a, t0, t1)
        area_rule = encounter.b.startswith(("territory:", "hazard:"))  # the other side is an area, not a track
        segment_b = None if area_rule else self._segment(number, encounter.b, t0, t1)
        return build_evidence(segment_a, segment_b, three_d=encounter.details.get("domain") == "air")


def _identity_keys(batch: ObservationBatch) -> list[tuple[object, ...]]:
    """Per row, every field the attributor reads: platform, callsign, name, ship type, party, kind, domain and
    whether the altitude is missing."""
    nothing = repeat(None)
    return list(zip(
        batch.platform_id,
        nothing if batch.callsign is None else batch.callsign,
        nothing if batch.name is None else batch.name,
        nothing if batch.ship_type is None else batch.ship_type,
        batch.party,
        batch.kind,
        batch.domain,
        np.isnan(batch.alt_m).tolist(),
        strict=False,  # the absent columns repeat None without end
    ))


def in_time_order(sources: Iterable[Iterable[Observation]], *, reorder_window_s: float = 10.0) -> Iterator[Observation]:
    """Merge several observation streams into one in time order.

    Each stream may be slightly out of order (receivers, multipart assembly): a heap holds observations for
    ``reorder_window_s`` of data time before releasing them. Later arrivals older than that pass through as they
    come; the track table handles them as out-of-order reports.
    """
    heap: list[tuple[float, int, Observation]] = []
    newest = -math.inf
    for counter, observation in enumerate(heapq.merge(*sources, key=lambda o: o.t)):
        heapq.heappush(heap, (observation.t, counter, observation))
        newest = max(newest, observation.t)
        while heap and heap[0][0] < newest - reorder_window_s:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]
