"""What a reader remembers per platform between messages: identity, and the latest altitude and velocity.

Mode S spreads one aircraft's state over many replies: the position (BDS05/06), the altitude (DF0/4/16/20,
BDS05), the velocity (BDS09) and the callsign (BDS08) arrive separately. The readers keep the latest of each
per ICAO address and carry them onto the aircraft's next position observation when they are at most
``CARRY_MAX_AGE`` old. AIS statics (types 5, 19, 24) fill the identity carried onto later positions.
"""

from __future__ import annotations

from dataclasses import dataclass

CARRY_MAX_AGE = 15.0  # [s] oldest altitude or velocity still carried onto a position


@dataclass(frozen=True, slots=True)
class Identity:
    callsign: str | None = None
    name: str | None = None
    ship_type: int | None = None


class IdentityMemory:
    """Latest known identity per platform, merged field by field."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[str, Identity] = {}

    def get(self, key: str) -> Identity | None:
        return self._known.get(key)

    def update(
        self, key: str, *, callsign: str | None = None, name: str | None = None, ship_type: int | None = None
    ) -> Identity | None:
        """Merge the fields given (``None`` keeps the known value); the merged identity if it changed, else None."""
        old = self._known.get(key)
        if old is None:
            if callsign is None and name is None and ship_type is None:
                return None
            new = Identity(callsign, name, ship_type)
        else:
            new = Identity(
                callsign if callsign is not None else old.callsign,
                name if name is not None else old.name,
                ship_type if ship_type is not None else old.ship_type,
            )
            if new == old:
                return None
        self._known[key] = new
        return new


@dataclass(frozen=True, slots=True)
class Velocity:
    t: float  # [s] POSIX time of the report
    sog_mps: float | None  # [m/s]
    cog_deg: float | None  # [deg]
    vrate_mps: float | None  # [m/s]


@dataclass(frozen=True, slots=True)
class _Altitude:
    t: float  # [s]
    alt_m: float  # [m]


class KinematicMemory:
    """Latest altitude and velocity per aircraft, handed out only while fresh."""

    __slots__ = ("_altitude", "_velocity")

    def __init__(self) -> None:
        self._altitude: dict[str, _Altitude] = {}
        self._velocity: dict[str, Velocity] = {}

    def note_altitude(self, key: str, t: float, alt_m: float) -> None:
        old = self._altitude.get(key)
        if old is None or t >= old.t:
            self._altitude[key] = _Altitude(t, alt_m)

    def note_velocity(
        self, key: str, t: float, sog_mps: float | None, cog_deg: float | None, vrate_mps: float | None
    ) -> None:
        old = self._velocity.get(key)
        if old is None or t >= old.t:
            self._velocity[key] = Velocity(t, sog_mps, cog_deg, vrate_mps)

    def altitude_at(self, key: str, t: float) -> float | None:
        """[m] the latest altitude if at most ``CARRY_MAX_AGE`` from ``t``."""
        known = self._altitude.get(key)
        if known is None or abs(t - known.t) > CARRY_MAX_AGE:
            return None
        return known.alt_m

    def velocity_at(self, key: str, t: float) -> Velocity | None:
        """The latest velocity report if at most ``CARRY_MAX_AGE`` from ``t``."""
        known = self._velocity.get(key)
        if known is None or abs(t - known.t) > CARRY_MAX_AGE:
            return None
        return known
