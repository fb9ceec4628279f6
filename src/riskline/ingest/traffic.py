"""JSON records of the ``traffic`` library (pandas ``to_json(orient="records")``), e.g. OpenSky samples.

A JSON array (or JSON lines) of objects: ``timestamp`` (POSIX milliseconds, or seconds, or ISO 8601),
``icao24``, ``callsign``, ``latitude``, ``longitude`` [deg], ``altitude`` [ft], ``groundspeed`` [kn],
``track`` [deg], ``vertical_rate`` [ft/min], ``onground``, ``squawk``. Each record is one unit.

The text is parsed record by record (``json.JSONDecoder.raw_decode``) as the bytes arrive, so a file of
hundreds of thousands of records streams in constant memory. Whatever stands between records (``[``,
``]``, commas, white space) is skipped; anything else, or a record that does not parse, is ``malformed``
and reading resumes at the next ``{``.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from riskline.ingest.counting import BadField, Counting, Rejected, drive
from riskline.ingest.gate import AIR_LIMITS, JumpGate, RangeGate
from riskline.ingest.memory import IdentityMemory
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.values import time_value
from riskline.units import FEET_PER_MINUTE, FOOT, KNOT

SOURCE = "traffic"
MAX_RECORD = 1 << 20  # [characters] a record that has not closed by then is malformed
_BETWEEN = re.compile(r"[\s,\[\]]*")
_HEX_DIGITS = frozenset("0123456789abcdef")


def _number(value: object, name: str) -> float | None:
    """A JSON number as a float; null and non-finite as None; anything else is a bad field."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type, return-value]
    if kind is int:
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise BadField(name) from None
    if value is None:
        return None
    raise BadField(name)


def _timestamp(value: object) -> float | None:
    if type(value) is float and math.isfinite(value):
        return value / 1000.0 if abs(value) > 1e11 else value
    return time_value(value)


class TrafficDecoder(Counting):
    """Push-style: ``feed`` byte chunks, ``flush`` at the end."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._clock = opts.clock
        self._text = ""
        self._in_junk = False  # inside a run of unparsable text, already counted
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._json = json.JSONDecoder()
        self._gate = JumpGate(AIR_LIMITS)
        self._range = RangeGate(opts.reference, opts.max_range_m)
        self._identities = IdentityMemory()

    def feed(self, chunk: bytes) -> list[Observation]:
        self._stats.bytes_read += len(chunk)
        self._text += self._utf8.decode(chunk)
        return self._parse(final=False)

    def flush(self) -> list[Observation]:
        self._text += self._utf8.decode(b"", final=True)
        return self._parse(final=True)

    def _parse(self, *, final: bool) -> list[Observation]:
        text = self._text
        end = len(text)
        out: list[Observation] = []
        i = 0
        skip = _BETWEEN.match
        raw_decode = self._json.raw_decode
        while True:
            gap = skip(text, i)
            i = gap.end() if gap is not None else i
            if i >= end:
                break
            if text[i] != "{":
                if not self._in_junk:  # one unit per run of junk, even across chunks
                    self._reject("malformed")
                    self._in_junk = True
                j = text.find("{", i)
                i = end if j < 0 else j
                continue
            try:
                record, j = raw_decode(text, i)
            except ValueError:
                if not final and end - i < MAX_RECORD:
                    break
                self._reject("malformed")
                self._in_junk = True
                j = text.find("{", i + 1)
                i = end if j < 0 else j
                continue
            self._in_junk = False
            i = j
            self._record(record, out)
        self._text = text[i:]
        return out

    def _record(self, record: Any, out: list[Observation]) -> None:
        if not isinstance(record, dict):
            self._reject("malformed")
            return
        try:
            self._fields(record, out)
        except Rejected as rejected:
            self._reject(rejected.reason)

    def _fields(self, record: dict[str, Any], out: list[Observation]) -> None:
        get = record.get
        icao = get("icao24")
        if type(icao) is not str or len(icao) != 6 or not _HEX_DIGITS.issuperset(icao):
            if not isinstance(icao, str) or len(icao) != 6 or not _HEX_DIGITS.issuperset(icao.lower()):
                raise BadField("icao24")
            icao = icao.lower()
        key = "icao:" + icao
        try:
            t = _timestamp(get("timestamp"))
        except ValueError:
            raise BadField("timestamp") from None
        if t is None:
            if self._clock is None:
                self._reject("no_timestamp")
                return
            t = self._clock()
        callsign_value = get("callsign")
        callsign = callsign_value.strip() or None if type(callsign_value) is str else None
        changed = None
        if callsign is not None:
            known = self._identities.get(key)
            if known is None or known.callsign != callsign:
                changed = self._identities.update(key, callsign=callsign)
        lat, lon = _number(get("latitude"), "latitude"), _number(get("longitude"), "longitude")
        if lat is None or lon is None:
            if changed is None:
                self._accept()
            else:
                out.extend(self._emit(Observation(t, key, SOURCE, domain=Domain.AIR, callsign=changed.callsign)))
            return
        altitude = _number(get("altitude"), "altitude")  # [ft]
        speed = _number(get("groundspeed"), "groundspeed")  # [kn]
        track = _number(get("track"), "track")  # [deg]
        rate = _number(get("vertical_rate"), "vertical_rate")  # [ft/min]
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or not self._range.admit(lat, lon):
            self._reject("implausible_value")
            return
        if not self._gate.admit(key, t, lat, lon):
            self._reject("implausible_jump")
            return
        observation = Observation(
            t,
            key,
            SOURCE,
            lat,
            lon,
            None if altitude is None else altitude * FOOT,
            None if speed is None else speed * KNOT,
            None if track is None else track % 360.0,
            None if rate is None else rate * FEET_PER_MINUTE,
            Domain.AIR,
            callsign=callsign,
        )
        out.extend(self._emit(observation))


def read_traffic_json(
    chunks: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from ``traffic`` JSON records given as byte chunks (already decompressed)."""
    return drive(TrafficDecoder(stats, options), chunks)
