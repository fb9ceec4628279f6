"""Who a platform is: party, domain and kind from the report, the fleet file, or the identifier itself.

Design note. The party decides whether rules apply at all (they apply only between different parties), so
the order of evidence is fixed and every identity records which one decided (``PlatformIdentity.source``):

1. ``input``  — a party given by the input itself (``Observation.party``, e.g. a positions table) wins.
2. ``fleet``  — the operator's fleet file (``riskline.tracks.fleet``).
3. automatic — from the identifier and the broadcast statics:
   ``ais_type``      AIS ship type 35 "military operations" (ITU-R M.1371-5, Table 53) → military;
   ``icao_military`` an ICAO address in a military block (``riskline/data/icao_military_ranges.csv``) → military;
   ``flag``          the input says military but names no party;
   ``default``       nothing says military → civil.
   A military platform without a fleet entry belongs to its flag state (MMSI MID via pyais, ICAO block via
   rs1090), or to ``unknown`` when that cannot be told; a civil one to ``civil``.

A party given by the input without a kind is taken as military unless it is ``civil``: the only reason to put
a platform in a national party is that it is a state platform.

Identity is sticky: name, callsign and ship type from statics (AIS 5/24) are kept while later positions come
without them, and a party or kind once given by the input stays until the input says otherwise.
Domain: the report's own (AIS type 9 is air), else the fleet's, else an altitude makes it air (ships report
none), else the earlier identity's, else MMSI → sea (``111MIDxxx`` SAR aircraft → air), ICAO → air, else sea.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.fleet import Fleet, FleetEntry, normalize_callsign
from riskline.tracks.identity import CIVIL, UNKNOWN_PARTY, PlatformIdentity, normalize_party
from riskline.tracks.nationality import (
    icao_flag,
    is_sar_aircraft_mmsi,
    maritime_identification_digits,
    military_block,
    mmsi_flag,
    parse_icao_address,
)

AIS_SHIP_TYPE_MILITARY = 35
"""AIS ship and cargo type "engaged in military operations" (ITU-R M.1371-5, Table 53)."""
AIS_SHIP_TYPE_NOT_AVAILABLE = 0

SOURCES = ("input", "fleet", "ais_type", "icao_military", "flag", "default")
"""Every value of ``PlatformIdentity.source``, strongest evidence first."""


class Attributor:
    """Decides each report's ``PlatformIdentity``; holds nothing but the fleet, so one serves a whole run."""

    __slots__ = ("_fleet",)

    def __init__(self, fleet: Fleet | None = None) -> None:
        self._fleet = fleet

    @property
    def fleet(self) -> Fleet | None:
        return self._fleet

    def identify(self, obs: Observation, previous: PlatformIdentity | None = None) -> PlatformIdentity:
        """The identity of ``obs``'s platform, given what was known before (``previous``, from the track table)."""
        if previous is not None and previous.platform_id != obs.platform_id:
            raise ValueError(f"identify: previous identity is for {previous.platform_id}, not {obs.platform_id}")
        sticky_input = previous is not None and previous.source in ("input", "flag")
        callsign = normalize_callsign(obs.callsign) or (previous.callsign if previous else None)
        name = _clean_name(obs.name) or (previous.name if previous else None)
        ship_type = obs.ship_type if obs.ship_type not in (None, AIS_SHIP_TYPE_NOT_AVAILABLE) else (
            previous.ship_type if previous else None)
        input_party = _input_party(obs.party)
        if input_party is None and previous is not None and previous.source == "input":
            input_party = previous.party
        input_kind = obs.kind if obs.kind is not None else (previous.kind if previous and sticky_input else None)

        namespace, _, key = obs.platform_id.partition(":")
        mmsi = int(key) if namespace == "mmsi" and key.isdigit() else None
        icao = parse_icao_address(key) if namespace == "icao" else None
        if mmsi is not None:
            flag = mmsi_flag(mmsi)
        elif icao is not None:
            flag = icao_flag(icao)
        else:
            flag = previous.flag if previous else None
        entry = self._fleet.lookup(obs.platform_id, callsign=callsign) if self._fleet is not None else None
        domain = _domain(obs, entry, mmsi, icao, previous)

        military_source = None
        block = military_block(icao) if icao is not None else None
        if ship_type == AIS_SHIP_TYPE_MILITARY:
            military_source = "ais_type"
        elif block is not None:
            military_source = "icao_military"
        own_flag_party = flag or (block.country if block is not None else None) or UNKNOWN_PARTY

        if input_party is not None:
            party, source = input_party, "input"
            if input_kind is not None:
                kind = input_kind
            elif party == CIVIL:
                kind = Kind.CIVIL
            else:
                kind = entry.kind if entry is not None else Kind.MILITARY
        elif entry is not None:
            party, source, kind = entry.party, "fleet", input_kind or entry.kind
        elif input_kind is Kind.MILITARY:
            party, source, kind = own_flag_party, "flag", Kind.MILITARY
        elif input_kind is Kind.CIVIL:
            party, source, kind = CIVIL, "input", Kind.CIVIL
        elif military_source is not None:
            party, source, kind = own_flag_party, military_source, Kind.MILITARY
        else:
            party, source, kind = CIVIL, "default", Kind.CIVIL

        return PlatformIdentity(
            platform_id=obs.platform_id,
            party=party,
            domain=domain,
            kind=kind,
            platform_type=entry.platform_type if entry is not None else None,
            name=(entry.name if entry is not None and entry.name else None) or name,
            callsign=callsign or (entry.callsign if entry is not None else None),
            flag=flag,
            source=source,
            ship_type=ship_type,
        )


