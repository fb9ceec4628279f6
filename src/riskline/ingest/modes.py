"""Mode S / ADS-B (ICAO Annex 10 Vol IV, DO-260B) raw frames decoded by rs1090, in streaming batches.

``ModeSDecoder`` takes (hex frame, time) pairs from any container (JSON lines, CSV, Beast) and decodes them
with ``rs1090.decode`` in batches of ``options.batch_size``. CPR position decoding needs state:

* airborne (BDS05): rs1090 pairs even/odd frames and then decodes locally within each batch. The last even
  and odd airborne frames of every aircraft are replayed ahead of the next batch, so pairing and local
  decoding continue across batch boundaries (and so across the stream);
* surface (BDS06): each frame is decoded against the aircraft's own last accepted fix when at most
  ``SURFACE_REFERENCE_MAX_AGE`` old (it cannot have moved 45 NM on the ground), else against
  ``options.reference``; with neither it is ``cpr_unpaired``. rs1090's batch surface result (always
  against the one receiver reference, wrong beyond 45 NM of it) is not used.

Every position then passes the plausibility gates (``gate``). Altitude (DF0/4/16/20, BDS05) and velocity
(BDS09) are remembered per aircraft and carried onto its next position (``memory``); the callsign (BDS08)
yields an identity observation when it changes. Units leave in SI: feet, knots and ft/min are converted here.

Counting, per frame: not hex, or too short for its DF → ``malformed``; dropped by rs1090 → DF11/17/18
``bad_checksum`` (CRC), others ``unsupported_type``; a position frame that gives no position →
``cpr_unpaired``; else accepted. Frames are counted when their batch is decoded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, cast

import rs1090

from riskline.ingest.counting import NOTHING, Counting
from riskline.ingest.gate import AIR_LIMITS, JumpGate, RangeGate, valid_lat_lon, wrap_lon
from riskline.ingest.memory import IdentityMemory, KinematicMemory
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.units import feet_to_m, fpm_to_mps, knots_to_mps

CPR_PAIR_WINDOW = 10.0  # [s] rs1090 pairs even/odd airborne frames at most this far apart
SURFACE_REFERENCE_MAX_AGE = 300.0  # [s] oldest own fix used as the reference for a surface position

_FRAME = re.compile(r"[0-9a-f]{14}|[0-9a-f]{28}")
_ALTITUDE_DF = frozenset({"0", "4", "16", "20"})
_CRC_CHECKED_DF = frozenset({11, 17, 18})


@dataclass(frozen=True, slots=True)
class _Timed:
    frame: str
    t: float  # [s]


def valid_frame(frame: str) -> bool:
    """True for 14 or 28 lower-case hex digits, 28 for the long downlink formats (DF16 and up).

    Some receivers pad short replies to 112 bits; rs1090 reads their first 56.
    """
    if _FRAME.fullmatch(frame) is None:
        return False
    return len(frame) == 28 or int(frame[:2], 16) >> 3 < 16


class ModeSDecoder(Counting):
    """Push-style: ``feed`` frames, collect what each call returns, ``flush`` at the end."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None, *, source: str = "modes") -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._source = source
        self._reference = opts.reference
        self._batch_size = opts.batch_size
        self._frames: list[str] = []
        self._times: list[float] = []
        self._context: dict[tuple[str, str], _Timed] = {}
        self._gate = JumpGate(AIR_LIMITS)
        self._range = RangeGate(opts.reference, opts.max_range_m)
        self._kinematics = KinematicMemory()
        self._identities = IdentityMemory()

    def feed(self, frame: str, t: float) -> list[Observation] | tuple[Observation, ...]:
        """Queue one frame received at ``t`` [s]; a full batch is decoded and its observations returned."""
        frame = frame.strip().lower()
        if not valid_frame(frame) or not math.isfinite(t):
            return self._reject("malformed" if math.isfinite(t) else "bad_field:timestamp")
        self._frames.append(frame)
        self._times.append(t)
        if len(self._frames) >= self._batch_size:
            return self._decode()
        return NOTHING

    def flush(self) -> list[Observation] | tuple[Observation, ...]:
        """Decode what is queued (end of input, or a pause in a live feed)."""
        return self._decode() if self._frames else NOTHING

    def _decode(self) -> list[Observation]:
        frames, times = self._frames, self._times
        self._frames, self._times = [], []
        horizon = min(times) - CPR_PAIR_WINDOW
        for key in [k for k, v in self._context.items() if v.t < horizon]:
            del self._context[key]
        context = sorted(self._context.values(), key=lambda timed: timed.t)
        inputs = [timed.frame for timed in context] + frames
        stamps = [timed.t for timed in context] + times
        decoded = cast(list[dict[str, Any]], rs1090.decode(inputs, stamps, reference=self._reference))
        skip = len(context)
        out: list[Observation] = []
        index = 0
        for message in decoded:
            frame = message.get("frame")
            while index < len(inputs) and inputs[index] != frame:
                if index >= skip:
                    self._dropped(inputs[index])
                index += 1
            if index >= skip and index < len(inputs):
                self._message(message, inputs[index], out)
            index += 1
        for leftover in range(max(index, skip), len(inputs)):
            self._dropped(inputs[leftover])
        return out

    def _dropped(self, frame: str) -> None:
        df = int(frame[:2], 16) >> 3
        self._reject("bad_checksum" if df in _CRC_CHECKED_DF else "unsupported_type")

    def _message(self, message: dict[str, Any], frame: str, out: list[Observation]) -> None:
        icao = message.get("icao24")
        if not isinstance(icao, str):
            self._accept()
            return
        key = "icao:" + icao
        t = float(message["timestamp"])
        df = message.get("df")
        if df == "17" or df == "18":
            bds = message.get("bds")
            if bds == "05":
                self._airborne(message, key, t, frame, out)
            elif bds == "06":
                self._surface(message, key, t, frame, out)
            elif bds == "09":
                speed = message.get("groundspeed")  # [kn]
                rate = message.get("vertical_rate")  # [ft/min]
                self._kinematics.note_velocity(
                    key,
                    t,
                    None if speed is None else knots_to_mps(speed),
                    None if speed is None else message.get("track"),
                    None if rate is None else fpm_to_mps(rate),
                )
                self._accept()
            elif bds == "08":
                callsign = str(message.get("callsign") or "").strip() or None
                changed = self._identities.update(key, callsign=callsign)
                if changed is None:
                    self._accept()
                else:
                    named = Observation(t, key, self._source, domain=Domain.AIR, callsign=changed.callsign)
                    out.extend(self._emit(named))
            else:
                self._accept()
            return
        if df in _ALTITUDE_DF:
            altitude = message.get("altitude")  # [ft]
            if altitude is not None:
                self._kinematics.note_altitude(key, t, feet_to_m(altitude))
        self._accept()

    def _airborne(self, message: dict[str, Any], key: str, t: float, frame: str, out: list[Observation]) -> None:
        altitude = message.get("altitude")  # [ft]
        alt_m = None if altitude is None else feet_to_m(altitude)
        if alt_m is not None:
            self._kinematics.note_altitude(key, t, alt_m)
        parity = message.get("parity")
        if isinstance(parity, str):
            self._context[(key, parity)] = _Timed(frame, t)
        lat, lon = message.get("latitude"), message.get("longitude")
        if lat is None or lon is None:
            self._reject("cpr_unpaired")
            return
        if alt_m is None:
            alt_m = self._kinematics.altitude_at(key, t)
        velocity = self._kinematics.velocity_at(key, t)
        self._position(
            out,
            key,
            t,
            lat,
            lon,
            alt_m,
            None if velocity is None else velocity.sog_mps,
            None if velocity is None else velocity.cog_deg,
            None if velocity is None else velocity.vrate_mps,
        )

    def _surface(self, message: dict[str, Any], key: str, t: float, frame: str, out: list[Observation]) -> None:
        fix = self._gate.last_fix(key)
        reference: tuple[float, float] | None
        if fix is not None and abs(t - fix.t) <= SURFACE_REFERENCE_MAX_AGE:
            reference = (fix.lat, fix.lon)
        else:
            reference = self._reference
        if reference is None:
            self._reject("cpr_unpaired")
            return
        local = cast(dict[str, Any], rs1090.decode(frame, reference=reference))
        lat, lon = local.get("latitude"), local.get("longitude")
        if lat is None or lon is None:
            self._reject("cpr_unpaired")
            return
        speed = message.get("groundspeed")  # [kn]
        self._position(
            out,
            key,
            t,
            lat,
            lon,
            None,
            None if speed is None else knots_to_mps(speed),
            message.get("track"),
            None,
        )

    def _position(
        self,
        out: list[Observation],
        key: str,
        t: float,
        lat: float,
        lon: float,
        alt_m: float | None,
        sog_mps: float | None,
        cog_deg: float | None,
        vrate_mps: float | None,
    ) -> None:
        lon = wrap_lon(lon)
        if not valid_lat_lon(lat, lon) or not self._range.admit(lat, lon):
            self._reject("implausible_value")
            return
        if not self._gate.admit(key, t, lat, lon):
            self._reject("implausible_jump")
            return
        identity = self._identities.get(key)
        observation = Observation(
            t,
            key,
            self._source,
            lat,
            lon,
            alt_m=alt_m,
            sog_mps=sog_mps,
            cog_deg=cog_deg,
            vrate_mps=vrate_mps,
            domain=Domain.AIR,
            callsign=None if identity is None else identity.callsign,
        )
        out.extend(self._emit(observation))
