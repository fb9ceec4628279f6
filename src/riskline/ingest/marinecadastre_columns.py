"""NOAA MarineCadastre CSV read column-wise: a batch of lines parsed by pyarrow's CSV reader, converted per column.

The per-line reader (``marinecadastre.MarineCadastreDecoder``) turns every cell into a Python value. Here a block of
lines is parsed by pyarrow with every cell as text; numbers are converted by one cast per column (a plain decimal
``-?d+(.d+)?``, which Arrow and Python both round correctly), times, MMSIs, names and call signs once per distinct
value with the per-line reader's own conversions. The per-vessel memory (the jump gate's anchor, the identity) is
carried with per-vessel forward fills.

Exactness first, optimistically: a block is parsed column-wise only if its rows and lines align (no quote, CR or
empty line; every row as wide as the header); a row only if every cell it uses is plain (any other row, a comment
included, is the per-line reader's); a vessel only if all its
rows of the block are, its positions come in time order and each passes the gate's cheap test against the previous
one. Every other row goes through the per-line reader, in order, sharing its memory. So the result is exactly the
per-line reader's (``tests/ingest/test_marinecadastre_columns.py`` compares both on clean and dirty inputs).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from riskline.ingest.batch import ObservationBatch
from riskline.ingest.gate import SEA_LIMITS, JumpGate
from riskline.ingest.marinecadastre import SOURCE, MarineCadastreDecoder, _time
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.units import EARTH_RADIUS, KNOT

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_METRES_PER_DEGREE = math.radians(1.0) * EARTH_RADIUS  # [m] as gate.JumpGate's cheap test
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
_NUMERIC = ("lat", "lon", "sog", "cog", "vesseltype")


class _Gate(JumpGate):
    __slots__ = ()

    def anchor(self, key: str) -> tuple[float, float, float] | None:
        return self._anchor.get(key)

    def settle(self, key: str, t: float, lat: float, lon: float) -> None:
        """What admitting a fix that agrees with the anchor leaves: the fix as the anchor, no candidate."""
        self._anchor[key] = (t, lat, lon)
        self._candidate.pop(key, None)


def _key(mmsi: str) -> str | None:
    """The platform id of an MMSI cell, as the per-line reader reads it; None if it rejects it."""
    text = mmsi.strip()
    return f"mmsi:{int(text):09d}" if text.isdigit() and len(text) <= 9 else None


class MarineCadastreColumnDecoder(MarineCadastreDecoder):
    """``MarineCadastreDecoder`` that takes a batch of lines at once, column-wise (see the module's docstring)."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats, options)
        opts = options if options is not None else ReaderOptions()
        self._ranged = opts.max_range_m is not None
        self._gate = self._column_gate = _Gate(SEA_LIMITS)

    def feed_lines(self, lines: Sequence[bytes]) -> list[Observation]:
        """What feeding the lines one by one gives."""
        return [o for batch in self.feed_columns(lines) for o in batch.observations()]

    def feed_columns(self, lines: Sequence[bytes]) -> list[ObservationBatch]:
        """The observations of the lines, in order, as one batch (none when they give none)."""
        head: list[Observation] = []
        start = 0
        while self._columns is None and start < len(lines):
            head.extend(self.feed(lines[start]))
            start += 1
        rest = lines[start:]
        out: list[tuple[int, Observation]] = [(-1, o) for o in head]
        fast: tuple[IntArray, ObservationBatch] | None = None
        table = self._table(rest) if rest and self._missing is None else None
        if table is None:
            out.extend((i, o) for i, line in enumerate(rest) for o in self.feed(line))
        else:
            with np.errstate(invalid="ignore"):
                taken, fast_lines, batch = self._columns_of(table, len(rest))
            self._stats.bytes_read += sum(len(rest[i]) for i in taken.tolist())
            by_line = np.ones(len(rest), dtype=bool)
            by_line[taken] = False
            out.extend((i, o) for i in np.flatnonzero(by_line).tolist() for o in self.feed(rest[i]))
            if len(batch):
                fast = (fast_lines, batch)
        return _merged(fast, out)

    def _table(self, lines: Sequence[bytes]) -> Any:
        """The block parsed by pyarrow, every cell as text; None if it is not plain."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        block = b"".join(lines)
        if not block.endswith(b"\n"):
            block += b"\n"
        # rows and lines align: no quote, no CR, no empty line (pyarrow would skip it); the row count checked below
        if b'"' in block or b"\r" in block or b"\n\n" in block or block.startswith(b"\n"):
            return None
        names = [f"c{i}" for i in range(len(self._names))]
        wanted = sorted({names[i] for i in (self._columns or {}).values() if i < len(names)})
        try:
            table = pacsv.read_csv(
                io.BytesIO(block),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
                parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    null_values=[],
                    strings_can_be_null=False,
                    include_columns=wanted,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        return table if table.num_rows == len(lines) else None

    def _cells(self, table: Any, key: str) -> Any:
        import pyarrow as pa

        assert self._columns is not None
        position = self._columns.get(key)
        if position is None or position >= len(self._names):
            return pa.chunked_array([pa.array([""] * table.num_rows, pa.string())])
        return table.column(f"c{position}")

    @staticmethod
    def _coded(column: Any, convert: Any) -> tuple[IntArray, list[Any]]:
        """The column converted once per distinct value: each cell's index among the distinct converted values
        (-1 where the conversion gives None or fails), and those values."""
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(column).combine_chunks()
        values: list[Any] = []
        code: dict[Any, int] = {}
        entry_codes = []
        for cell in encoded.dictionary.to_pylist():
            try:
                value = convert(cell)
            except (ValueError, OverflowError):
                value = None
            if value is not None and value not in code:
                code[value] = len(values)
                values.append(value)
            entry_codes.append(-1 if value is None else code[value])
        entries = np.array(entry_codes, dtype=np.int64)
        return entries[encoded.indices.to_numpy(zero_copy_only=False)], values

    def _numbers(self, column: Any) -> tuple[FloatArray, BoolArray]:
        """Floats (NaN when blank) and where a cell is neither blank nor a plain decimal."""
        import pyarrow as pa
        import pyarrow.compute as pc

        blank = pc.equal(column, "")
        plain = pc.match_substring_regex(column, _NUMBER)
        values = pc.cast(pc.if_else(plain, column, pa.scalar(None, pa.string())), pa.float64())
        dirty = ~(blank.to_numpy(zero_copy_only=False) | plain.to_numpy(zero_copy_only=False))
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64), dirty

    def _columns_of(self, table: Any, n: int) -> tuple[IntArray, IntArray, ObservationBatch]:
        """The rows taken column-wise, the row of each of their observations, and those observations."""
        import pyarrow as pa

        key_codes, key_list = self._coded(self._cells(table, "mmsi"), _key)
        time_codes, time_values = self._coded(self._cells(table, "basedatetime"), _time)
        t = np.array([*time_values, math.nan], dtype=np.float64)[time_codes]
        numbers: dict[str, FloatArray] = {}
        dirty = (key_codes < 0) | (time_codes < 0)
        for column in _NUMERIC:
            numbers[column], bad = self._numbers(self._cells(table, column))
            dirty |= bad
        vessel_type = pa.chunked_array([pa.array(numbers["vesseltype"])])
        identity_codes = [
            self._coded(self._cells(table, "callsign"), lambda v: v.strip() or None),
            self._coded(self._cells(table, "vesselname"), lambda v: v.strip() or None),
            self._coded(vessel_type, lambda v: int(v) if v == v and v >= 1 else None),
        ]
        # vessels with a row not taken column-wise go line by line, every row of theirs (rows without a vessel
        # are the per-line reader's too, and change no vessel's memory)
        n_keys = len(key_list)
        key_index = np.where(key_codes >= 0, key_codes, n_keys)
        slow = np.zeros(n_keys + 1, dtype=bool)
        slow[key_index[dirty]] = True
        lat, lon = numbers["lat"], numbers["lon"]
        placed = ~np.isnan(lat) & ~np.isnan(lon) & (lat != 91.0) & (lon != 181.0)
        valid = placed & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
        if self._ranged:
            for i in np.flatnonzero(valid).tolist():
                valid[i] = self._range.admit(float(lat[i]), float(lon[i]))
        order = np.argsort(key_index, kind="stable")
        order = order[~dirty[order]]
        # positions: in time order after the anchor, each passing the cheap test against the previous one
        at = order[valid[order]]
        pk = key_index[at]
        anchors = [self._column_gate.anchor(k) for k in key_list]
        held_fix = np.array([(math.nan,) * 3 if a is None else a for a in anchors], dtype=np.float64).reshape(-1, 3)
        has_anchor = np.array([a is not None for a in anchors], dtype=bool)
        same = np.r_[False, pk[1:] == pk[:-1]]
        pt, plat, plon = t[at], lat[at], lon[at]
        prev_t = np.where(same, np.r_[0.0, pt[:-1]], held_fix[pk, 0])
        prev_lat = np.where(same, np.r_[0.0, plat[:-1]], held_fix[pk, 1])
        prev_lon = np.where(same, np.r_[0.0, plon[:-1]], held_fix[pk, 2])
        compared = same | has_anchor[pk]
        allowed = SEA_LIMITS.max_speed * np.abs(pt - prev_t) + SEA_LIMITS.slack  # [m]
        near = (np.abs(plat - prev_lat) + np.abs(plon - prev_lon)) * _METRES_PER_DEGREE <= allowed
        slow[pk[compared & (~near | (pt < prev_t))]] = True
        take = order[~slow[key_index[order]]]
        g = key_index[take]
        m = len(take)
        # identity: each field's latest value, from what the memory holds, carried along each vessel
        starts, lengths = _starts(g, m)
        first_of = np.repeat(starts, lengths)
        idx = np.arange(m)
        memory = [self._identities.get(k) for k in key_list]
        changed = np.zeros(m, dtype=bool)
        merged: list[tuple[IntArray, list[Any], list[Any]]] = []  # codes now, distinct values, held values
        for (codes_all, values), attribute in zip(identity_codes, ("callsign", "name", "ship_type"), strict=True):
            codes = codes_all[take]
            lookup = {v: k for k, v in enumerate(values)}
            held_values = [None if i is None else getattr(i, attribute) for i in memory]
            held = np.array([-1 if v is None else lookup.get(v, -2) for v in held_values], dtype=np.int64)
            known = codes >= 0
            filled = np.maximum.accumulate(np.where(known, idx, -1)) if m else idx
            filled = np.where(filled >= first_of, filled, -1)
            shifted = np.r_[-1, filled[:-1]] if m else idx
            before = np.where(shifted >= first_of, shifted, -1)
            prior = np.where(before >= 0, codes[np.maximum(before, 0)], held[g])
            changed |= known & (codes != prior)
            now = np.where(filled >= 0, codes[np.maximum(filled, 0)], held[g])
            merged.append((now, values, held_values))

        def value(field: int, position: int) -> Any:
            now, values, held_values = merged[field]
            c = int(now[position])
            return values[c] if c >= 0 else (None if c == -1 else held_values[g[position]])

        gvalid, gplaced = valid[take], placed[take]
        emit = np.where(gplaced, gvalid, changed)
        implausible = gplaced & ~gvalid
        # the memory after these rows
        for last in (starts + lengths - 1).tolist():
            self._identities.update(
                key_list[g[last]], callsign=value(0, last), name=value(1, last), ship_type=value(2, last)
            )
        fixes = take[gvalid]
        fix_starts, fix_lengths = _starts(g[gvalid], len(fixes))
        for row in fixes[fix_starts + fix_lengths - 1].tolist():
            self._column_gate.settle(key_list[key_index[row]], float(t[row]), float(lat[row]), float(lon[row]))
        stats = self._stats
        rejected = int(implausible.sum())
        stats.read += m
        stats.accepted += m - rejected
        if rejected:
            stats.reject("implausible_value", rejected)
        sel = np.flatnonzero(emit)
        sel = sel[np.argsort(take[sel], kind="stable")]
        stats.observations += len(sel)
        rows = take[sel]
        position_rows = gvalid[sel]
        sog, cog = numbers["sog"][rows], numbers["cog"][rows]
        identity_rows = np.flatnonzero(~position_rows).tolist()

        def identity_column(field: int) -> list[Any] | None:
            codes_all, values = identity_codes[field]
            out = np.array([*values, None], dtype=object)[codes_all[rows]]  # each position's own value
            for k in identity_rows:  # an identity observation carries the merged identity
                out[k] = value(field, int(sel[k]))
            listed: list[Any] = out.tolist()
            return listed if any(v is not None for v in listed) else None

        k_out = len(sel)
        batch = ObservationBatch(
            source=SOURCE,
            t=t[rows],
            platform_id=np.array([*key_list, ""], dtype=object)[g[sel]].tolist(),
            lat=np.where(position_rows, lat[rows], math.nan),
            lon=np.where(position_rows, lon[rows], math.nan),
            alt_m=np.full(k_out, math.nan),
            sog_mps=np.where(position_rows & (sog >= 0.0) & (sog < 102.3), sog * KNOT, math.nan),
            cog_deg=np.where(position_rows & (cog >= 0.0) & (cog < 360.0), cog, math.nan),
            vrate_mps=np.full(k_out, math.nan),
            domain=[Domain.SEA] * k_out,
            party=[None] * k_out,
            kind=[None] * k_out,
            transponder=np.ones(k_out, dtype=bool),
            callsign=identity_column(0),
            name=identity_column(1),
            ship_type=identity_column(2),
        )
        return take, rows, batch


def _starts(group: IntArray, n: int) -> tuple[IntArray, IntArray]:
    """Where each run of equal values starts, and its length."""
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return starts, np.diff(np.r_[starts, n])


def _merged(
    fast: tuple[IntArray, ObservationBatch] | None, by_line: list[tuple[int, Observation]]
) -> list[ObservationBatch]:
    batches: list[ObservationBatch] = []
    lines: list[IntArray] = []
    if fast is not None:
        batches.append(fast[1])
        lines.append(fast[0])
    if by_line:
        batches.append(ObservationBatch.from_observations([o for _, o in by_line]))
        lines.append(np.array([i for i, _ in by_line], dtype=np.int64))
    if len(batches) < 2:
        return batches
    return [ObservationBatch.concat(batches).select(np.argsort(np.concatenate(lines), kind="stable"))]


__all__ = ["MarineCadastreColumnDecoder"]