def _input_party(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    return normalize_party(text)


def _clean_name(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = text.strip().strip("@").strip()
    return cleaned or None


def _domain(obs: Observation, entry: FleetEntry | None, mmsi: int | None, icao: int | None,
            previous: PlatformIdentity | None) -> Domain:
    if obs.domain is not None:
        return obs.domain
    if entry is not None:
        return entry.domain
    if obs.alt_m is not None:
        return Domain.AIR
    if previous is not None:
        return previous.domain
    if mmsi is not None:
        return Domain.AIR if is_sar_aircraft_mmsi(mmsi) else Domain.SEA
    if icao is not None:
        return Domain.AIR
    return Domain.SEA


# --- explaining a party, for `riskline watch` and for operators who ask "why is this RU?" ---


def explain(identity: PlatformIdentity) -> str:
    """One line telling how the identity's party was decided, e.g. for ``riskline watch`` or an incident."""
    party = identity.party
    flag = identity.flag or "unknown"
    if identity.source == "input":
        return f"{identity.platform_id}: party {party}, {identity.kind} — given by the input"
    if identity.source == "fleet":
        what = f" ({identity.platform_type})" if identity.platform_type else ""
        return f"{identity.platform_id}: party {party}, {identity.kind}{what} — from the fleet file"
    if identity.source == "ais_type":
        return (f"{identity.platform_id}: party {party}, military — AIS ship type 35 (military operations); "
                f"flag state {flag}{_mid_text(identity.platform_id)}")
    if identity.source == "icao_military":
        return (f"{identity.platform_id}: party {party}, military — ICAO address in a military block"
                f"{_block_text(identity.platform_id)}")
    if identity.source == "flag":
        return f"{identity.platform_id}: party {party}, military — the input says military; flag state {flag}"
    return (f"{identity.platform_id}: party {party}, {identity.kind} — no sign of military use "
            f"(flag state {flag})")


def _mid_text(platform_id: str) -> str:
    namespace, _, key = platform_id.partition(":")
    if namespace != "mmsi" or not key.isdigit():
        return ""
    mid = maritime_identification_digits(int(key))
    return f" from MID {mid}" if mid is not None else ""


def _block_text(platform_id: str) -> str:
    namespace, _, key = platform_id.partition(":")
    address = parse_icao_address(key) if namespace == "icao" else None
    block = military_block(address) if address is not None else None
    if block is None:
        return ""
    return f" {block.first:06x}–{block.last:06x} ({block.country}, {block.label})"


@dataclass(frozen=True, slots=True)
class PartyCount:
    """How many tracks one party has, and how their party was decided."""

    party: str
    tracks: int
    military: int
    civil: int
    air: int
    sea: int
    by_source: tuple[tuple[str, int], ...]
    """(source, count) pairs in ``SOURCES`` order, only sources that occur."""


def tracks_by_party(identities: Iterable[PlatformIdentity]) -> tuple[PartyCount, ...]:
    """Tracks per party for a watch summary: national parties A–Z, then ``unknown``, then ``civil``."""
    counters: dict[str, Counter[str]] = {}
    for identity in identities:
        counter = counters.setdefault(identity.party, Counter())
        counter["tracks"] += 1
        counter[identity.kind.value] += 1
        counter[identity.domain.value] += 1
        counter["source:" + identity.source] += 1
    order = sorted(counters, key=lambda p: (p == CIVIL, p == UNKNOWN_PARTY, p))
    return tuple(
        PartyCount(
            party=party,
            tracks=counters[party]["tracks"],
            military=counters[party][Kind.MILITARY.value],
            civil=counters[party][Kind.CIVIL.value],
            air=counters[party][Domain.AIR.value],
            sea=counters[party][Domain.SEA.value],
            by_source=tuple((source, counters[party]["source:" + source]) for source in SOURCES
                            if counters[party]["source:" + source]),
        )
        for party in order
    )
