"""SBS-1 BaseStation text (Kinetic SBS-1, dump1090 port 30003): already decoded Mode S, one line per message.

``MSG,<type>,<session>,<aircraft>,<hex ident>,<flight>,<date gen>,<time gen>,<date log>,<time log>,
<callsign>,<altitude ft>,<ground speed kn>,<track deg>,<lat>,<lon>,<vertical rate ft/min>,<squawk>,
<alert>,<emergency>,<spi>,<on ground>``. Types: 1 identification (callsign), 2 surface position,
3 airborne position, 4 velocity, 5/6/7 altitude (and squawk), 8 all-call (nothing usable).

Times: the "generated" date and time (``YYYY/MM/DD``, ``HH:MM:SS.sss``), else the "logged" ones, are read
as **UTC** (run feeders on UTC: dump1090 writes its local time); with neither, ``options.clock()``, else
``no_timestamp``. Other record kinds (``SEL``, ``ID``, ``AIR``, ``STA``, ``CLK``) are accepted without an
observation. A bad value in a used field is ``bad_field:<name>``.

Velocity (MSG,4) and altitude (MSG,5/6/7) are carried onto the aircraft's next position, as for raw Mode S.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator

from riskline.ingest.counting import NOTHING, BadField, LineDecoder, Rejected, drive
from riskline.ingest.gate import AIR_LIMITS, JumpGate, RangeGate, valid_lat_lon
from riskline.ingest.memory import IdentityMemory, KinematicMemory
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.units import feet_to_m, fpm_to_mps, knots_to_mps

SOURCE = "sbs"
OTHER_RECORDS = frozenset({"SEL", "ID", "AIR", "STA", "CLK"})
_HEX_DIGITS = frozenset("0123456789abcdef")

CALLSIGN, ALTITUDE, SPEED, TRACK, LAT, LON, VRATE = 10, 11, 12, 13, 14, 15, 16
FIELD_NAMES = {
    4: "hex_ident",
    6: "date",
    7: "time",
    CALLSIGN: "callsign",
    ALTITUDE: "altitude",
    SPEED: "ground_speed",
    TRACK: "track",
    LAT: "lat",
    LON: "lon",
    VRATE: "vertical_rate",
}


class _BadField(BadField):
    def __init__(self, index: int) -> None:
        super().__init__(FIELD_NAMES.get(index, str(index)))


def _number(fields: list[str], index: int) -> float | None:
    if index >= len(fields):
        return None
    text = fields[index].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _BadField(index) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _BadField(index)
    return value


class SbsDecoder(LineDecoder):
    """Push-style: ``feed`` one line at a time, ``flush`` at the end."""

    encoding = "ascii"

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._clock = opts.clock
        self._gate = JumpGate(AIR_LIMITS)
        self._range = RangeGate(opts.reference, opts.max_range_m)
        self._kinematics = KinematicMemory()
        self._identities = IdentityMemory()
        self._midnight: dict[str, float] = {}  # date text -> [s] POSIX time of its 00:00 UTC

    def _day(self, text: str) -> float:
        midnight = self._midnight.get(text)
        if midnight is None:
            year, month, day = (int(part) for part in text.split("/"))
            if not (1970 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31):
                raise ValueError(text)
            midnight = float(calendar.timegm((year, month, day, 0, 0, 0)))
            if len(self._midnight) > 64:
                self._midnight.clear()
            self._midnight[text] = midnight
        return midnight

    def _time(self, fields: list[str]) -> float | None:
        for date_index in (6, 8):
            date = fields[date_index].strip() if date_index + 1 < len(fields) else ""
            if not date:
                continue
            clock = fields[date_index + 1].strip()
            try:
                hours, minutes, seconds = clock.split(":")
                of_day = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
                if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60 and 0.0 <= float(seconds) < 61.0):
                    raise ValueError(clock)
                return self._day(date) + of_day
            except ValueError:
                raise _BadField(date_index) from None
        return self._clock() if self._clock is not None else None

    def feed(self, line: bytes) -> tuple[Observation, ...]:
        text = self._text(line)
        if text is None:
            return NOTHING
        fields = text.split(",")
        kind = fields[0].strip()
        if kind != "MSG":
            return self._accept() if kind in OTHER_RECORDS else self._reject("malformed")
        if len(fields) < 11:
            return self._reject("malformed")
        try:
            return self._message(fields)
        except Rejected as rejected:
            return self._reject(rejected.reason)

    def _message(self, fields: list[str]) -> tuple[Observation, ...]:
        transmission = fields[1].strip()
        if transmission not in ("1", "2", "3", "4", "5", "6", "7", "8"):
            return self._reject("unsupported_type")
        icao = fields[4].strip().lower()
        if len(icao) != 6 or not _HEX_DIGITS.issuperset(icao):
            raise _BadField(4)
        key = "icao:" + icao
        t = self._time(fields)
        if t is None:
            return self._reject("no_timestamp")
        if transmission == "1":
            callsign = fields[CALLSIGN].strip() or None
            changed = self._identities.update(key, callsign=callsign)
            if changed is None:
                return self._accept()
            return self._emit(Observation(t, key, SOURCE, domain=Domain.AIR, callsign=changed.callsign))
        altitude = _number(fields, ALTITUDE)  # [ft]
        alt_m = None if altitude is None else feet_to_m(altitude)
        if transmission == "4":
            speed, track, rate = _number(fields, SPEED), _number(fields, TRACK), _number(fields, VRATE)
            self._kinematics.note_velocity(
                key,
                t,
                None if speed is None else knots_to_mps(speed),
                None if track is None else track % 360.0,
                None if rate is None else fpm_to_mps(rate),
            )
            return self._accept()
        if transmission in ("2", "3"):
            return self._position(fields, key, t, alt_m, surface=transmission == "2")
        if alt_m is not None:
            self._kinematics.note_altitude(key, t, alt_m)
        return self._accept()

    def _position(
        self, fields: list[str], key: str, t: float, alt_m: float | None, *, surface: bool
    ) -> tuple[Observation, ...]:
        lat, lon = _number(fields, LAT), _number(fields, LON)
        if lat is None or lon is None:
            if alt_m is not None:
                self._kinematics.note_altitude(key, t, alt_m)
            return self._accept()
        if not valid_lat_lon(lat, lon) or not self._range.admit(lat, lon):
            return self._reject("implausible_value")
        if not self._gate.admit(key, t, lat, lon):
            return self._reject("implausible_jump")
        if surface:
            speed, track = _number(fields, SPEED), _number(fields, TRACK)
            sog = None if speed is None else knots_to_mps(speed)
            cog = None if track is None else track % 360.0
            vrate = None
            alt_m = None
        else:
            if alt_m is not None:
                self._kinematics.note_altitude(key, t, alt_m)
            else:
                alt_m = self._kinematics.altitude_at(key, t)
            velocity = self._kinematics.velocity_at(key, t)
            sog = None if velocity is None else velocity.sog_mps
            cog = None if velocity is None else velocity.cog_deg
            vrate = None if velocity is None else velocity.vrate_mps
        identity = self._identities.get(key)
        return self._emit(
            Observation(
                t,
                key,
                SOURCE,
                lat,
                lon,
                alt_m=alt_m,
                sog_mps=sog,
                cog_deg=cog,
                vrate_mps=vrate,
                domain=Domain.AIR,
                callsign=None if identity is None else identity.callsign,
            )
        )


def read_sbs(lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None) -> Iterator[Observation]:
    """Observations from SBS-1 BaseStation lines."""
    return drive(SbsDecoder(stats, options), lines)
