"""SBS-1 BaseStation lines read column-wise: a whole batch of lines split and converted with NumPy at once.

The per-line reader (``sbs.SbsDecoder``) turns every field of every line into a Python value. Here a batch of
lines (one chunk of the file) is joined into one buffer; commas and line ends are found once and the fields each
message type needs (type, hex ident, date and time, callsign, altitude, speed, track, lat, lon, vertical rate)
are located for every line at once. Fixed-width fields (type, ident, date, time) are gathered as byte columns and
converted by integer arithmetic (``SS.sss`` is its millisecond count over 1000: the same rational ``float`` rounds,
rounded once); the numeric fields are checked against ``-?d+(.d+)?`` and cast by Arrow, which, like Python's
``float``, rounds a decimal correctly. Dates are converted once per distinct value with the row reader's own
``_day``. The per-aircraft memory (anchor of the jump gate, latest altitude and velocity, callsign) is held in
arrays indexed by aircraft, and carried onto positions with per-aircraft forward fills.

Exactness first, optimistically: a line is taken column-wise only when it is plain — printable ASCII without
spaces (except inside the callsign), at least 17 fields, ``MSG``, a type 1..8, six hex digits, a valid
``YYYY/MM/DD`` and ``HH:MM:SS.sss``, every numeric field blank or a plain decimal — and an aircraft is taken
column-wise only when all of its lines of the batch are plain, its timed messages come in time order and each
of its positions passes the gate's cheap test against the previous one. Every other line, and every line of
every other aircraft, goes through the per-line reader in order, its memory loaded from the arrays and stored
back afterwards. So the result is exactly the per-line reader's: same observations in the same order, same
counts by reason (``tests/ingest/test_sbs_columns.py`` compares both on clean and dirty inputs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskline.ingest.batch import ObservationBatch
from riskline.ingest.gate import AIR_LIMITS, JumpGate
from riskline.ingest.memory import CARRY_MAX_AGE, IdentityMemory, KinematicMemory, Velocity
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import SOURCE, SbsDecoder
from riskline.ingest.stats import IngestStats
from riskline.units import EARTH_RADIUS, FEET_PER_MINUTE, FOOT, KNOT

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CALLSIGN, ALTITUDE, SPEED, TRACK, LAT, LON, VRATE = 10, 11, 12, 13, 14, 15, 16
_NUMERIC = (ALTITUDE, SPEED, TRACK, LAT, LON, VRATE)
_CALLSIGN_WIDTH = 16  # [bytes] widest callsign field taken column-wise
_WINDOW = 16  # [bytes] widest fixed-width field
_METRES_PER_DEGREE = math.radians(1.0) * EARTH_RADIUS  # [m] as gate.JumpGate's cheap test
_DATE_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])
_TIME_DIGITS = np.array([0, 1, 3, 4, 6, 7, 9, 10, 11])
_DATE_PLACES = np.array([10_000_000, 1_000_000, 100_000, 10_000, 1000, 100, 10, 1])
_NIBBLE = np.full(256, -1, dtype=np.int64)  # hex digit -> value
_NIBBLE[list(b"0123456789")] = np.arange(10)
_NIBBLE[list(b"abcdef")] = _NIBBLE[list(b"ABCDEF")] = np.arange(10, 16)
_NIBBLE_SHIFTS = np.array([20, 16, 12, 8, 4, 0])


# --- the per-line reader's memory, loaded from and stored back to the arrays for the aircraft it handles ------


_Fix = tuple[float, float, float]  # (t [s], lat [deg], lon [deg]), as JumpGate keeps them


class _Gate(JumpGate):
    __slots__ = ()

    def load(self, key: str, anchor: _Fix | None, candidate: _Fix | None) -> None:
        if anchor is not None:
            self._anchor[key] = anchor
        if candidate is not None:
            self._candidate[key] = candidate

    def unload(self, key: str) -> tuple[_Fix | None, _Fix | None]:
        return self._anchor.pop(key, None), self._candidate.pop(key, None)


class _Kinematics(KinematicMemory):
    __slots__ = ()

    def unload(self, key: str) -> tuple[tuple[float, float] | None, Velocity | None]:
        altitude = self._altitude.pop(key, None)
        return (None if altitude is None else (altitude.t, altitude.alt_m)), self._velocity.pop(key, None)


class _Identities(IdentityMemory):
    __slots__ = ()

    def unload(self, key: str) -> str | None:
        identity = self._known.pop(key, None)
        return None if identity is None else identity.callsign


class _Memory:
    """Per-aircraft memory as arrays indexed by slot; absent values are flagged (``has_*``) or NaN (velocity
    fields, which are always finite when present)."""

    def __init__(self) -> None:
        self.slots: dict[int, int] = {}  # 24-bit address -> slot
        self.keys: list[str] = []  # slot -> platform id
        self.size = 0
        self._grow(1024)

    def _grow(self, capacity: int) -> None:
        def floats(name: str) -> FloatArray:
            old = getattr(self, name, np.zeros(0))
            new = np.full(capacity, math.nan)
            new[: len(old)] = old
            return new

        def flags(name: str) -> BoolArray:
            old = getattr(self, name, np.zeros(0, dtype=bool))
            new = np.zeros(capacity, dtype=bool)
            new[: len(old)] = old
            return new

        self.has_anchor, self.has_candidate = flags("has_anchor"), flags("has_candidate")
        self.has_alt, self.has_vel = flags("has_alt"), flags("has_vel")
        self.anchor_t, self.anchor_lat, self.anchor_lon = floats("anchor_t"), floats("anchor_lat"), floats("anchor_lon")
        self.cand_t, self.cand_lat, self.cand_lon = floats("cand_t"), floats("cand_lat"), floats("cand_lon")
        self.alt_t, self.alt_m = floats("alt_t"), floats("alt_m")
        self.vel_t, self.vel_sog = floats("vel_t"), floats("vel_sog")
        self.vel_cog, self.vel_vrate = floats("vel_cog"), floats("vel_vrate")
        old_callsign: list[str | None] = getattr(self, "callsign", [])
        self.callsign: list[str | None] = old_callsign + [None] * (capacity - len(old_callsign))

    def slot_of_code(self, code: int) -> int:
        """The slot of the aircraft of 24-bit address ``code``, made if new."""
        slot = self.slots.get(code)
        if slot is None:
            slot = self.slots[code] = self.size
            self.keys.append(f"icao:{code:06x}")
            self.size += 1
            if self.size > len(self.has_anchor):
                self._grow(2 * self.size)
        return slot

    def slot(self, key: str) -> int:
        """The slot of the aircraft ``icao:xxxxxx``, made if new."""
        return self.slot_of_code(int(key[5:], 16))

    def latest_t(self, slots: IntArray) -> FloatArray:
        """[s] the latest time any timed memory of each slot holds (-inf when none)."""
        out = np.full(len(slots), -math.inf)
        for has, t in ((self.has_anchor, self.anchor_t), (self.has_alt, self.alt_t), (self.has_vel, self.vel_t)):
            out = np.where(has[slots], np.maximum(out, t[slots]), out)
        return out

    def load(self, slot: int, key: str, gate: _Gate, kinematics: _Kinematics, identities: _Identities) -> None:
        anchor = (float(self.anchor_t[slot]), float(self.anchor_lat[slot]), float(self.anchor_lon[slot]))
        candidate = (float(self.cand_t[slot]), float(self.cand_lat[slot]), float(self.cand_lon[slot]))
        gate.load(key, anchor if self.has_anchor[slot] else None, candidate if self.has_candidate[slot] else None)
        if self.has_alt[slot]:
            kinematics.note_altitude(key, float(self.alt_t[slot]), float(self.alt_m[slot]))
        if self.has_vel[slot]:
            kinematics.note_velocity(
                key,
                float(self.vel_t[slot]),
                *(None if math.isnan(v) else v for v in (self.vel_sog[slot], self.vel_cog[slot], self.vel_vrate[slot])),
            )
        identities.update(key, callsign=self.callsign[slot])

    def store(self, slot: int, key: str, gate: _Gate, kinematics: _Kinematics, identities: _Identities) -> None:
        anchor, candidate = gate.unload(key)
        self.has_anchor[slot] = anchor is not None
        if anchor is not None:
            self.anchor_t[slot], self.anchor_lat[slot], self.anchor_lon[slot] = anchor
        self.has_candidate[slot] = candidate is not None
        if candidate is not None:
            self.cand_t[slot], self.cand_lat[slot], self.cand_lon[slot] = candidate
        altitude, velocity = kinematics.unload(key)
        self.has_alt[slot] = altitude is not None
        if altitude is not None:
            self.alt_t[slot], self.alt_m[slot] = altitude
        self.has_vel[slot] = velocity is not None
        if velocity is not None:
            self.vel_t[slot] = velocity.t
            self.vel_sog[slot], self.vel_cog[slot], self.vel_vrate[slot] = (
                math.nan if v is None else v for v in (velocity.sog_mps, velocity.cog_deg, velocity.vrate_mps)
            )
        self.callsign[slot] = identities.unload(key)


# --- splitting and converting the block --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Block:
    """The lines of a batch as one buffer, and where the first 17 fields of each line of at least 17 start and end."""

    data: bytes
    buf: npt.NDArray[np.uint8]
    rows: IntArray  # the lines of at least 17 fields
    start: IntArray  # (rows, 17): where each field starts
    end: IntArray  # (rows, 17): where each field ends (its comma, or the line's end)
    plain: BoolArray  # per row: printable ASCII, no space outside the callsign, none but spaces inside

    @staticmethod
    def of(lines: Sequence[bytes]) -> _Block:
        data = b"".join(lines)
        data += (b"" if data.endswith(b"\n") else b"\n") + bytes(_WINDOW)  # room for a window at every byte
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        sizes = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
        if len(ends) != len(lines) or not (ends[:-1] == np.cumsum(sizes[:-1]) - 1).all():
            ends = ends[:0]  # a line without its "\n" before the last, or with one inside: all go line by line
        starts = np.empty(len(ends), dtype=np.int64)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        stops = ends - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13))
        commas = np.flatnonzero(buf == 44)
        first = np.searchsorted(commas, starts)
        n_commas = np.searchsorted(commas, stops) - first
        rows = np.flatnonzero(n_commas >= VRATE)
        if not len(rows):
            empty = np.zeros((0, VRATE + 1), dtype=np.int64)
            return _Block(data, buf, rows, empty, empty, np.zeros(0, dtype=bool))
        end = np.empty((len(rows), VRATE + 1), dtype=np.int64)
        end[:, :VRATE] = commas[first[rows, None] + np.arange(VRATE)]
        end[:, VRATE] = np.where(
            n_commas[rows] > VRATE, commas[np.minimum(first[rows] + VRATE, len(commas) - 1)], stops[rows]
        )
        start = np.empty_like(end)
        start[:, 0] = starts[rows]
        start[:, 1:] = end[:, :VRATE] + 1
        # bytes outside 0x21..0x7e: none but spaces in the callsign, none at all elsewhere in the line
        odd = np.flatnonzero((buf < 0x21) | (buf > 0x7E))
        line_odd = np.searchsorted(odd, stops[rows]) - np.searchsorted(odd, starts[rows])
        callsign_odd = np.searchsorted(odd, end[:, CALLSIGN]) - np.searchsorted(odd, start[:, CALLSIGN])
        plain = line_odd == callsign_odd
        if callsign_odd.any():
            not_space = odd[buf[odd] != 0x20]
            plain &= np.searchsorted(not_space, end[:, CALLSIGN]) == np.searchsorted(not_space, start[:, CALLSIGN])
        return _Block(data, buf, rows, start, end, plain)

    def gather(self, start: IntArray, width: int) -> npt.NDArray[np.uint8]:
        """``width`` (at most ``_WINDOW``) bytes from each start, one row each."""
        return np.lib.stride_tricks.sliding_window_view(self.buf, _WINDOW)[start, :width]

    def numbers(self, at: IntArray) -> tuple[FloatArray, BoolArray]:
        """The numeric fields (altitude .. vertical rate) of rows ``at`` (all plain) as floats, one column each, NaN
        where blank; and whether each row's are all blank or plain decimals ``-?d+(.d+)?`` — whose values are then
        exactly ``float(text)``: Arrow's conversion and Python's both round the decimal correctly."""
        import pyarrow as pa
        import pyarrow.compute as pc

        columns = slice(ALTITUDE, VRATE + 1)
        start, end = self.start[at, columns].ravel(), self.end[at, columns].ravel()
        values = np.full(len(start), math.nan)
        number = np.ones(len(start), dtype=bool)
        filled = np.flatnonzero(end > start)
        n = len(filled)
        if n:
            # the fields and the gaps between them as one string array over the buffer, then the fields taken
            offsets = np.empty(2 * n, dtype=np.int64)
            offsets[0::2], offsets[1::2] = start[filled], end[filled]
            spans = pa.LargeStringArray.from_buffers(2 * n - 1, pa.py_buffer(offsets), pa.py_buffer(self.data))
            fields = spans.take(pa.array(np.arange(0, 2 * n, 2)))
            plain = pc.match_substring_regex(fields, r"^-?[0-9]+(\.[0-9]+)?$")
            converted = pc.cast(pc.if_else(plain, fields, pa.scalar(None, pa.large_string())), pa.float64())
            values[filled] = converted.to_numpy(zero_copy_only=False)
            number[filled] = plain.to_numpy(zero_copy_only=False)
        width = VRATE + 1 - ALTITUDE
        return values.reshape(-1, width), np.asarray(number.reshape(-1, width).all(axis=1), dtype=bool)


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The plain lines of a block, converted."""

    rows: IntArray  # line indices
    kind: npt.NDArray[np.int8]  # transmission type 1..8
    key: IntArray  # index in ``slots``
    slots: IntArray  # the memory's slot of each distinct aircraft
    t: FloatArray
    callsign: IntArray  # index in ``callsigns``, -1 for none
    callsigns: list[str]
    numbers: dict[int, FloatArray]


