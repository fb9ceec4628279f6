"""Who a platform is, from real AIS and ADS-B reports: input party, then fleet file, then the identifier."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.attribution import Attributor, PartyCount, explain, tracks_by_party
from riskline.tracks.fleet import Fleet
from riskline.tracks.identity import CIVIL, UNKNOWN_PARTY, PlatformIdentity
from riskline.units import KNOT

NmeaLoader = Callable[[Path], list[Observation]]

FLEET = Fleet.parse_toml("""
[[platform]]
mmsi = 273148200
party = "RU"
domain = "sea"
platform_type = "Intelligence collection ship"
kind = "military"
name = "Fleet name"

[[platform]]
callsign = "DUKE58"
party = "US"
domain = "air"
platform_type = "C-12 Huron"
kind = "military"
""", source="fleet.toml")


def _identify_stream(attributor: Attributor, reports: list[Observation]) -> dict[str, PlatformIdentity]:
    identities: dict[str, PlatformIdentity] = {}
    for report in reports:
        identities[report.platform_id] = attributor.identify(report, identities.get(report.platform_id))
    return identities


def test_russian_merchant_ships_in_the_pyais_sample_are_civil_with_flag_russia(
        data_dir: Path, nmea_observations: NmeaLoader) -> None:
    reports = nmea_observations(data_dir / "ais" / "pyais_nmea_data_sample.txt")
    identities = _identify_stream(Attributor(None), reports)
    assert identities["mmsi:273148200"] == PlatformIdentity(
        platform_id="mmsi:273148200", party=CIVIL, domain=Domain.SEA, kind=Kind.CIVIL, flag="RU", source="default")
    assert {identities[f"mmsi:{m}"].flag for m in (273148200, 273315960, 273338330)} == {"RU"}


def test_a_ship_broadcasting_type_35_becomes_military_of_its_flag_state_and_stays_so(
        data_dir: Path, nmea_observations: NmeaLoader) -> None:
    reports = [r for r in nmea_observations(data_dir / "ais" / "test_data_20211101.nm4")
               if r.platform_id == "mmsi:369970966"]
    position, static = reports
    assert (position.has_position, static.has_position, static.ship_type) == (True, False, 35)
    attributor = Attributor(None)
    first = attributor.identify(position)
    assert (first.party, first.kind, first.source, first.flag) == (CIVIL, Kind.CIVIL, "default", "US")
    military = attributor.identify(static, first)
    assert military == PlatformIdentity(platform_id="mmsi:369970966", party="US", domain=Domain.SEA,
                                        kind=Kind.MILITARY, name="95SC1203", flag="US", source="ais_type",
                                        ship_type=35)
    later_position = dataclasses.replace(position, t=static.t + 10.0)
    assert attributor.identify(later_position, military) == military


def test_us_government_vessels_of_type_35_in_the_noaa_file_are_us_military(data_dir: Path) -> None:
    with (data_dir / "ais" / "test_data_noaa_20230101.csv").open(encoding="utf-8", newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["VesselType"] == "35"]
    attributor = Attributor(None)
    identities = [attributor.identify(Observation(
        t=0.0, platform_id=f"mmsi:{row['MMSI']}", source="marinecadastre", lat=float(row["LAT"]),
        lon=float(row["LON"]), sog_mps=float(row["SOG"]) * KNOT, cog_deg=float(row["COG"]),
        name=row["VesselName"], callsign=row["CallSign"], ship_type=int(row["VesselType"]))) for row in rows]
    assert [(i.platform_id, i.party, i.kind, i.source, i.name) for i in identities] == [
        ("mmsi:368926297", "US", Kind.MILITARY, "ais_type", "US GOVT VESSEL 19"),
        # 8 digits, i.e. 036926403: the MID (369, USA) sits after a leading 0 (ITU-R M.585-9 group form).
        ("mmsi:36926403", "US", Kind.MILITARY, "ais_type", "PCU MARINETTE"),
    ]


def test_the_cdg_departure_in_full_flight_short_is_french_and_civil(data_dir: Path) -> None:
    with (data_dir / "traffic" / "full_flight_short.jsonl").open(encoding="utf-8") as stream:
        record = json.loads(stream.readline())
    report = Observation(t=record["timestamp"], platform_id=f"icao:{record['icao24']}", source="modes",
                         lat=record["latitude"], lon=record["longitude"])
    identity = Attributor(None).identify(report)
    assert identity == PlatformIdentity(platform_id="icao:393322", party=CIVIL, domain=Domain.AIR,
                                        kind=Kind.CIVIL, flag="FR", source="default")


def test_aircraft_in_military_icao_blocks_over_paris_are_military_of_the_blocks_state(
        quickstart_observations: list[Observation]) -> None:
    attributor = Attributor(None)
    first_reports = {report.platform_id: report for report in reversed(quickstart_observations)}
    identities = [attributor.identify(report) for report in first_reports.values()]
    assert len(identities) == 213
    military = {identity.platform_id: (identity.party, identity.source, identity.callsign)
                for identity in identities if identity.kind is Kind.MILITARY}
    assert military == {
        "icao:3aabfc": ("FR", "icao_military", "FMY8055"),
        "icao:3b77e4": ("FR", "icao_military", "CTM1283"),
        "icao:7cfa71": ("AU", "icao_military", "ASY319"),
        "icao:ae04ab": ("US", "icao_military", "DUKE58"),
    }


def test_the_input_party_wins_over_the_fleet_file_which_wins_over_the_flag(
        data_dir: Path, nmea_observations: NmeaLoader) -> None:
    report = next(r for r in nmea_observations(data_dir / "ais" / "pyais_nmea_data_sample.txt")
                  if r.platform_id == "mmsi:273148200")
    automatic = Attributor(None).identify(report)
    from_fleet = Attributor(FLEET).identify(report)
    from_input = Attributor(FLEET).identify(dataclasses.replace(report, party="ee"))
    assert (automatic.party, automatic.kind, automatic.source) == (CIVIL, Kind.CIVIL, "default")
    assert (from_fleet.party, from_fleet.kind, from_fleet.source) == ("RU", Kind.MILITARY, "fleet")
    assert (from_fleet.platform_type, from_fleet.name) == ("Intelligence collection ship", "Fleet name")
    assert (from_input.party, from_input.kind, from_input.source) == ("EE", Kind.MILITARY, "input")
    assert from_input.platform_type == "Intelligence collection ship"


def test_a_party_once_given_by_the_input_sticks_to_later_reports_without_one() -> None:
    attributor = Attributor(FLEET)
    first = attributor.identify(Observation(t=0.0, platform_id="mmsi:273148200", source="table", party="EE",
                                            kind=Kind.CIVIL, lat=59.0, lon=24.0))
    later = attributor.identify(Observation(t=1.0, platform_id="mmsi:273148200", source="nmea", lat=59.0,
                                            lon=24.1), first)
    assert (later.party, later.kind, later.source) == ("EE", Kind.CIVIL, "input")


def test_a_callsign_heard_once_keeps_matching_the_fleet_file() -> None:
    attributor = Attributor(FLEET)
    with_callsign = attributor.identify(Observation(t=0.0, platform_id="icao:ae04ab", source="sbs",
                                                    callsign="duke58 "))
    position = attributor.identify(Observation(t=1.0, platform_id="icao:ae04ab", source="sbs", lat=48.0,
                                               lon=2.0, alt_m=3000.0), with_callsign)
    assert (position.party, position.source, position.callsign, position.platform_type) == (
        "US", "fleet", "DUKE58", "C-12 Huron")


def test_a_national_input_party_without_a_kind_is_military_and_civil_stays_civil() -> None:
    attributor = Attributor(None)
    national = attributor.identify(Observation(t=0.0, platform_id="id:T1", source="table", party="RU"))
    civil = attributor.identify(Observation(t=0.0, platform_id="id:T2", source="table", party="Civil"))
    assert (national.party, national.kind) == ("RU", Kind.MILITARY)
    assert (civil.party, civil.kind) == (CIVIL, Kind.CIVIL)


def test_an_input_that_says_military_without_a_party_gives_the_flag_state() -> None:
    identity = Attributor(None).identify(Observation(t=0.0, platform_id="mmsi:273148200", source="table",
                                                     kind=Kind.MILITARY))
    assert (identity.party, identity.source, identity.kind) == ("RU", "flag", Kind.MILITARY)


def test_a_military_ship_without_a_flag_state_belongs_to_the_unknown_party() -> None:
    identity = Attributor(None).identify(Observation(t=0.0, platform_id="mmsi:970123456", source="nmea",
                                                     ship_type=35))
    assert (identity.party, identity.kind, identity.flag) == (UNKNOWN_PARTY, Kind.MILITARY, None)


def test_ship_type_not_available_does_not_undo_a_broadcast_type_35() -> None:
    attributor = Attributor(None)
    military = attributor.identify(Observation(t=0.0, platform_id="mmsi:273148200", source="nmea", ship_type=35))
    after = attributor.identify(Observation(t=1.0, platform_id="mmsi:273148200", source="nmea", ship_type=0),
                                military)
    cargo = attributor.identify(Observation(t=2.0, platform_id="mmsi:273148200", source="nmea", ship_type=70),
                                after)
    assert (after.kind, after.ship_type) == (Kind.MILITARY, 35)
    assert (cargo.kind, cargo.party, cargo.ship_type) == (Kind.CIVIL, CIVIL, 70)


@pytest.mark.parametrize(
    ("platform_id", "alt_m", "domain", "expected"),
    [
        ("mmsi:273148200", None, None, Domain.SEA),
        ("mmsi:111273001", None, None, Domain.AIR),
        ("mmsi:273148200", None, Domain.AIR, Domain.AIR),
        ("icao:393322", None, None, Domain.AIR),
        ("id:T1", 5000.0, None, Domain.AIR),
        ("id:T1", None, None, Domain.SEA),
    ],
)
def test_the_domain_comes_from_the_report_the_identifier_or_an_altitude(
        platform_id: str, alt_m: float | None, domain: Domain | None, expected: Domain) -> None:
    report = Observation(t=0.0, platform_id=platform_id, source="table", alt_m=alt_m, domain=domain)
    assert Attributor(None).identify(report).domain is expected


def test_a_radar_track_once_seen_with_an_altitude_stays_an_aircraft() -> None:
    attributor = Attributor(None)
    surface = attributor.identify(Observation(t=0.0, platform_id="id:T1", source="table", lat=59.0, lon=24.0))
    airborne = attributor.identify(Observation(t=1.0, platform_id="id:T1", source="table", lat=59.0, lon=24.0,
                                               alt_m=300.0), surface)
    no_altitude = attributor.identify(Observation(t=2.0, platform_id="id:T1", source="table", lat=59.0,
                                                  lon=24.0), airborne)
    assert (surface.domain, airborne.domain, no_altitude.domain) == (Domain.SEA, Domain.AIR, Domain.AIR)


def test_a_previous_identity_of_another_platform_is_a_programming_error() -> None:
    previous = PlatformIdentity("mmsi:1", CIVIL, Domain.SEA, Kind.CIVIL)
    with pytest.raises(ValueError, match=r"^identify: previous identity is for mmsi:1, not mmsi:2$"):
        Attributor(None).identify(Observation(t=0.0, platform_id="mmsi:2", source="nmea"), previous)


def test_explain_says_in_one_line_how_each_party_was_decided() -> None:
    attributor = Attributor(FLEET)
    lines = [
        explain(attributor.identify(Observation(t=0.0, platform_id="mmsi:273148200", source="t", party="EE"))),
        explain(attributor.identify(Observation(t=0.0, platform_id="mmsi:273148200", source="t"))),
        explain(attributor.identify(Observation(t=0.0, platform_id="mmsi:273315960", source="t", ship_type=35))),
        explain(attributor.identify(Observation(t=0.0, platform_id="icao:43c123", source="t"))),
        explain(attributor.identify(Observation(t=0.0, platform_id="mmsi:273315960", source="t",
                                                kind=Kind.MILITARY))),
        explain(attributor.identify(Observation(t=0.0, platform_id="icao:393322", source="t"))),
    ]
    assert lines == [
        "mmsi:273148200: party EE, military — given by the input",
        "mmsi:273148200: party RU, military (Intelligence collection ship) — from the fleet file",
        "mmsi:273315960: party RU, military — AIS ship type 35 (military operations); flag state RU from MID 273",
        "icao:43c123: party GB, military — ICAO address in a military block 43c000–43cfff (GB, united kingdom "
        "mil(ra))",
        "mmsi:273315960: party RU, military — the input says military; flag state RU",
        "icao:393322: party civil, civil — no sign of military use (flag state FR)",
    ]


def test_tracks_by_party_counts_nations_then_unknown_then_civil() -> None:
    identities = [
        PlatformIdentity("mmsi:1", CIVIL, Domain.SEA, Kind.CIVIL),
        PlatformIdentity("icao:2", "US", Domain.AIR, Kind.MILITARY, source="icao_military"),
        PlatformIdentity("mmsi:3", UNKNOWN_PARTY, Domain.SEA, Kind.MILITARY, source="ais_type"),
        PlatformIdentity("mmsi:4", "RU", Domain.SEA, Kind.MILITARY, source="fleet"),
        PlatformIdentity("mmsi:5", "RU", Domain.SEA, Kind.MILITARY, source="ais_type"),
        PlatformIdentity("icao:6", "RU", Domain.AIR, Kind.MILITARY, source="fleet"),
    ]
    assert tracks_by_party(identities) == (
        PartyCount("RU", tracks=3, military=3, civil=0, air=1, sea=2, by_source=(("fleet", 2), ("ais_type", 1))),
        PartyCount("US", tracks=1, military=1, civil=0, air=1, sea=0, by_source=(("icao_military", 1),)),
        PartyCount(UNKNOWN_PARTY, tracks=1, military=1, civil=0, air=0, sea=1, by_source=(("ais_type", 1),)),
        PartyCount(CIVIL, tracks=1, military=0, civil=1, air=0, sea=1, by_source=(("default", 1),)),
    )
