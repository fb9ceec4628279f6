"""AIS position reports (types 1/2/3, 18 and 27) and identities (types 5, 19, 24) decoded many at a time with NumPy.

ITU-R M.1371-5 Annex 8 (and gpsd's AIVDM/AIVDO protocol decoding): the payload of an AIVDM sentence is
6-bit ASCII armouring of a fixed-layout bit field. For the position reports riskline needs most, every field
sits at a fixed bit offset, so a whole batch of payloads can be de-armoured (character − 48, less 8 above 40),
unpacked to bits and cut into fields as matrix operations instead of one Python object per message.

The values are pyais's, bit for bit (pyais stays the oracle: ``tests/ingest/test_ais_bulk.py`` compares them
field for field on random valid messages): latitude and longitude rounded to 1e-6° with the same integer
arithmetic as ``pyais.messages.to_lat_lon``; speed and course in tenths divided by 10.0; type 27 speed and
course as whole knots and degrees. A payload shorter than its message type's full length is not decoded here
(``FULL_BITS``): pyais reads what it can of it, and the caller hands it to pyais. A type 19 (extended class B
position report, 312 bits) has type 18's layout up to the second, then name and ship type: ``decode_sixbit_positions``
reads its position (not marked complete: the caller needs its identity too), ``decode_statics`` its identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyais.constants import ShipType

from riskline.units import KNOT

BULK_TYPES = frozenset({1, 2, 3, 18, 27})
"""Message types decoded here; every other type goes through pyais."""

FIRST_CHARACTER = frozenset(b"123BK")
"""Armoured first character of each bulk type (its 6-bit value is the message type)."""

FULL_BITS = {1: 168, 2: 168, 3: 168, 18: 168, 27: 96}
"""[bits] length of a complete message of each bulk type."""

WIDTH = 28  # [characters] armoured length of 168 bits, the longest bulk layout
_WIDTH = WIDTH

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PositionBatch:
    """Decoded position reports, one row per payload, in the order given; values as pyais gives them."""

    complete: BoolArray
    """True where the payload is a bulk type at its full length: only those rows hold decoded values (and type 19
    rows, at least 312 bits long, their position, speed and course)."""
    msg_type: IntArray
    mmsi: IntArray
    lat: FloatArray
    """[deg] 91 = not available."""
    lon: FloatArray
    """[deg] 181 = not available."""
    speed: FloatArray
    """[kn] tenths for types 1-3 and 18 (102.3 = not available), whole knots for 27 (63 = not available)."""
    course: FloatArray
    """[deg] tenths for types 1-3 and 18 (360 = not available), whole degrees for 27 (511 = not available)."""
    heading: IntArray
    """[deg] true heading (511 = not available); 0 for type 27, which has none."""
    second: IntArray
    """UTC second of the report (0–59; 60–63 = not available); -1 for type 27, which has none."""

    def __len__(self) -> int:
        return len(self.msg_type)


@dataclass(frozen=True, slots=True)
class Reports:
    """What riskline keeps of a ``PositionBatch`` (``ais_fields`` rules), SI units, NaN for "not available"."""

    lat: FloatArray
    """[deg] NaN where not available."""
    lon: FloatArray
    """[deg] NaN where not available."""
    sog_mps: FloatArray
    """[m/s] NaN where not available."""
    cog_deg: FloatArray
    """[deg] NaN where not available or invalid."""


def sixbit(payloads: Sequence[bytes]) -> npt.NDArray[np.uint8]:
    """The 6-bit values of the first ``_WIDTH`` characters of each payload (shorter ones padded with 0),
    one row per payload. Characters must be valid armouring (``0``-``W``, `````-``w``)."""
    return sixbit_rows(payloads, _WIDTH)


def sixbit_rows(payloads: Sequence[bytes], width: int) -> npt.NDArray[np.uint8]:
    """``sixbit`` for the first ``width`` characters."""
    padded = b"".join(p[:width].ljust(width, b"0") for p in payloads)
    chars = np.frombuffer(padded, dtype=np.uint8).reshape(len(payloads), width)
    values = chars - np.uint8(48)
    values[values > 40] -= np.uint8(8)
    return values


class _Words:
    """The first 168 bits of each payload as three integers (60, 60 and 48 bits): a field is a shift and a mask of
    one or two of them, for the whole batch at once."""

    __slots__ = ("_words",)

    def __init__(self, values: npt.NDArray[np.uint8]) -> None:
        six = values[:, :WIDTH].astype(np.int64)
        self._words: list[tuple[IntArray, int, int]] = []  # (word, first bit, bits)
        for first in range(0, WIDTH, 10):
            last = min(first + 10, WIDTH)
            weights = np.left_shift(np.int64(1), 6 * np.arange(last - first - 1, -1, -1, dtype=np.int64))
            word: IntArray = six[:, first:last] @ weights  # exact: below 2**60
            self._words.append((word, 6 * first, 6 * (last - first)))

    def field(self, start: int, width: int, *, signed: bool = False) -> IntArray:
        end = start + width
        value: IntArray | None = None
        for word, first, size in self._words:
            a, b = max(start, first), min(end, first + size)
            if a >= b:
                continue
            part = (word >> (first + size - b)) & ((1 << (b - a)) - 1)
            value = part if value is None else (value << (b - a)) | part
        assert value is not None
        if signed:
            value = np.where(value >= 1 << (width - 1), value - (1 << width), value)
        return value


def _degrees(raw: IntArray, numerator: int) -> FloatArray:
    """pyais's exact rounding of raw/600000 (numerator 10) or raw/600 (numerator 10000) to 1e-6°."""
    return np.asarray((numerator * raw + 3) // 6, dtype=np.float64) / 1e6


def decode_positions(payloads: Sequence[bytes], fill_bits: Sequence[int]) -> PositionBatch:
    """Decode a batch of armoured payloads; rows that are not complete bulk types are marked ``complete=False``."""
    n = len(payloads)
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=n)
    usable = 6 * lengths - np.asarray(fill_bits, dtype=np.int64)  # [bits]
    if n == 0:
        return decode_sixbit_positions(np.zeros((0, _WIDTH), dtype=np.uint8), usable)
    return decode_sixbit_positions(sixbit(payloads), usable)


def decode_sixbit_positions(values: npt.NDArray[np.uint8], usable: IntArray) -> PositionBatch:
    """``decode_positions`` from the 6-bit values of the first ``WIDTH`` characters of each payload (one row per
    payload, shorter ones padded with 0) and each payload's length in bits less its fill bits."""
    if len(values) == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return PositionBatch(
            np.zeros(0, dtype=bool), empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, empty_i, empty_i
        )
    bits = _Words(values)
    msg_type = bits.field(0, 6)
    mmsi = bits.field(8, 30)
    class_a = msg_type <= 3
    class_b = (msg_type == 18) | (msg_type == 19)  # 19: type 18's layout up to the second; never complete here
    long_range = msg_type == 27
    needed = np.where(long_range, 96, 168)
    complete = (class_a | (msg_type == 18) | long_range) & (msg_type >= 1) & (usable >= needed)

    # Class B (18) has the class A layout from the speed on, 4 bits earlier (no status, no rate of turn).
    speed_a, speed_b = bits.field(50, 10), bits.field(46, 10)
    lon_a, lon_b = bits.field(61, 28, signed=True), bits.field(57, 28, signed=True)
    lat_a, lat_b = bits.field(89, 27, signed=True), bits.field(85, 27, signed=True)
    course_a, course_b = bits.field(116, 12), bits.field(112, 12)
    heading_a, heading_b = bits.field(128, 9), bits.field(124, 9)
    second_a, second_b = bits.field(137, 6), bits.field(133, 6)
    lat = np.where(class_b, _degrees(lat_b, 10), _degrees(lat_a, 10))
    lon = np.where(class_b, _degrees(lon_b, 10), _degrees(lon_a, 10))
    speed = np.where(class_b, speed_b, speed_a) / 10.0
    course = np.where(class_b, course_b, course_a) / 10.0
    heading = np.where(class_b, heading_b, heading_a)
    second = np.where(class_b, second_b, second_a)
    if long_range.any():
        lon_27, lat_27 = bits.field(44, 18, signed=True), bits.field(62, 17, signed=True)
        speed_27, course_27 = bits.field(79, 6), bits.field(85, 9)
        lat = np.where(long_range, _degrees(lat_27, 10000), lat)
        lon = np.where(long_range, _degrees(lon_27, 10000), lon)
        speed = np.where(long_range, speed_27.astype(np.float64), speed)
        course = np.where(long_range, course_27.astype(np.float64), course)
        heading = np.where(long_range, 0, heading)
        second = np.where(long_range, -1, second)
    return PositionBatch(
        complete, msg_type, mmsi, lat, lon, speed, course, np.asarray(heading, dtype=np.int64),
        np.asarray(second, dtype=np.int64),
    )


def reports(batch: PositionBatch) -> Reports:
    """The fields riskline keeps, with ``ais_fields``'s "not available" rules applied to whole columns."""
    long_range = batch.msg_type == 27
    with np.errstate(invalid="ignore"):
        lat = np.where(batch.lat == 91.0, np.nan, batch.lat)
        lon = np.where(batch.lon == 181.0, np.nan, batch.lon)
        speed_missing = np.where(long_range, batch.speed >= 63, batch.speed >= 102.3)
        sog = np.where(speed_missing, np.nan, batch.speed * KNOT)
        course_valid = (batch.course >= 0.0) & (batch.course < 360.0)
        cog = np.where(course_valid, batch.course, np.nan)
    return Reports(lat=lat, lon=lon, sog_mps=sog, cog_deg=cog)


STATIC_WIDTH = 46
"""[characters] armoured length of the first 276 bits: as far as the identity fields used here go (type 19's ship
type ends at bit 271)."""

# (type, partno or -1): bits needed, then (name, callsign, ship type) as (start, width) in bits, (0, 0): absent
_STATIC_LAYOUTS = {
    (5, -1): (240, (112, 120), (70, 42), (232, 8)),
    (19, -1): (312, (143, 120), (0, 0), (263, 8)),
    (24, 0): (160, (40, 120), (0, 0), (0, 0)),
    (24, 1): (132, (0, 0), (90, 42), (40, 8)),
}


_SHIP_TYPE_5 = np.array([int(ShipType.from_value(v) or 0) for v in range(256)], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class StaticIdentity:
    """What a static report (type 5, type 24 part A or B) or a type 19 says of a vessel's identity, as
    ``ais_fields`` keeps it."""

    name: str | None
    callsign: str | None
    ship_type: int | None


def _sixbit_field(values: npt.NDArray[np.uint8], start: int, width: int) -> IntArray:
    """The unsigned field of ``width`` bits at bit ``start`` of each row of 6-bit values (most significant first)."""
    first, last = start // 6, (start + width - 1) // 6
    value = values[:, first].astype(np.int64)
    for column in range(first + 1, last + 1):
        value = (value << 6) | values[:, column]
    return (value >> (6 * (last + 1) - start - width)) & ((1 << width) - 1)


def _text(values: npt.NDArray[np.uint8], start: int, width: int) -> list[str | None]:
    """pyais's ``get_str`` then ``ais_fields._text``: 6-bit characters, trailing ``@`` and white space removed; the
    characters at bit ``start`` put together from two 6-bit values each (one when aligned), each distinct text
    decoded once."""
    first, shift = divmod(start, 6)
    count = width // 6
    codes = values[:, first : first + count]
    if shift:
        after = values[:, first + 1 : first + 1 + count]
        codes = ((codes << np.uint8(shift)) & np.uint8(63)) | (after >> np.uint8(6 - shift))
    ascii_codes = np.where(codes < 32, codes + np.uint8(64), codes).astype(np.uint8)  # never 0: no padding lost
    texts = np.ascontiguousarray(ascii_codes).view(f"S{count}").ravel()
    distinct, which = np.unique(texts, return_inverse=True)
    decoded = [text.decode("ascii").rstrip("@").strip() or None for text in distinct.tolist()]
    return [decoded[k] for k in which.tolist()]


def decode_statics(values: npt.NDArray[np.uint8], usable: IntArray) -> list[StaticIdentity | None]:
    """The identity of each static report (rows of 6-bit values of the first ``STATIC_WIDTH`` characters, padded
    with 0, and the payload's length in bits less its fill bits), as pyais decodes it and ``ais_fields`` keeps it;
    None for a row that is not a type 5, a type 19 at its full 312 bits or a type 24 part A/B at least as long as
    its fields (pyais takes it). Rows that say the same share one ``StaticIdentity``."""
    out: list[StaticIdentity | None] = [None] * len(values)
    if not len(values):
        return out
    msg_type = values[:, 0].astype(np.int64)
    part = np.where(msg_type == 24, _sixbit_field(values, 38, 2), -1)
    made: dict[tuple[str | None, str | None, int | None], StaticIdentity] = {}
    for (kind, partno), (needed, name_at, callsign_at, ship_type_at) in _STATIC_LAYOUTS.items():
        rows = np.flatnonzero((msg_type == kind) & (part == partno) & (usable >= needed))
        if not len(rows):
            continue
        picked = values[rows]
        nothing: list[str | None] = [None] * len(rows)
        names = _text(picked, *name_at) if name_at[1] else nothing
        callsigns = _text(picked, *callsign_at) if callsign_at[1] else nothing
        if ship_type_at[1]:
            raw = _sixbit_field(picked, *ship_type_at)
            if kind != 24:  # pyais reads 5's and 19's through ShipType, which folds reserved values
                raw = _SHIP_TYPE_5[raw]
            ship_types: list[int | None] = [v if v > 0 else None for v in raw.tolist()]
        else:
            ship_types = [None] * len(rows)
        for row, fields in zip(rows.tolist(), zip(names, callsigns, ship_types, strict=True), strict=True):
            identity = made.get(fields)
            if identity is None:
                identity = made[fields] = StaticIdentity(*fields)
            out[row] = identity
    return out


__all__ = [
    "BULK_TYPES",
    "FIRST_CHARACTER",
    "FULL_BITS",
    "STATIC_WIDTH",
    "WIDTH",
    "PositionBatch",
    "Reports",
    "StaticIdentity",
    "decode_positions",
    "decode_sixbit_positions",
    "decode_statics",
    "reports",
    "sixbit",
    "sixbit_rows",
]