@dataclass(frozen=True, slots=True)
class _Fast:
    """What the aircraft taken column-wise give: their lines, and their observations by line index."""

    taken: IntArray  # every line taken column-wise
    by_line_keys: set[str]  # aircraft of the block left to the per-line reader
    line: IntArray  # the line each observation comes from
    t: FloatArray
    platform_id: list[str]
    lat: FloatArray
    lon: FloatArray
    alt_m: FloatArray
    sog_mps: FloatArray
    cog_deg: FloatArray
    vrate_mps: FloatArray
    callsign: list[str | None]


class SbsColumnDecoder(SbsDecoder):
    """``SbsDecoder`` that takes a batch of lines at once, column-wise (see the module's docstring)."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats, options)
        opts = options if options is not None else ReaderOptions()
        self._ranged = opts.max_range_m is not None
        self._reference = opts.reference if opts.reference is not None else (0.0, 0.0)
        self._max_range = opts.max_range_m if opts.max_range_m is not None else math.inf  # [m]
        self._gate = self._held_gate = _Gate(AIR_LIMITS)
        self._kinematics = self._held_kinematics = _Kinematics()
        self._identities = self._held_identities = _Identities()
        self._memory = _Memory()

    def feed(self, line: bytes) -> tuple[Observation, ...]:
        return tuple(o for batch in self.feed_columns([line]) for o in batch.observations())

    def feed_lines(self, lines: Sequence[bytes]) -> list[Observation]:
        """What feeding the lines one by one gives."""
        return [o for batch in self.feed_columns(lines) for o in batch.observations()]

    def feed_columns(self, lines: Sequence[bytes]) -> list[ObservationBatch]:
        """The observations of the lines, in order, as one batch (none when they give none)."""
        if not lines:
            return []
        block = _Block.of(lines)
        parsed = self._parse(block)
        plain = np.zeros(len(lines), dtype=bool)
        plain[parsed.rows] = True
        slow_keys = self._keys_of(lines, np.flatnonzero(~plain))
        with np.errstate(invalid="ignore"):
            fast = self._columns(parsed, slow_keys)
        by_line = np.ones(len(lines), dtype=bool)
        by_line[fast.taken] = False
        line_rows = np.flatnonzero(by_line)
        self._stats.bytes_read += sum(map(len, lines)) - sum(len(lines[i]) for i in line_rows.tolist())
        line_out = self._by_line(lines, line_rows, slow_keys | fast.by_line_keys)
        return self._merged(fast, line_out)

    # -- stage 1: which lines are plain, and their values ----------------------------------------------------

    def _parse(self, block: _Block) -> _Parsed:
        buf, start, end = block.buf, block.start, block.end
        width = end - start
        head = block.gather(start[:, 0], 3)
        kind = buf[np.minimum(start[:, 1], len(buf) - 1)]
        hexes = _NIBBLE[block.gather(start[:, 4], 6)]
        ok = block.plain & (width[:, 0] == 3) & (head == np.frombuffer(b"MSG", dtype=np.uint8)).all(axis=1)
        ok &= (width[:, 1] == 1) & (kind >= ord("1")) & (kind <= ord("8"))
        ok &= (width[:, 4] == 6) & (hexes >= 0).all(axis=1) & (width[:, CALLSIGN] <= _CALLSIGN_WIDTH)
        # the date and time: the generated ones, else the logged ones
        first = width[:, 6] > 0
        date_at = np.where(first, start[:, 6], start[:, 8])
        time_at = np.where(first, start[:, 7], start[:, 9])
        ok &= np.where(first, (width[:, 6] == 10) & (width[:, 7] == 12), (width[:, 8] == 10) & (width[:, 9] == 12))
        dates = block.gather(date_at, 10).astype(np.int32) - 48
        ok &= (dates[:, 4] == ord("/") - 48) & (dates[:, 7] == ord("/") - 48)
        date_digits = dates[:, _DATE_DIGITS]
        ok &= ((date_digits >= 0) & (date_digits <= 9)).all(axis=1)
        clock = block.gather(time_at, 12).astype(np.int32) - 48
        ok &= (clock[:, 2] == ord(":") - 48) & (clock[:, 5] == ord(":") - 48) & (clock[:, 8] == ord(".") - 48)
        digits = clock[:, _TIME_DIGITS]
        ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
        hours = digits[:, 0] * 10 + digits[:, 1]
        minutes = digits[:, 2] * 10 + digits[:, 3]
        millis = (digits[:, 4] * 10 + digits[:, 5]) * 1000 + digits[:, 6] * 100 + digits[:, 7] * 10 + digits[:, 8]
        seconds = millis.astype(np.float64) / 1000.0  # exactly float("SS.sss"): the same rational, rounded once
        ok &= (hours < 24) & (minutes < 60) & (seconds < 61.0)
        # dates once per distinct value, with the per-line reader's own conversion
        day = (date_digits * _DATE_PLACES).sum(axis=1, dtype=np.int64)
        distinct_days, day_index = np.unique(np.where(ok, day, -1), return_inverse=True)
        midnights = np.array([self._midnight_of(d) for d in distinct_days.tolist()])
        midnight = midnights[day_index]
        ok &= ~np.isnan(midnight)
        # the numbers, for the lines still plain
        keep = np.flatnonzero(ok)
        values, number = block.numbers(keep)
        keep, values = keep[number], values[number]
        numbers = {j: values[:, j - ALTITUDE] for j in _NUMERIC}
        of_day = (hours[keep] * 3600 + minutes[keep] * 60).astype(np.float64) + seconds[keep]  # int32: < 86,400
        codes = (hexes[keep] << _NIBBLE_SHIFTS).sum(axis=1)
        distinct_codes, key_index = np.unique(codes, return_inverse=True)
        slots = np.array([self._memory.slot_of_code(c) for c in distinct_codes.tolist()], dtype=np.int64)
        # callsigns: once per distinct value, stripped as the per-line reader does
        callsign = np.full(len(keep), -1, dtype=np.int64)
        named = np.flatnonzero((kind[keep] == ord("1")) & (width[keep, CALLSIGN] > 0))
        names: list[str] = []
        if len(named):
            at = keep[named]
            chars = block.gather(start[at, CALLSIGN], _CALLSIGN_WIDTH)
            chars[np.arange(_CALLSIGN_WIDTH) >= width[at, CALLSIGN][:, None]] = 0
            distinct, index = np.unique(chars.view(f"S{_CALLSIGN_WIDTH}").ravel(), return_inverse=True)
            stripped = [c.decode("ascii").strip() or None for c in distinct.tolist()]
            names = sorted({c for c in stripped if c is not None})
            code = {name: k for k, name in enumerate(names)}
            callsign[named] = np.array([-1 if c is None else code[c] for c in stripped], dtype=np.int64)[index]
        return _Parsed(
            rows=block.rows[keep],
            kind=(kind[keep] - ord("0")).astype(np.int8),
            key=key_index.astype(np.int64),
            slots=slots,
            t=midnight[keep] + of_day,
            callsign=callsign,
            callsigns=names,
            numbers=numbers,
        )

    def _midnight_of(self, day: int) -> float:
        """[s] midnight of a date given as the number YYYYMMDD, as ``_day`` reads its text; NaN if it is bad."""
        if day < 0:
            return math.nan
        try:
            return self._day(f"{day // 10000:04d}/{day // 100 % 100:02d}/{day % 100:02d}")
        except ValueError:
            return math.nan


    @staticmethod
    def _keys_of(lines: Sequence[bytes], rows: IntArray) -> set[str]:
        """The aircraft that lines not taken column-wise may be about (as the per-line reader reads the ident)."""
        keys: set[str] = set()
        for i in rows.tolist():
            try:
                fields = lines[i].decode("ascii").strip().split(",")
            except UnicodeDecodeError:
                continue
            if len(fields) > 4:
                icao = fields[4].strip().lower()
                if len(icao) == 6 and all(c in "0123456789abcdef" for c in icao):
                    keys.add("icao:" + icao)
        return keys

    # -- stage 2: per-aircraft memory, column-wise ----------------------------------------------------------

    def _columns(self, p: _Parsed, slow_keys: set[str]) -> _Fast:
        """The plain lines of aircraft taken column-wise, and their observations."""
        memory = self._memory
        slots = p.slots
        slow = np.isin(slots, np.array([memory.slot(key) for key in slow_keys], dtype=np.int64))
        kind, t = p.kind, p.t
        alt_ft, speed, track = p.numbers[ALTITUDE], p.numbers[SPEED], p.numbers[TRACK]
        lat, lon, rate = p.numbers[LAT], p.numbers[LON], p.numbers[VRATE]
        located = (kind == 2) | (kind == 3)
        has_ll = ~np.isnan(lat) & ~np.isnan(lon)
        placed = located & has_ll
        with np.errstate(invalid="ignore"):
            valid = placed & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
        if self._ranged:
            valid &= self._in_range(lat, lon, valid)
        implausible = placed & ~valid
        has_alt = ~np.isnan(alt_ft)
        alt_note = has_alt & ((kind >= 5) | (located & ~has_ll) | ((kind == 3) & valid))
        vel_note = kind == 4
        timed = alt_note | vel_note | valid
        # group by aircraft, line order kept inside each group
        order = np.argsort(p.key, kind="stable")
        k = p.key[order]
        # time order of each aircraft's timed lines, after what its memory holds
        tk, tt = k[timed[order]], t[order][timed[order]]
        same = np.r_[False, tk[1:] == tk[:-1]]
        previous_t = np.where(same, np.r_[-math.inf, tt[:-1]], memory.latest_t(slots[tk]))
        slow[tk[tt < previous_t]] = True
        # the gate's cheap test of each position against the previous one (or the anchor the memory holds)
        at = order[valid[order]]
        pk, pt, plat, plon = p.key[at], t[at], lat[at], lon[at]
        same = np.r_[False, pk[1:] == pk[:-1]]
        ps = slots[pk]
        prev_t = np.where(same, np.r_[0.0, pt[:-1]], memory.anchor_t[ps])
        prev_lat = np.where(same, np.r_[0.0, plat[:-1]], memory.anchor_lat[ps])
        prev_lon = np.where(same, np.r_[0.0, plon[:-1]], memory.anchor_lon[ps])
        compared = same | memory.has_anchor[ps]
        allowed = AIR_LIMITS.max_speed * np.abs(pt - prev_t) + AIR_LIMITS.slack  # [m]
        near = (np.abs(plat - prev_lat) + np.abs(plon - prev_lon)) * _METRES_PER_DEGREE <= allowed
        slow[pk[compared & ~near]] = True
        # what the aircraft taken column-wise give
        take = order[~slow[k]]
        by_line_keys = {memory.keys[s] for s in slots[slow].tolist()}
        fast_rows = p.rows[take]
        g = p.key[take]
        n = len(take)
        if n == 0:
            nothing = np.zeros(0)
            return _Fast(
                taken=fast_rows,
                by_line_keys=by_line_keys,
                line=fast_rows,
                t=nothing,
                platform_id=[],
                lat=nothing,
                lon=nothing,
                alt_m=nothing,
                sog_mps=nothing,
                cog_deg=nothing,
                vrate_mps=nothing,
                callsign=[],
            )
        group_start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        first_of = np.repeat(group_start, np.diff(np.r_[group_start, n]))
        idx = np.arange(n)

        def last_before(mask: BoolArray, inclusive: bool) -> IntArray:
            filled = np.maximum.accumulate(np.where(mask, idx, -1))
            if not inclusive:
                filled = np.r_[-1, filled[:-1]]
            return np.where(filled >= first_of, filled, -1)

        gt, gkind, gslot = t[take], kind[take], slots[g]
        gvalid, galt_note, gvel_note = valid[take], alt_note[take], vel_note[take]
        # callsigns: codes into p.callsigns; -1 none; -2 what the memory holds (not among this block's)
        gcode = p.callsign[take]
        named = (gkind == 1) & (gcode >= 0)
        code_of = {name: i for i, name in enumerate(p.callsigns)}
        held = np.array(
            [-1 if c is None else code_of.get(c, -2) for c in (memory.callsign[s] for s in slots.tolist())],
            dtype=np.int64,
        )
        before = last_before(named, inclusive=False)
        current = np.where(before >= 0, gcode[np.maximum(before, 0)], held[g])
        emit_id = named & (gcode != current)
        # altitude and velocity carried onto airborne positions
        gfeet = alt_ft[take]
        note = last_before(galt_note, inclusive=False)
        src_t = np.where(note >= 0, gt[np.maximum(note, 0)], memory.alt_t[gslot])
        src_alt = np.where(note >= 0, gfeet[np.maximum(note, 0)] * FOOT, memory.alt_m[gslot])
        fresh_alt = ((note >= 0) | memory.has_alt[gslot]) & (np.abs(gt - src_t) <= CARRY_MAX_AGE)
        gspeed = speed[take] * KNOT
        gtrack = track[take] % 360.0
        grate = rate[take] * FEET_PER_MINUTE
        vel = last_before(gvel_note, inclusive=False)
        vel_t = np.where(vel >= 0, gt[np.maximum(vel, 0)], memory.vel_t[gslot])
        fresh_vel = ((vel >= 0) | memory.has_vel[gslot]) & (np.abs(gt - vel_t) <= CARRY_MAX_AGE)

        def carried(values: FloatArray, held_values: FloatArray) -> FloatArray:
            source = np.where(vel >= 0, values[np.maximum(vel, 0)], held_values[gslot])
            return np.where(fresh_vel, source, math.nan)

        airborne = gvalid & (gkind == 3)
        surface = gvalid & (gkind == 2)
        own_alt = gfeet * FOOT
        carried_alt = np.where(fresh_alt, src_alt, math.nan)
        alt_out = np.where(airborne, np.where(~np.isnan(gfeet), own_alt, carried_alt), math.nan)
        sog_out = np.where(surface, gspeed, np.where(airborne, carried(gspeed, memory.vel_sog), math.nan))
        cog_out = np.where(surface, gtrack, np.where(airborne, carried(gtrack, memory.vel_cog), math.nan))
        rate_out = np.where(airborne, carried(grate, memory.vel_vrate), math.nan)
        named_incl = last_before(named, inclusive=True)
        code_out = np.where(named_incl >= 0, gcode[np.maximum(named_incl, 0)], held[g])
        out = emit_id | gvalid
        sel = np.flatnonzero(out)
        sel = sel[np.argsort(fast_rows[sel])]  # back in line order
        held_names = [memory.callsign[s] for s in gslot[sel].tolist()]
        callsign = [
            p.callsigns[c] if c >= 0 else (None if c == -1 else h)
            for c, h in zip(code_out[sel].tolist(), held_names, strict=True)
        ]
        position = gvalid[sel]
        glat, glon = lat[take], lon[take]
        columns = _Fast(
            taken=fast_rows,
            by_line_keys=by_line_keys,
            line=fast_rows[sel],
            t=gt[sel],
            platform_id=np.array([memory.keys[s] for s in slots.tolist()], dtype=object)[g[sel]].tolist(),
            lat=np.where(position, glat[sel], math.nan),
            lon=np.where(position, glon[sel], math.nan),
            alt_m=alt_out[sel],
            sog_mps=sog_out[sel],
            cog_deg=cog_out[sel],
            vrate_mps=rate_out[sel],
            callsign=callsign,
        )
        # the memory after these lines
        for last, s in self._last_of(gvalid, g, gslot):
            memory.has_anchor[s], memory.has_candidate[s] = True, False
            memory.anchor_t[s], memory.anchor_lat[s], memory.anchor_lon[s] = gt[last], glat[last], glon[last]
        for last, s in self._last_of(galt_note, g, gslot):
            memory.has_alt[s] = True
            memory.alt_t[s], memory.alt_m[s] = gt[last], own_alt[last]
        for last, s in self._last_of(gvel_note, g, gslot):
            memory.has_vel[s] = True
            memory.vel_t[s], memory.vel_sog[s] = gt[last], gspeed[last]
            memory.vel_cog[s], memory.vel_vrate[s] = gtrack[last], grate[last]
        for last, s in self._last_of(named, g, gslot):
            for slot, c in zip(s.tolist(), gcode[last].tolist(), strict=True):
                memory.callsign[slot] = p.callsigns[c]
        stats = self._stats
        rejected = int(implausible[take].sum())
        stats.read += n
        stats.accepted += n - rejected
        if rejected:
            stats.reject("implausible_value", rejected)
        stats.observations += len(sel)
        return columns

    @staticmethod
    def _last_of(mask: BoolArray, group: IntArray, slot: IntArray) -> list[tuple[IntArray, IntArray]]:
        """The index of the last masked line of each group that has one, and its slot (none when no line)."""
        at = np.flatnonzero(mask)
        if not len(at):
            return []
        in_group = group[at]
        last = at[np.r_[in_group[1:] != in_group[:-1], True]]
        return [(last, slot[last])]

    def _in_range(self, lat: FloatArray, lon: FloatArray, valid: BoolArray) -> BoolArray:
        """Within ``max_range_m`` of the reference, as ``RangeGate.admit``; decided by it near the limit."""
        ref_lat, ref_lon = self._reference
        phi1, phi2 = np.radians(ref_lat), np.radians(lat)
        half_dlambda = np.radians(lon - ref_lon) * 0.5
        h = np.sin((phi2 - phi1) * 0.5) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
        distance = 2.0 * EARTH_RADIUS * np.arcsin(np.minimum(1.0, np.sqrt(h)))  # [m]
        inside = distance <= self._max_range
        close = valid & (np.abs(distance - self._max_range) <= 1e-6 * self._max_range + 1.0)
        for i in np.flatnonzero(close).tolist():
            inside[i] = self._range.admit(float(lat[i]), float(lon[i]))
        return np.asarray(inside, dtype=bool)

    # -- the per-line reader for the rest, and the merge ----------------------------------------------------

    def _by_line(self, lines: Sequence[bytes], rows: IntArray, keys: set[str]) -> list[tuple[int, Observation]]:
        memory = self._memory
        slots = [(memory.slot(key), key) for key in sorted(keys)]
        held = (self._held_gate, self._held_kinematics, self._held_identities)
        for slot, key in slots:
            memory.load(slot, key, *held)
        out = [(i, o) for i in rows.tolist() for o in SbsDecoder.feed(self, lines[i])]
        for slot, key in slots:
            memory.store(slot, key, *held)
        return out

    @staticmethod
    def _merged(fast: _Fast, by_line: list[tuple[int, Observation]]) -> list[ObservationBatch]:
        batches: list[ObservationBatch] = []
        lines: list[IntArray] = []
        n = len(fast.t)
        if n:
            batches.append(
                ObservationBatch(
                    source=SOURCE,
                    t=fast.t,
                    platform_id=fast.platform_id,
                    lat=fast.lat,
                    lon=fast.lon,
                    alt_m=fast.alt_m,
                    sog_mps=fast.sog_mps,
                    cog_deg=fast.cog_deg,
                    vrate_mps=fast.vrate_mps,
                    domain=[Domain.AIR] * n,
                    party=[None] * n,
                    kind=[None] * n,
                    transponder=np.ones(n, dtype=bool),
                    callsign=fast.callsign if any(c is not None for c in fast.callsign) else None,
                )
            )
            lines.append(fast.line)
        if by_line:
            batches.append(ObservationBatch.from_observations([o for _, o in by_line]))
            lines.append(np.array([i for i, _ in by_line], dtype=np.int64))
        if len(batches) < 2:
            return batches
        return [ObservationBatch.concat(batches).select(np.argsort(np.concatenate(lines), kind="stable"))]


__all__ = ["SbsColumnDecoder"]
