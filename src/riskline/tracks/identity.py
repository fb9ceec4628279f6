"""Who a platform is: its party, domain, platform type and whether it is military."""

from __future__ import annotations

from dataclasses import dataclass

from riskline.ingest.observation import Domain, Kind

CIVIL = "civil"
"""Civil traffic is a party of its own; rules apply only between different parties."""

UNKNOWN_PARTY = "unknown"
"""Party of a military platform whose flag state cannot be told: a party of its own, so rules apply to it."""


def normalize_party(text: str) -> str:
    """One spelling per party, so ``ru`` in a fleet file and ``RU`` in a positions table are the same party.

    National and alliance codes are upper-cased; ``civil`` and ``unknown`` are lower-case words.
    Raises ``ValueError`` for an empty or blank text.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("a party cannot be empty")
    lowered = stripped.lower()
    if lowered in (CIVIL, UNKNOWN_PARTY):
        return lowered
    return stripped.upper()


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
    ship_type: int | None = None
    """AIS ship and cargo type last broadcast (35 = military operations); kept while positions come without it."""
