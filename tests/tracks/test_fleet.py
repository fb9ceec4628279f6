"""The fleet file: the documented example loads from TOML and CSV alike, and every bad entry is named."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.errors import FleetFileError, TracksError
from riskline.tracks.fleet import Fleet, FleetEntry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fleet.md"


def _docs_block(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def _without_where(entries: tuple[FleetEntry, ...]) -> list[FleetEntry]:
    return [dataclasses.replace(entry, where="") for entry in entries]


VALID = """
[[platform]]
mmsi = 273548600
party = "RU"
domain = "sea"
platform_type = "Neustrashimy-class frigate"
kind = "military"
"""


def _error(text: str, *, csv: bool = False) -> str:
    parse = Fleet.parse_csv if csv else Fleet.parse_toml
    with pytest.raises(FleetFileError) as caught:
        parse(text, source="fleet.csv" if csv else "fleet.toml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_documented_toml_example_loads_into_five_entries(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(_docs_block("toml"), encoding="utf-8")
    fleet = Fleet.load(path)
    assert len(fleet) == 5
    frigate = fleet.entries[0]
    assert frigate == FleetEntry(party="RU", domain=Domain.SEA, kind=Kind.MILITARY,
                                 platform_type="Neustrashimy-class frigate", name="Frigate A", mmsi=273548600,
                                 where=f"{path}: platform #1 (mmsi 273548600)")
    assert fleet.entries[1].icao == "3f4a21"
    assert fleet.entries[1].callsign == "GAF618"
    assert fleet.entries[3].track_id == "T042"
    assert fleet.entries[4].party == "civil"


def test_the_documented_csv_example_says_the_same_as_the_toml_one(tmp_path: Path) -> None:
    toml_path, csv_path = tmp_path / "fleet.toml", tmp_path / "fleet.csv"
    toml_path.write_text(_docs_block("toml"), encoding="utf-8")
    csv_path.write_text(_docs_block("csv"), encoding="utf-8")
    from_csv = Fleet.load(csv_path)
    assert _without_where(from_csv.entries) == _without_where(Fleet.load(toml_path).entries)
    assert from_csv.entries[3].where == f"{csv_path}: line 5 (id T042)"


def test_lookup_finds_an_entry_by_its_identifier_before_its_callsign() -> None:
    fleet = Fleet.parse_toml(_docs_block("toml"))
    assert fleet.lookup("mmsi:273548600") is fleet.entries[0]
    assert fleet.lookup("icao:3F4A21") is fleet.entries[1]
    assert fleet.lookup("id:T042") is fleet.entries[3]
    assert fleet.lookup("icao:150001", callsign=" rff7001 ") is fleet.entries[2]
    assert fleet.lookup("mmsi:273548600", callsign="RFF7001") is fleet.entries[0]
    assert fleet.lookup("mmsi:999999999") is None
    assert fleet.lookup("mmsi:999999999", callsign="") is None


def test_lookup_takes_an_observation_and_uses_its_callsign() -> None:
    fleet = Fleet.parse_toml(_docs_block("toml"))
    report = Observation(t=0.0, platform_id="icao:150001", source="sbs", callsign="RFF7001")
    assert fleet.lookup(report) is fleet.entries[2]
    assert fleet.lookup(dataclasses.replace(report, callsign=None)) is None
    assert fleet.lookup(dataclasses.replace(report, callsign=None), callsign="RFF7001") is fleet.entries[2]


def test_party_codes_are_normalised_so_that_lower_and_upper_case_codes_are_one_party() -> None:
    fleet = Fleet.parse_toml(VALID.replace('"RU"', '"ru"') + '\n[[platform]]\nmmsi = 276012345\nparty = "Civil"\n'
                             'domain = "SEA"\nplatform_type = "Ferry"\nkind = "Civil"\n')
    assert [entry.party for entry in fleet] == ["RU", "civil"]
    assert fleet.entries[1].domain is Domain.SEA
    assert fleet.entries[1].kind is Kind.CIVIL


def test_a_wrong_domain_is_named_with_file_entry_and_field() -> None:
    assert _error(VALID.replace('"sea"', '"land"')) == (
        "fleet.toml: platform #1 (mmsi 273548600): domain: must be 'air' or 'sea', got 'land'")


def test_a_missing_required_field_is_named() -> None:
    assert _error(VALID.replace('party = "RU"\n', "")) == "fleet.toml: platform #1 (mmsi 273548600): party: missing"


def test_an_unknown_field_is_named_so_a_typo_cannot_pass() -> None:
    assert _error(VALID.replace("kind =", "knd =")) == (
        "fleet.toml: platform #1: unknown field 'knd'; fields are mmsi, icao, callsign, id, party, domain, "
        "platform_type, kind, name")


def test_an_entry_without_any_identifier_is_refused() -> None:
    assert _error(VALID.replace("mmsi = 273548600\n", "")) == (
        "fleet.toml: platform #1: no identifier: give at least one of mmsi, icao, callsign, id")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('mmsi = "27354860A"', "fleet.toml: platform #1: mmsi: must be a number of up to 9 digits, got '27354860A'"),
        ("mmsi = 2735486001", "fleet.toml: platform #1: mmsi: must be a number of up to 9 digits, got 2735486001"),
        ('icao = "3c64"', "fleet.toml: platform #1: icao: must be 6 hex digits (a 24-bit address), got '3c64'"),
        ('callsign = "RFF 7001"', "fleet.toml: platform #1: callsign: must be text without blanks, got 'RFF 7001'"),
        ('id = ""', "fleet.toml: platform #1: id: must be text without blanks (the part after 'id:'), got ''"),
    ],
)
def test_malformed_identifiers_are_named(line: str, message: str) -> None:
    assert _error(VALID.replace("mmsi = 273548600", line)) == message


def test_a_military_platform_cannot_be_put_in_the_civil_party() -> None:
    assert _error(VALID.replace('"RU"', '"civil"')) == (
        "fleet.toml: platform #1 (mmsi 273548600): party: 'civil' is the party of civil traffic; a military "
        "platform needs its national party")


def test_an_icao_address_on_a_ship_is_refused() -> None:
    assert _error(VALID.replace("mmsi = 273548600", 'icao = "150001"')) == (
        "fleet.toml: platform #1 (icao 150001): domain: an ICAO address belongs to an aircraft, so domain must "
        "be 'air'")


def test_an_identifier_given_twice_names_both_entries() -> None:
    assert _error(VALID + VALID.replace('"RU"', '"EE"')) == (
        "fleet.toml: platform #2 (mmsi 273548600): mmsi: 273548600 is already given by "
        "fleet.toml: platform #1 (mmsi 273548600)")


def test_a_callsign_given_twice_is_refused() -> None:
    text = VALID.replace("mmsi = 273548600", 'callsign = "RFF1"') + VALID.replace(
        "mmsi = 273548600", 'mmsi = 273548601\ncallsign = "rff1"')
    assert _error(text) == (
        "fleet.toml: platform #2 (mmsi 273548601): callsign: RFF1 is already given by "
        "fleet.toml: platform #1 (callsign RFF1)")


def test_broken_toml_is_reported_with_its_position() -> None:
    assert _error("[[platform]]\nmmsi = \n") == (
        "fleet.toml: not valid TOML: Invalid value (at line 2, column 8)")


def test_entries_must_be_platform_tables() -> None:
    assert _error('[ships]\nmmsi = 1\n') == (
        "fleet.toml: unknown top-level key 'ships'; entries go in [[platform]] tables")
    assert _error('platform = "x"\n') == (
        "fleet.toml: 'platform' must be an array of tables: write [[platform]]")


def test_a_csv_with_an_unknown_column_is_refused() -> None:
    assert _error("mmsi,party,domain,platform_type,kind,flag\n", csv=True) == (
        "fleet.csv: line 1: unknown column 'flag'; columns are mmsi, icao, callsign, id, party, domain, "
        "platform_type, kind, name")


def test_a_csv_row_names_its_line_and_field() -> None:
    text = "mmsi,party,domain,platform_type,kind\n273548600,RU,sea,Frigate,military\n\n276012345,EE,sea,,military\n"
    assert _error(text, csv=True) == "fleet.csv: line 4 (mmsi 276012345): platform_type: missing"


def test_a_csv_row_with_more_cells_than_columns_is_refused() -> None:
    assert _error("mmsi,party,domain,platform_type,kind\n1,RU,sea,Frigate,military,extra\n", csv=True) == (
        "fleet.csv: line 2: more cells than columns")


def test_an_empty_csv_names_the_columns_it_needs() -> None:
    assert _error("", csv=True) == (
        "fleet.csv: empty file; the first line must name the columns: mmsi, icao, callsign, id, party, domain, "
        "platform_type, kind, name")


def test_a_file_that_is_neither_toml_nor_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(FleetFileError, match=r"fleet\.yaml: a fleet file must end in \.toml or \.csv$"):
        Fleet.load(path)


def test_a_missing_file_is_a_tracks_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(TracksError) as caught:
        Fleet.load(path)
    assert str(caught.value) == f"{path}: cannot read: No such file or directory"


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_bytes(b"mmsi,party\n\xff\n")
    with pytest.raises(FleetFileError) as caught:
        Fleet.load(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 11)"


def test_a_csv_saved_by_a_spreadsheet_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_bytes("mmsi,party,domain,platform_type,kind\n273548600,RU,sea,Frigate,military\n".encode("utf-8-sig"))
    assert [entry.mmsi for entry in Fleet.load(path)] == [273548600]


def test_a_fleet_built_in_code_refuses_the_same_identifier_twice() -> None:
    entry = FleetEntry(party="RU", domain=Domain.SEA, kind=Kind.MILITARY, platform_type="Frigate", mmsi=1)
    with pytest.raises(FleetFileError, match=r"^fleet: mmsi: 1 is already given by another entry$"):
        Fleet([entry, entry])


def test_a_csv_the_csv_reader_cannot_split_is_refused_with_its_line() -> None:
    text = "mmsi,party,domain,platform_type,kind\n1,RU,sea,Frigate,military\n2,RU,sea," + "x" * 200_000 + "\n"
    assert _error(text, csv=True) == "fleet.csv: line 3: not valid CSV: field larger than field limit (131072)"
