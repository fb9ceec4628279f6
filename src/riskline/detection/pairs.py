"""Candidate pairs: which tracks could come close enough to matter, found without forming all N² pairs.

Guarantee (conservative). With every track moving as in ``geometry.py`` (constant latitude and longitude rates
from its dead-reckoned position at ``t``), every pair (i, j) whose horizontal separation — measured exactly as
``geometry.pair_geometry`` measures it — is at most ``max(reach_m[i], reach_m[j])`` at some time in
``[t - lookback_s, t + min(horizon_s[i], horizon_s[j])]`` is returned, if at least one of i and j is *active*
(every track is, unless an ``active`` mask is given; two passive tracks are never paired). That includes every pair
within that distance at ``t``. The last filter applies this very test (with ``SLACK_M`` and 1e-9 relative slack
against rounding), so what comes back is, to that slack, exactly that set. Pairs are unique, ``i < j``, sorted by
``i`` then ``j``.

Method — a uniform grid of swept boxes (the broad phase of collision detection), then exact filters
-----------------------------------------------------------------------------------------------------
1. Swept boxes. Each track's path over ``[t - lookback_s, t + horizon_s]`` is a straight segment in (φ, λ), so
   its latitude/longitude bounding box is the box of its two ends. The box is padded by a *half-pad* h of the
   track's reach: with m half the median reach, ``h = max(reach - m, m)``, so that h_i + h_j >= max(r_i, r_j)
   for every pair (a ship-heavy picture pads ships and aircraft by 2.8 km each, instead of 5.6 km per ship).
   Metres become degrees conservatively: latitude with the smallest meridian radius (at the equator);
   longitude with the parallel radius at the highest |latitude| the pair's plane can be centred on. The plane of
   a pair that comes within reach is centred at its mean latitude at ``t``, which lies at most
   ``(R/M_min + E)/2`` poleward of either box's highest |latitude| ``top``, with R the largest reach and E the
   *other* box's latitude extent; so each box's longitude pad is converted at ``top + (R/M_min + E_usual)/2``,
   with ``E_usual`` the largest extent up to ``LAT_EXTENT_CAP_DEG``. A box spanning more (an outlier) is also
   padded by R converted at its own ``top``, enough on its own whenever it is the poleward box of a pair, and
   a pair whose poleward box is usual is covered by the usual conversion. So if two tracks come within reach,
   their padded boxes overlap, and one fast outlier does not widen every other box.
2. Grid. Boxes are dropped into a uniform grid whose cells are as large, per axis in degrees, as the median
   padded box (the size that minimises the pairs generated). Entries (box, cell) are sorted by cell id and each
   entry is paired with the later entries of its cell by ``np.repeat``/``cumsum`` index arithmetic. A pair sharing
   several cells is kept only in the cell at the low corner of the two boxes' common cells, so none comes twice.
   With passive tracks, a cell's entries are ordered active then passive, and a passive entry is paired only with
   the active entries after it (see ``_cell_pairs``): two passive tracks are never paired, so a picture of many
   civil tracks and a few military ones costs about the grid plus the military tracks' neighbours.
   With at most ``SWEEP_ACTIVE_MAX`` active tracks there is no grid: each active box is tested against every box,
   which is O(active × N) and, for a few military tracks among many civil ones, far cheaper than building a grid.
3. Memory cap. A box covering more than ``MAX_CELLS_PER_BOX`` cells (a very fast track, a long horizon, a track
   near a pole) moves to a coarser level whose cells are ``LEVEL_FACTOR`` times larger per axis, as often as
   needed. Level L pairs its boxes with one another and with the boxes of lower levels re-gridded at level L's
   cell size, so no pair is lost, no box covers more than ``MAX_CELLS_PER_BOX`` cells, and the work stays
   O(N + pairs generated) whatever the speeds.
4. Filters. The padded boxes must overlap; then the exact horizontal closest approach over the pair's window
   ``[-lookback_s, min(horizon_i, horizon_j)]`` (as ``geometry.closest_approach`` computes it) must be within
   ``max(reach_i, reach_j)``.

Scope. Longitudes are not wrapped: a pair whose boxes straddle the antimeridian (±180°) is not found. riskline
watches the Baltic and Black Seas, far from it; a Pacific deployment must split boxes there first.
Every track needs a finite position and velocity (``ValueError`` otherwise). Pairs are purely geometric; drop
same-party pairs with ``different_party`` (marking one party passive spares forming most of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from riskline.detection.geometry import (
    MIN_MERIDIAN_RADIUS,
    STILL_MPS,
    TrackMotion,
    local_scale,
    parallel_radius,
    track_motion,
)
from riskline.tracks.snapshot import BoolArray, FloatArray, IntArray, Snapshot

CELL_SCALE = 1.0
"""Grid cell size as a multiple of the median padded box, per axis."""
MAX_CELLS_PER_BOX = 64
"""A box covering more cells than this moves to a coarser grid level."""
LEVEL_FACTOR = 4
"""Each coarser level's cells are this many times larger per axis."""
MIN_CELL_DEG = 1e-5
"""[deg] smallest cell (about 1 m), so stationary tracks with zero reach still make a finite grid."""
SWEEP_ACTIVE_MAX = 32
"""With at most this many active tracks, each active box is tested against every box instead of building the grid:
O(active × N) work, and much less fixed cost (a busy civil picture with a few military tracks)."""
LAT_EXTENT_CAP_DEG = 1.0
"""[deg] a box spanning more latitude than this (about 111 km: 60 m/s for 30 minutes, Mach 3 for 2 minutes) gets
the outlier's longitude pad, so that one such track does not widen every other box."""
SLACK_M = 1e-3
"""[m] absolute slack added to every reach (with 1e-9 relative) in the padding and the exact filter, so that a
pair exactly at its reach survives rounding."""
_DEG_LAT_PER_M = float(np.degrees(1.0 / MIN_MERIDIAN_RADIUS))  # [deg/m] the most degrees of latitude per metre
_FIRST_ROW, _FIRST_COLUMN = 1, 2  # bit flags of a grid entry: it lies in the first row / column of its box


