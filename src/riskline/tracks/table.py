"""Per-platform state as struct-of-arrays, so that the detector's snapshot is a masked array copy.

Design note. Each platform owns a slot: one row in a set of preallocated NumPy arrays (position, velocity,
time of fix, party, flags), grown geometrically and reused after expiry. ``snapshot(t)`` selects the live rows
with one boolean mask and copies them with fancy indexing; no Python loop touches the rows, so it scales to
100k tracks. Rows come out sorted by platform id (the order is kept incrementally), which makes snapshots
reproducible whatever order the reports arrived in. The recent fixes of every slot sit in one ``FixLog``
(``riskline.tracks.fixlog``), so ``update_batch`` takes a batch in NumPy over its rows: one grouping by
platform, one append, the kinematics of every platform it moved at once.

Time is always a parameter, never the wall clock. Reports may come late or twice (several receivers, replays):
- a report at the same time as one already held for that platform is a duplicate: ignored and counted;
- an older report never moves the current state backwards: it goes into the history if it falls within
  ``history_s`` of the newest fix, and is counted as out of order either way.

Velocity: from the report's speed and course over ground and vertical rate when given; otherwise derived from
the earlier fixes on the WGS-84 ellipsoid over at least ``MIN_DERIVE_DT_S``, and a velocity reported less than
that before is kept (``riskline.tracks.history``). The state is a pure function of the fixes held, so the same
reports in any order give the same snapshot. A first fix without speed and course counts as stationary.
Altitude: ships are at 0; an aircraft fix without altitude keeps the last known one (NaN until one is known).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from riskline.ingest.batch import ObservationBatch
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.fixlog import FixLog, IntArray, KinematicsColumns, horizontal_velocity
from riskline.tracks.history import Kinematics
from riskline.tracks.identity import PlatformIdentity
from riskline.tracks.segment import TrackSegment
from riskline.tracks.snapshot import Snapshot

MIN_DERIVE_DT_S = 1.0  # [s] shortest interval a velocity is derived over; position noise dominates below it
_INITIAL_CAPACITY = 1024
_FEW_REMOVALS = 64
_SMALL_BATCH = 16  # rows below which update_batch takes them one by one
_PLATFORM_ID = attrgetter("platform_id")
_Scalar = TypeVar("_Scalar", bound=np.generic)


class UpdateResult(StrEnum):
    """What ``TrackTable.update`` did with a report."""

    ACCEPTED = "accepted"
    """The report is the platform's newest fix: the current state moved to it."""
    DUPLICATE = "duplicate"
    """A fix at the same time is already held for the platform: ignored."""
    OUT_OF_ORDER = "out_of_order"
    """Older than the current fix: kept in the history if within the window, the current state unchanged."""
    NO_POSITION = "no_position"
    """A report without position (AIS statics, Mode S identification): only the identity was updated."""
    INVALID = "invalid"
    """Time not finite or position outside [-90, 90] x [-180, 180]: only the identity was updated."""


@dataclass(slots=True)
class TableStats:
    """What the table did with every report it was given; nothing is dropped without being counted here."""

    accepted: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    out_of_order_in_history: int = 0
    """Out-of-order reports that were kept in the history (the others were older than ``history_s``)."""
    no_position: int = 0
    invalid: int = 0
    expired: int = 0
    """Platforms dropped by ``expire``."""

    def as_dict(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "out_of_order_in_history": self.out_of_order_in_history,
            "no_position": self.no_position,
            "invalid": self.invalid,
            "expired": self.expired,
        }


