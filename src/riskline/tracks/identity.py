"""Who a platform is: its party, domain, platform type and whether it is military."""

from __future__ import annotations

from dataclasses import dataclass

from riskline.ingest.observation import Domain, Kind

CIVIL = "civil"
"""Civil traffic is a party of its own; rules apply only between different parties."""


@dataclass(frozen=True, slots=True)
class PlatformIdentity:
    platform_id: str
    party: str
    """Party code, e.g. ``RU``, ``EE``, ``US``, or ``civil``."""
    domain: Domain
    kind: Kind
    platform_type: str | None = None
    """Free text from the fleet file, e.g. ``Su-27``, ``Arleigh Burke destroyer``."""
    name: str | None = None
    callsign: str | None = None
    flag: str | None = None
    """Flag state or registration country (ISO 3166 alpha-2) when known, from the MMSI's MID or ICAO block."""
    source: str = "default"
    """How the party was decided: ``input``, ``fleet``, ``ais_type``, ``icao_military``, ``flag`` or ``default``."""