@dataclass(frozen=True, slots=True)
class PairIndex:
    """Pairs of snapshot rows: ``i[k] < j[k]``, unique, sorted by ``i`` then ``j``."""

    i: IntArray
    """Snapshot row of the first track of each pair."""
    j: IntArray
    """Snapshot row of the second track of each pair (always greater than ``i``)."""

    def __len__(self) -> int:
        return len(self.i)

    @staticmethod
    def empty() -> PairIndex:
        return PairIndex(i=np.zeros(0, dtype=np.int64), j=np.zeros(0, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class _Boxes:
    """Per track: its padded swept box."""

    west: FloatArray  # [deg]
    east: FloatArray  # [deg] not wrapped: may exceed 180
    south: FloatArray  # [deg]
    north: FloatArray  # [deg]


@dataclass(frozen=True, slots=True)
class _CellPairs:
    """Pairs found at one grid level, as positions into that level's cell-sorted grid entries."""

    track: IntArray  # snapshot row of each grid entry, entries sorted by cell
    first: IntArray  # entry position of the first box of each pair
    second: IntArray  # entry position of the second box of each pair


def candidate_pairs(
    snapshot: Snapshot,
    t: float,
    *,
    horizon_s: FloatArray,
    reach_m: FloatArray,
    lookback_s: float = 0.0,
    active: BoolArray | None = None,
) -> PairIndex:
    """Every pair of ``snapshot`` rows that could come within reach of each other (see the module's guarantee).

    ``horizon_s[k]`` [s] is track k's look-ahead (its domain's: 120 s in the air, 1800 s at sea), ``reach_m[k]``
    [m] the largest rule distance involving it, and ``lookback_s`` [s] extends every window into the past, for
    measuring what happened since the previous tick. ``t`` [s] is the POSIX time the windows are relative to.
    ``active`` (one flag per track; None: all active) limits the result to pairs with at least one active track.
    """
    n = len(snapshot)
    horizon = _per_track(horizon_s, n, "horizon_s")
    reach = _per_track(reach_m, n, "reach_m")
    if not np.isfinite(lookback_s) or lookback_s < 0:
        raise ValueError(f"lookback_s must be finite and >= 0, got {lookback_s}")
    if active is None:
        active = np.ones(n, dtype=bool)
    elif np.shape(active) != (n,):
        raise ValueError(f"active must have one flag per track ({n}), got shape {np.shape(active)}")
    active = np.asarray(active, dtype=bool)
    if n < 2 or not active.any():
        return PairIndex.empty()
    motion = track_motion(snapshot, t)
    finite = np.isfinite(motion.lat) & np.isfinite(motion.lon) & np.isfinite(motion.lat_rate)
    finite &= np.isfinite(motion.lon_rate)
    if not finite.all():
        example = snapshot.ids[int(np.argmin(finite))]
        raise ValueError(f"{int((~finite).sum())} track(s) lack a finite position or velocity, e.g. {example!r}")
    boxes = _swept_boxes(motion, horizon, reach, lookback_s)
    keys = []
    for first, second in _overlapping_pairs(boxes, active):
        a = np.minimum(first, second)  # canonical order: the same arithmetic whatever order the pair was met in
        b = np.maximum(first, second)
        close = _paths_within_reach(motion, horizon, reach, lookback_s, a, b)
        keys.append(a[close] * n + b[close])
    if not keys:
        return PairIndex.empty()
    ordered = np.sort(np.concatenate(keys))
    return PairIndex(i=ordered // n, j=ordered % n)


def different_party(snapshot: Snapshot, pairs: PairIndex) -> PairIndex:
    """The pairs of ``pairs`` whose two tracks belong to different parties (``snapshot.party``), order kept."""
    keep = snapshot.party[pairs.i] != snapshot.party[pairs.j]
    return PairIndex(i=pairs.i[keep], j=pairs.j[keep])


def _per_track(values: FloatArray, n: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"{name} must have one value per track ({n}), got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and >= 0 for every track")
    return array


def _swept_boxes(motion: TrackMotion, horizon: FloatArray, reach: FloatArray, lookback_s: float) -> _Boxes:
    """Step 1 of the module note."""
    lat_start = motion.lat - motion.lat_rate * lookback_s
    lat_end = motion.lat + motion.lat_rate * horizon
    lon_start = motion.lon - motion.lon_rate * lookback_s
    lon_end = motion.lon + motion.lon_rate * horizon
    south = np.minimum(lat_start, lat_end)
    north = np.maximum(lat_start, lat_end)
    top = np.maximum(np.abs(south), np.abs(north))  # [deg] highest |latitude| of the unpadded box
    extent = north - south  # [deg]
    usual_extent = min(float(extent.max()), LAT_EXTENT_CAP_DEG)  # [deg]
    largest_reach = float(reach.max())  # [m]
    middle = 0.5 * float(np.median(reach))
    half_pad = np.maximum(reach - middle, middle) * (1.0 + 1e-9) + SLACK_M  # [m] with the exact filter's slack
    conversion_top = np.minimum(top + 0.5 * (largest_reach * _DEG_LAT_PER_M + usual_extent), 90.0)
    pad_lon = half_pad * _deg_lon_per_m(conversion_top)
    outlier = extent > usual_extent
    pad_lon[outlier] = np.maximum(pad_lon[outlier], largest_reach * _deg_lon_per_m(top[outlier]))
    pad_lon = np.minimum(pad_lon, 360.0)
    pad_lat = half_pad * _DEG_LAT_PER_M
    return _Boxes(
        west=np.minimum(lon_start, lon_end) - pad_lon,
        east=np.maximum(lon_start, lon_end) + pad_lon,
        south=south - pad_lat,
        north=north + pad_lat,
    )


def _deg_lon_per_m(lat_deg: FloatArray) -> FloatArray:
    """[deg/m] degrees of longitude per metre along the parallel ``lat_deg`` [deg]."""
    return np.degrees(1.0 / parallel_radius(lat_deg))


def _grid_pairs(boxes: _Boxes, active: BoolArray) -> list[_CellPairs]:
    """Pairs of boxes sharing a grid cell, each pair once, level by level (steps 2 and 3 of the module note)."""
    cell_x = max(CELL_SCALE * float(np.median(boxes.east - boxes.west)), MIN_CELL_DEG)  # [deg]
    cell_y = max(CELL_SCALE * float(np.median(boxes.north - boxes.south)), MIN_CELL_DEG)  # [deg]
    x_lo = (boxes.west - boxes.west.min()) / cell_x  # [cells] from the grid's origin
    x_hi = (boxes.east - boxes.west.min()) / cell_x
    y_lo = (boxes.south - boxes.south.min()) / cell_y
    y_hi = (boxes.north - boxes.south.min()) / cell_y
    level = np.full(len(x_lo), -1, dtype=np.int64)
    size = 1.0  # [cells of level 0] cell size of the level being filled
    current = 0
    while (level < 0).any():
        columns = np.floor(x_hi / size) - np.floor(x_lo / size) + 1
        rows = np.floor(y_hi / size) - np.floor(y_lo / size) + 1
        level[(level < 0) & (columns * rows <= MAX_CELLS_PER_BOX)] = current
        current += 1
        size *= LEVEL_FACTOR
    found = []
    for grid_level in np.unique(level):
        size = float(LEVEL_FACTOR) ** int(grid_level)
        members = np.flatnonzero(level <= grid_level)
        if not active[members].any():
            continue
        found.append(
            _cell_pairs(
                members,
                primary=level[members] == grid_level,
                active=active[members],
                col_lo=np.floor(x_lo[members] / size).astype(np.int64),
                col_hi=np.floor(x_hi[members] / size).astype(np.int64),
                row_lo=np.floor(y_lo[members] / size).astype(np.int64),
                row_hi=np.floor(y_hi[members] / size).astype(np.int64),
            )
        )
    return found


def _cell_pairs(
    members: IntArray,
    *,
    primary: BoolArray,
    active: BoolArray,
    col_lo: IntArray,
    col_hi: IntArray,
    row_lo: IntArray,
    row_hi: IntArray,
) -> _CellPairs:
    """Pairs of boxes sharing a cell, at least one of them primary and one active, each pair in one cell only.

    Within a cell, entries are ranked primary-active, primary-passive, secondary-active, secondary-passive. A
    primary-active entry pairs with every later entry of its cell; a primary-passive one with the secondary-active
    block only (its pairs with primary-active entries are theirs; passive–passive and primary-less pairs are not
    wanted); secondary entries start no pair. So every wanted pair of a cell comes once, and only those.

    A pair's home cell is the low corner of the two boxes' common cells: row ``max(row_lo)``, column
    ``max(col_lo)``. A shared cell is that corner exactly when its row is the first row of one of the two boxes
    and its column the first column of one of them, which two bit flags per entry tell without arithmetic.
    """
    columns = col_hi - col_lo + 1
    per_box = columns * (row_hi - row_lo + 1)
    box = np.repeat(np.arange(len(members)), per_box)  # entry -> position in members
    within = np.arange(len(box)) - np.repeat(np.cumsum(per_box) - per_box, per_box)
    within_row = within // np.repeat(columns, per_box)
    within_col = within - within_row * np.repeat(columns, per_box)
    width = int(col_hi.max()) + 1
    cell = (row_lo[box] + within_row) * width + col_lo[box] + within_col
    rank = ~primary * 2 + ~active  # per member: 0 primary-active, 1 primary-passive, 2 secondary-active, 3 neither
    key = cell * 4 + rank[box]
    order = np.argsort(key)
    key, box = key[order], box[order]
    cell = key >> 2
    flags = ((within_row[order] == 0) * _FIRST_ROW + (within_col[order] == 0) * _FIRST_COLUMN).astype(np.uint8)
    run_starts = np.flatnonzero(np.diff(cell, prepend=-1))
    run_ends = np.append(run_starts[1:], len(cell))
    run_end = np.repeat(run_ends, np.diff(run_ends, prepend=0))  # per sorted entry: one past its cell's last entry
    position = np.arange(len(cell))
    start = position + 1  # entry position of each entry's first partner
    partners = np.where((key & 3) == 0, run_end - start, 0)  # how many partners each entry has, from ``start`` on
    if not active.all():
        passive_primary = np.flatnonzero((key & 3) == 1)
        block_start = np.searchsorted(key, key[passive_primary] + 1)  # the cell's secondary-active block
        block_end = np.searchsorted(key, key[passive_primary] + 2)
        start[passive_primary] = block_start
        partners[passive_primary] = block_end - block_start
    first = np.repeat(position, partners)
    second = np.arange(len(first)) + np.repeat(start - (np.cumsum(partners) - partners), partners)
    home = (np.repeat(flags, partners) | flags[second]) == _FIRST_ROW | _FIRST_COLUMN
    return _CellPairs(track=members[box], first=first[home], second=second[home])


def _overlapping_pairs(boxes: _Boxes, active: BoolArray) -> Iterator[tuple[IntArray, IntArray]]:
    """Pairs of tracks with an active one whose padded boxes overlap, each pair once, a batch per grid level."""
    if np.count_nonzero(active) <= SWEEP_ACTIVE_MAX:
        yield _swept_by_active(boxes, active)
        return
    for cells in _grid_pairs(boxes, active):
        first, second = _overlapping(boxes, cells)
        yield cells.track[first], cells.track[second]


def _swept_by_active(boxes: _Boxes, active: BoolArray) -> tuple[IntArray, IntArray]:
    """Every pair with an active track whose padded boxes overlap, as track rows, each pair once: each active box
    tested against every box (step 2 for few active tracks: O(active × N) work, no grid to build)."""
    actives = np.flatnonzero(active)
    others = np.arange(len(active))
    overlap = (boxes.west[actives, None] <= boxes.east) & (boxes.west <= boxes.east[actives, None])
    overlap &= (boxes.south[actives, None] <= boxes.north) & (boxes.south <= boxes.north[actives, None])
    overlap &= ~active | (others > actives[:, None])  # two active tracks: once, from the lower row
    row, column = np.nonzero(overlap)
    return actives[row], others[column]


def _overlapping(boxes: _Boxes, cells: _CellPairs) -> tuple[IntArray, IntArray]:
    """The pairs of ``cells`` whose padded boxes overlap, as entry positions (read through per-entry copies:
    entries are in cell order, so these gathers stay local in memory)."""
    entry = cells.track
    west, east = boxes.west[entry], boxes.east[entry]
    south, north = boxes.south[entry], boxes.north[entry]
    first, second = cells.first, cells.second
    keep = (west[first] <= east[second]) & (west[second] <= east[first])
    first, second = first[keep], second[keep]
    keep = (south[first] <= north[second]) & (south[second] <= north[first])
    return first[keep], second[keep]


def _paths_within_reach(
    motion: TrackMotion, horizon: FloatArray, reach: FloatArray, lookback_s: float, a: IntArray, b: IntArray
) -> BoolArray:
    """Exact horizontal closest approach over each pair's window within ``max(reach)``, as ``geometry`` measures."""
    scale = local_scale(0.5 * (motion.lat[a] + motion.lat[b]))
    dx = scale.east * ((motion.lon[b] - motion.lon[a] + 180.0) % 360.0 - 180.0)
    dy = scale.north * (motion.lat[b] - motion.lat[a])
    dvx = scale.east * (motion.lon_rate[b] - motion.lon_rate[a])
    dvy = scale.north * (motion.lat_rate[b] - motion.lat_rate[a])
    speed_sq = dvx * dvx + dvy * dvy
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t_min = np.where(speed_sq >= STILL_MPS * STILL_MPS, -(dx * dvx + dy * dvy) / speed_sq, 0.0)
    t_min = np.clip(t_min, -lookback_s, np.minimum(horizon[a], horizon[b]))
    closest_x = dx + dvx * t_min
    closest_y = dy + dvy * t_min
    limit = np.maximum(reach[a], reach[b]) * (1.0 + 1e-9) + SLACK_M
    return closest_x * closest_x + closest_y * closest_y <= limit * limit


__all__ = [
    "CELL_SCALE",
    "LAT_EXTENT_CAP_DEG",
    "LEVEL_FACTOR",
    "MAX_CELLS_PER_BOX",
    "MIN_CELL_DEG",
    "SLACK_M",
    "SWEEP_ACTIVE_MAX",
    "PairIndex",
    "candidate_pairs",
    "different_party",
]
