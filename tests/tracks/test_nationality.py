"""Flag states from MMSIs and ICAO addresses, and the military ICAO blocks, against the real data."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from riskline.ingest.observation import Observation
from riskline.tracks.nationality import (
    icao_flag,
    is_sar_aircraft_mmsi,
    maritime_identification_digits,
    military_block,
    military_blocks,
    mmsi_flag,
    parse_icao_address,
)


@pytest.mark.parametrize(
    ("mmsi", "mid"),
    [
        (273148200, 273),  # ship station
        (27312345, 273),  # group of ships 0MIDxxxxx
        (2733456, 273),  # coast station 00MIDxxxx
        (111273123, 273),  # SAR aircraft
        (982731234, 273),  # craft associated with a parent ship
        (992731234, 273),  # aid to navigation
        (827312345, 273),  # handheld VHF
        (970123456, None),  # AIS-SART carries no MID
        (123456789, None),
        (0, None),
        (1_000_000_000, None),
    ],
)
def test_the_mid_is_read_where_itu_r_m585_puts_it_for_each_kind_of_station(mmsi: int, mid: int | None) -> None:
    assert maritime_identification_digits(mmsi) == mid


def test_russian_mmsis_in_the_pyais_sample_have_flag_state_russia(
        data_dir: Path, nmea_observations: Callable[[Path], list[Observation]]) -> None:
    observations = nmea_observations(data_dir / "ais" / "pyais_nmea_data_sample.txt")
    russian = sorted({obs.platform_id for obs in observations if obs.platform_id.startswith("mmsi:273")})
    assert russian == ["mmsi:273148200", "mmsi:273315960", "mmsi:273338330"]
    assert {mmsi_flag(int(platform_id[5:])) for platform_id in russian} == {"RU"}


def test_flag_states_of_baltic_and_us_mids() -> None:
    assert mmsi_flag(276012345) == "EE"
    assert mmsi_flag(230123456) == "FI"
    assert mmsi_flag(369970966) == "US"
    assert mmsi_flag(111273001) == "RU"


def test_an_mmsi_without_an_allocated_mid_has_no_flag_state() -> None:
    assert mmsi_flag(970123456) is None
    assert mmsi_flag(100000000) is None


def test_a_sar_aircraft_mmsi_is_recognised() -> None:
    assert is_sar_aircraft_mmsi(111273001)
    assert not is_sar_aircraft_mmsi(273148200)


def test_the_cdg_departure_in_full_flight_short_is_registered_in_france(data_dir: Path) -> None:
    with (data_dir / "traffic" / "full_flight_short.jsonl").open(encoding="utf-8") as stream:
        first = json.loads(stream.readline())
    assert first["icao24"] == "393322"
    address = parse_icao_address(first["icao24"])
    assert address == 0x393322
    assert icao_flag(address) == "FR"
    assert military_block(address) is None


def test_icao_addresses_map_to_their_registration_country() -> None:
    assert icao_flag(0x3C6444) == "DE"
    assert icao_flag(0x150000) == "RU"
    assert icao_flag(0x511000) == "EE"
    assert icao_flag(0x0101DE) == "EG"


def test_unallocated_and_icao_reserved_addresses_have_no_country() -> None:
    assert icao_flag(0xF00000) is None
    assert icao_flag(0x200000) is None
    assert icao_flag(0) is None


@pytest.mark.parametrize("text", ["~3c644", "3c64440", "zzzzzz", "", "3c644"])
def test_text_that_is_not_six_hex_digits_is_no_icao_address(text: str) -> None:
    assert parse_icao_address(text) is None


def test_the_military_table_holds_readsbs_32_blocks_in_address_order() -> None:
    blocks = military_blocks()
    assert len(blocks) == 32
    assert [block.first for block in blocks] == sorted(block.first for block in blocks)
    assert all(block.first <= block.last for block in blocks)
    assert all(a.last < b.first for a, b in itertools.pairwise(blocks))


def test_every_military_block_lies_in_its_countrys_allocation_according_to_rs1090() -> None:
    mismatches = [(f"{block.first:06x}", block.country, icao_flag(block.first), icao_flag(block.last))
                  for block in military_blocks()
                  if not icao_flag(block.first) == icao_flag(block.last) == block.country]
    assert mismatches == []


def test_the_us_military_block_starts_right_after_the_last_n_number() -> None:
    assert military_block(0xADF7C7) is None
    us = military_block(0xADF7C8)
    assert us is not None
    assert (us.country, us.first, us.last) == ("US", 0xADF7C8, 0xAFFFFF)
    assert military_block(0xAE04AB) == us
    assert military_block(0xB00000) is None


def test_military_blocks_of_the_baltic_neighbours() -> None:
    countries = {address: block.country if (block := military_block(address)) else None
                 for address in (0x43C123, 0x48D800, 0x48D880, 0x3F4A21, 0x150000)}
    assert countries == {0x43C123: "GB", 0x48D800: "PL", 0x48D880: None, 0x3F4A21: "DE", 0x150000: None}