class TrackTable:
    """Current state and recent history of every platform, indexed by platform id."""

    def __init__(self, *, max_age_air_s: float = 60.0, max_age_sea_s: float = 600.0,
                 history_s: float = 1800.0) -> None:
        for name, value in (("max_age_air_s", max_age_air_s), ("max_age_sea_s", max_age_sea_s),
                            ("history_s", history_s)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"TrackTable: {name} must be a positive number of seconds, got {value!r}")
        self.max_age_air_s = float(max_age_air_s)  # [s]
        self.max_age_sea_s = float(max_age_sea_s)  # [s]
        self.history_s = float(history_s)  # [s]
        self.stats = TableStats()

        self._capacity = _INITIAL_CAPACITY
        self._used = 0
        """Slots ever handed out: every slot below it is occupied or in ``_free``."""
        self._free: list[int] = []
        self._slot_of: dict[str, int] = {}
        self._identity_of: dict[str, PlatformIdentity] = {}
        self._with_fix = 0
        self._order_ids: list[str] = []
        """Platform ids, sorted; ``_order_slots`` holds their slots in the same order."""
        self._order_slots = np.zeros(0, dtype=np.int64)
        self._party_code: dict[str, int] = {}
        self._party_names: list[str] = []

        size = self._capacity
        self._ids: npt.NDArray[np.object_] = np.full(size, None, dtype=object)
        self._occupied = np.zeros(size, dtype=bool)
        self._has_fix = np.zeros(size, dtype=bool)
        self._t_fix = np.full(size, np.nan)  # [s]
        self._t_seen = np.full(size, -np.inf)  # [s] newest report of any kind, for expiry
        self._lat = np.full(size, np.nan)  # [deg]
        self._lon = np.full(size, np.nan)  # [deg]
        self._alt = np.full(size, np.nan)  # [m]
        self._v_east = np.zeros(size)  # [m/s]
        self._v_north = np.zeros(size)  # [m/s]
        self._v_up = np.zeros(size)  # [m/s]
        self._is_air = np.zeros(size, dtype=bool)
        self._is_military = np.zeros(size, dtype=bool)
        self._transponder = np.ones(size, dtype=bool)
        self._party = np.zeros(size, dtype=np.int64)
        self._identity_id = np.zeros(size, dtype=np.int64)
        self._max_age = np.full(size, self.max_age_sea_s)  # [s] by the slot's domain
        self._ids_cache: tuple[npt.NDArray[np.int64], tuple[str, ...]] | None = None
        """(slots, their ids) of the last snapshot."""
        """``id`` of the identity object held for the slot (0 if none), to see in bulk which ones a batch changes."""
        self._log = FixLog(self.history_s, slots=size)
        """Recent fixes of every slot (``riskline.tracks.fixlog``)."""

    # --- reading ---

    def __len__(self) -> int:
        """Platforms held with a position (not yet expired); ``snapshot(t)`` further keeps only the fresh ones."""
        return self._with_fix

    def __contains__(self, platform_id: object) -> bool:
        return platform_id in self._slot_of

    def identity(self, platform_id: str) -> PlatformIdentity | None:
        """The platform's identity as last given to ``update``, or None if the table does not hold it."""
        return self._identity_of.get(platform_id)

    def identities(self) -> Iterator[PlatformIdentity]:
        """Identities of every platform held (with or without a position), by platform id."""
        for platform_id in list(self._order_ids):
            yield self._identity_of[platform_id]

    def snapshot(self, t: float) -> Snapshot:
        """Live tracks at ``t``: last fix at or before ``t`` and no older than its domain's maximum age."""
        order = self._ordered_slots()
        t_fix = self._t_fix[order]
        age = t - t_fix  # [s] NaN where there is no fix: every comparison below is False there
        live = (age >= 0.0) & (age <= self._max_age[order])
        rows = order[live]
        air = self._is_air[rows]
        codes = self._party[rows]
        present = np.zeros(max(len(self._party_names), 1), dtype=bool)
        present[codes] = True
        party_names = sorted(self._party_names[code] for code in np.flatnonzero(present).tolist())
        renumber = np.zeros(max(len(self._party_names), 1), dtype=np.int64)
        for index, name in enumerate(party_names):
            renumber[self._party_code[name]] = index
        if self._ids_cache is None or not np.array_equal(self._ids_cache[0], rows):
            self._ids_cache = (rows, tuple(self._ids[rows].tolist()))  # the live set rarely changes tick to tick
        return Snapshot(
            t=t,
            ids=self._ids_cache[1],
            party=_frozen(renumber[codes]),
            party_names=tuple(party_names),
            is_air=_frozen(air),
            is_military=_frozen(self._is_military[rows]),
            transponder=_frozen(self._transponder[rows]),
            lat=_frozen(self._lat[rows]),
            lon=_frozen(self._lon[rows]),
            alt=_frozen(np.where(air, self._alt[rows], 0.0)),
            v_east=_frozen(self._v_east[rows]),
            v_north=_frozen(self._v_north[rows]),
            v_up=_frozen(np.where(air, self._v_up[rows], 0.0)),
            t_fix=_frozen(t_fix[live]),
        )

    def segment(self, platform_id: str, t0: float, t1: float) -> TrackSegment:
        """The platform's fixes with ``t0 <= t <= t1``, oldest first (none if the table does not hold it)."""
        if t1 < t0:
            raise ValueError(f"segment: t0 ({t0}) is after t1 ({t1})")
        slot = self._slot_of.get(platform_id)
        if slot is None or not self._has_fix[slot]:
            return TrackSegment(platform_id, (), (), (), ())
        rows = self._between(slot, t0, t1)
        identity = self._identity_of[platform_id]
        alt = rows[:, 3] if identity.domain is Domain.AIR else np.zeros(len(rows))
        return TrackSegment(platform_id, tuple(rows[:, 0].tolist()), tuple(rows[:, 1].tolist()),
                            tuple(rows[:, 2].tolist()), tuple(alt.tolist()))

    # --- writing ---

    def update(self, obs: Observation, identity: PlatformIdentity) -> UpdateResult:
        """Take one report and the identity the attributor gave it; see ``UpdateResult`` for the outcomes."""
        platform_id = obs.platform_id
        if identity.platform_id != platform_id:
            raise ValueError(f"update: identity is for {identity.platform_id}, the report for {platform_id}")
        slot = self._slot_of.get(platform_id)
        if slot is None:
            slot = self._add(platform_id)
        self._set_identity(slot, identity)

        t = obs.t
        if not math.isfinite(t):
            self.stats.invalid += 1
            return UpdateResult.INVALID
        if t > self._t_seen[slot]:
            self._t_seen[slot] = t
        lat, lon = obs.lat, obs.lon
        if lat is None or lon is None:
            self.stats.no_position += 1
            return UpdateResult.NO_POSITION
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            self.stats.invalid += 1
            return UpdateResult.INVALID

        if not self._has_fix[slot]:
            self._first_fix(slot, platform_id, obs, lat, lon)
            return UpdateResult.ACCEPTED
        t_current = float(self._t_fix[slot])
        if t == t_current:
            self.stats.duplicates += 1
            return UpdateResult.DUPLICATE
        if t < t_current:
            return self._late_fix(slot, platform_id, obs, lat, lon, t_current)
        self._next_fix(slot, platform_id, obs, lat, lon)
        return UpdateResult.ACCEPTED

    def update_batch(self, batch: ObservationBatch, identities: Sequence[PlatformIdentity]) -> None:
        """Take many reports at once, ``identities[k]`` the one the attributor gave row ``k``: the same state and
        counts as ``update`` on each row in order, in NumPy over the batch.

        Rows are grouped by platform. A platform whose new fixes all come after its current one, in strictly
        increasing time, has them appended in bulk and its state computed once, with every other such platform's
        (``FixLog.kinematics_of``); its identity is written only when the batch changes it. Any other platform
        (a late or repeated fix) has its rows taken one by one. Platforms are independent, so handling them
        apart gives the same result as the rows' interleaved order.
        """
        n = len(batch)
        if len(identities) != n:
            raise ValueError(f"update_batch: {len(identities)} identities for {n} reports")
        platform_ids = batch.platform_id
        if list(map(_PLATFORM_ID, identities)) != platform_ids:
            row = next(k for k in range(n) if identities[k].platform_id != platform_ids[k])
            raise ValueError(
                f"update_batch: identity is for {identities[row].platform_id}, the report for {platform_ids[row]}"
            )
        if n == 0:
            return
        if n < _SMALL_BATCH:  # a few rows cost less one by one than the batch's fixed NumPy overhead
            for row, identity in enumerate(identities):
                self.update(batch.row(row), identity)
            return
        slots = self._slots_of(platform_ids)
        t, lat, lon = batch.t, batch.lat, batch.lon
        timed = np.isfinite(t)
        valid = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0) & timed  # False where NaN
        every_row_valid = bool(valid.all())
        order = slots.argsort(kind="stable")  # rows grouped by platform, each group in arrival order
        grouped = slots[order]
        starts, group_ends = _groups(grouped)
        group_slots = grouped[starts]

        fix_rows = order if every_row_valid else order[valid[order]]  # fixes by platform, in arrival order
        fix_slots = slots[fix_rows]
        fix_t = t[fix_rows]
        opens = np.concatenate(([True], fix_slots[1:] != fix_slots[:-1]))[:len(fix_rows)]
        disordered = np.zeros(self._capacity, dtype=bool)
        disordered[fix_slots[1:][~opens[1:] & (fix_t[1:] <= fix_t[:-1])]] = True
        disordered[fix_slots[opens & self._has_fix[fix_slots] & (fix_t <= self._t_fix[fix_slots])]] = True
        if disordered.any():
            for row in disordered[slots].nonzero()[0].tolist():
                self.update(batch.row(row), identities[row])
            orderly = ~disordered[slots]
            kept = ~disordered[group_slots]
            group_slots, group_ends = group_slots[kept], group_ends[kept]
            group_newest = np.maximum.reduceat(np.where(timed, t, -np.inf)[order], starts)[kept]
            fix_rows = fix_rows[~disordered[fix_slots]]
        else:
            orderly = None
            group_newest = np.maximum.reduceat(np.where(timed, t, -np.inf)[order], starts)

        last_identities = [identities[row] for row in order[group_ends].tolist()]
        held = np.fromiter(map(id, last_identities), np.int64, len(last_identities))
        changed = held != self._identity_id[group_slots]
        for k in changed.nonzero()[0].tolist():
            self._set_identity(int(group_slots[k]), last_identities[k])
        self._t_seen[group_slots] = np.maximum(self._t_seen[group_slots], group_newest)
        if not every_row_valid:
            taken = ~valid if orderly is None else orderly & ~valid
            unlocated = taken & timed & (np.isnan(lat) | np.isnan(lon))
            self.stats.no_position += int(np.count_nonzero(unlocated))
            self.stats.invalid += int(np.count_nonzero(taken & ~unlocated))
        if not len(fix_rows):
            return
        fix_slots = slots[fix_rows]
        fix_starts, fix_lasts = _groups(fix_slots)
        fixed = fix_slots[fix_starts]
        v_east, v_north = horizontal_velocity(batch.sog_mps[fix_rows], batch.cog_deg[fix_rows])
        self._log.extend(fixed, fix_starts, t[fix_rows], lat[fix_rows], lon[fix_rows], batch.alt_m[fix_rows],
                         v_east, v_north, batch.vrate_mps[fix_rows])
        first_fixes = fixed[~self._has_fix[fixed]]
        self._has_fix[first_fixes] = True
        self._with_fix += len(first_fixes)
        self._transponder[fixed] = batch.transponder[fix_rows[fix_lasts]]
        self._store_state(fixed, self._log.kinematics_of(fixed, MIN_DERIVE_DT_S))
        self.stats.accepted += len(fix_rows)

    def stale(self, t: float) -> list[str]:
        """The platforms ``expire(t)`` would drop (not heard from for longer than their maximum age), sorted."""
        used = self._used
        silence = t - self._t_seen[:used]  # [s]
        stale_slots = np.flatnonzero(self._occupied[:used] & (silence > self._max_age[:used]))
        return sorted(str(self._ids[slot]) for slot in stale_slots)

    def expire(self, t: float) -> list[str]:
        """Drop the platforms not heard from for longer than their domain's maximum age; their ids, sorted."""
        expired = self.stale(t)
        if not expired:
            return []
        for platform_id in expired:
            self._remove(platform_id)
        self._unorder(expired)
        self.stats.expired += len(expired)
        return expired

    # --- internals ---

    def _first_fix(self, slot: int, platform_id: str, obs: Observation, lat: float, lon: float) -> None:
        self._log.append(slot, obs.t, lat, lon, *_reported(obs))
        self._has_fix[slot] = True
        self._with_fix += 1
        self._transponder[slot] = obs.transponder
        self._set_state(slot)
        self.stats.accepted += 1

    def _next_fix(self, slot: int, platform_id: str, obs: Observation, lat: float, lon: float) -> None:
        self._log.append(slot, obs.t, lat, lon, *_reported(obs))
        self._transponder[slot] = obs.transponder
        self._set_state(slot)
        self.stats.accepted += 1

    def _late_fix(self, slot: int, platform_id: str, obs: Observation, lat: float, lon: float,
                  t_current: float) -> UpdateResult:
        if obs.t < t_current - self.history_s:
            self.stats.out_of_order += 1
            return UpdateResult.OUT_OF_ORDER
        if not self._log.insert(slot, obs.t, lat, lon, *_reported(obs)):
            self.stats.duplicates += 1
            return UpdateResult.DUPLICATE
        self._set_state(slot)
        self.stats.out_of_order += 1
        self.stats.out_of_order_in_history += 1
        return UpdateResult.OUT_OF_ORDER

    def _set_state(self, slot: int) -> None:
        self._store_state(slot, self._log.kinematics(slot, MIN_DERIVE_DT_S))

    def _store_state(self, slots: int | IntArray, state: Kinematics | KinematicsColumns) -> None:
        """The state at the newest fix of one slot or of many (its columns in the slots' order)."""
        self._t_fix[slots] = state.t
        self._lat[slots] = state.lat
        self._lon[slots] = state.lon
        self._alt[slots] = state.alt
        self._v_east[slots] = state.v_east
        self._v_north[slots] = state.v_north
        self._v_up[slots] = state.v_up

    def _set_identity(self, slot: int, identity: PlatformIdentity) -> None:
        self._identity_of[identity.platform_id] = identity
        self._identity_id[slot] = id(identity)
        air = identity.domain is Domain.AIR
        self._is_air[slot] = air
        self._max_age[slot] = self.max_age_air_s if air else self.max_age_sea_s
        self._is_military[slot] = identity.kind is Kind.MILITARY
        self._party[slot] = self._party_index(identity.party)

    def _slots_of(self, platform_ids: list[str]) -> npt.NDArray[np.int64]:
        """Each row's slot, new platforms added (in order of first appearance)."""
        found = list(map(self._slot_of.get, platform_ids))
        if None in found:
            for row, slot in enumerate(found):
                if slot is None:
                    known = self._slot_of.get(platform_ids[row])
                    found[row] = known if known is not None else self._add(platform_ids[row])
        return np.array(found, dtype=np.int64)

    def _between(self, slot: int, t0: float, t1: float) -> npt.NDArray[np.float64]:
        """Rows ``[t, lat, lon, alt]`` of the slot's fixes with ``t0 <= t <= t1``, oldest first; a missing
        altitude is carried forward from the fix before it (NaN while none is known), as ``FixHistory.between``."""
        log = self._log
        rows = log.rows_of(slot)
        times = log.t[rows]
        first = int(np.searchsorted(times, t0, side="left"))
        last = int(np.searchsorted(times, t1, side="right"))
        picked = rows[first:last]
        out = np.empty((len(picked), 4))
        out[:, 0], out[:, 1], out[:, 2] = log.t[picked], log.lat[picked], log.lon[picked]
        if len(picked):
            known = log.alt[rows[:last]]
            index = np.where(np.isfinite(known), np.arange(len(known)), -1)
            carried = np.maximum.accumulate(index)[first:]
            out[:, 3] = np.where(carried >= 0, known[np.maximum(carried, 0)], np.nan)
        return out

    def _add(self, platform_id: str) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            if self._used == self._capacity:
                self._grow()
            slot = self._used
            self._used += 1
        self._slot_of[platform_id] = slot
        self._ids[slot] = platform_id
        self._ids_cache = None
        self._occupied[slot] = True
        position = bisect.bisect_left(self._order_ids, platform_id)
        self._order_ids.insert(position, platform_id)
        self._order_slots = np.insert(self._order_slots, position, slot)
        return slot

    def _remove(self, platform_id: str) -> None:
        slot = self._slot_of.pop(platform_id)
        del self._identity_of[platform_id]
        self._log.clear(slot)
        self._identity_id[slot] = 0
        if self._has_fix[slot]:
            self._with_fix -= 1
        self._ids[slot] = None
        self._ids_cache = None
        self._occupied[slot] = False
        self._has_fix[slot] = False
        self._t_fix[slot] = np.nan
        self._t_seen[slot] = -np.inf
        self._lat[slot] = self._lon[slot] = self._alt[slot] = np.nan
        self._v_east[slot] = self._v_north[slot] = self._v_up[slot] = 0.0
        self._transponder[slot] = True
        self._free.append(slot)

    def _unorder(self, removed: list[str]) -> None:
        if len(removed) <= _FEW_REMOVALS:
            positions = []
            for platform_id in sorted(removed, reverse=True):
                position = bisect.bisect_left(self._order_ids, platform_id)
                del self._order_ids[position]
                positions.append(position)
            self._order_slots = np.delete(self._order_slots, positions)
        else:
            gone = set(removed)
            kept = np.fromiter((platform_id not in gone for platform_id in self._order_ids), bool,
                               len(self._order_ids))
            self._order_ids = [platform_id for platform_id in self._order_ids if platform_id not in gone]
            self._order_slots = self._order_slots[kept]

    def _ordered_slots(self) -> npt.NDArray[np.int64]:
        return self._order_slots

    def _party_index(self, party: str) -> int:
        code = self._party_code.get(party)
        if code is None:
            code = len(self._party_names)
            self._party_code[party] = code
            self._party_names.append(party)
        return code

    def _grow(self) -> None:
        old = self._capacity
        new = old * 2
        self._capacity = new
        self._ids = _grown(self._ids, new, None)
        self._occupied = _grown(self._occupied, new, False)
        self._has_fix = _grown(self._has_fix, new, False)
        self._t_fix = _grown(self._t_fix, new, np.nan)
        self._t_seen = _grown(self._t_seen, new, -np.inf)
        self._lat = _grown(self._lat, new, np.nan)
        self._lon = _grown(self._lon, new, np.nan)
        self._alt = _grown(self._alt, new, np.nan)
        self._v_east = _grown(self._v_east, new, 0.0)
        self._v_north = _grown(self._v_north, new, 0.0)
        self._v_up = _grown(self._v_up, new, 0.0)
        self._is_air = _grown(self._is_air, new, False)
        self._is_military = _grown(self._is_military, new, False)
        self._transponder = _grown(self._transponder, new, True)
        self._party = _grown(self._party, new, 0)
        self._identity_id = _grown(self._identity_id, new, 0)
        self._max_age = _grown(self._max_age, new, self.max_age_sea_s)
        self._log.grow_slots(new)


def _groups(keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(first, last) index of each run of equal values in ``keys`` (not empty)."""
    last = (keys[1:] != keys[:-1]).nonzero()[0]
    return np.concatenate(([0], last + 1)), np.concatenate((last, [len(keys) - 1]))


def _reported(obs: Observation) -> tuple[float, float, float, float]:
    """(alt, v_east, v_north, v_up) as the report gives them, NaN for what it does not."""
    sog, cog = obs.sog_mps, obs.cog_deg
    if sog is not None and cog is not None:
        radians = math.radians(cog)
        v_east, v_north = sog * math.sin(radians), sog * math.cos(radians)
    elif sog == 0.0:
        v_east = v_north = 0.0
    else:
        v_east = v_north = math.nan
    return (
        obs.alt_m if obs.alt_m is not None else math.nan,
        v_east,
        v_north,
        obs.vrate_mps if obs.vrate_mps is not None else math.nan,
    )


def _grown(array: npt.NDArray[_Scalar], size: int, fill: object) -> npt.NDArray[_Scalar]:
    bigger = np.full(size, fill, dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


def _frozen(array: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
    array.flags.writeable = False
    return array
