"""Flag state and military address blocks, read from a platform's own identifier.

- MMSI → flag state: the Maritime Identification Digits (MID) sit at a place that depends on the kind of
  station (ITU-R M.585-9, Annex 1); the MID is looked up with ``pyais.util.get_country``.
- ICAO 24-bit address → state of registry: ``rs1090.aircraft_information`` (ICAO Annex 10 Vol. III, Chapter 9
  allocation). Its ``flag`` emoji is two Unicode regional-indicator letters, which *are* the ISO 3166-1 alpha-2
  code, so rs1090's own maintained table gives the code; a small table of country names is the fallback.
- ICAO address → military: the blocks in ``riskline/data/icao_military_ranges.csv`` (from readsb, source and
  licence in the file's header).

Everything here is pure and cached: addresses repeat millions of times in a feed.
"""

from __future__ import annotations

import bisect
import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import rs1090
from pyais.util import get_country

_REGIONAL_INDICATOR_A = 0x1F1E6
_REGIONAL_INDICATOR_Z = 0x1F1FF

_COUNTRY_NAME_TO_ALPHA2 = {
    # Fallback when rs1090's flag is not a two-letter emoji; names as rs1090 spells them.
    "Belgium": "BE",
    "Belarus": "BY",
    "Bulgaria": "BG",
    "Canada": "CA",
    "Denmark": "DK",
    "Estonia": "EE",
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "Greece": "GR",
    "Italy": "IT",
    "Latvia": "LV",
    "Lithuania": "LT",
    "Norway": "NO",
    "Poland": "PL",
    "Romania": "RO",
    "Russia": "RU",
    "Spain": "ES",
    "Sweden": "SE",
    "The Netherlands": "NL",
    "Turkey": "TR",
    "Ukraine": "UA",
    "United Kingdom": "GB",
    "United States": "US",
}

_MILITARY_RANGES_RESOURCE = "icao_military_ranges.csv"


@dataclass(frozen=True, slots=True)
class MilitaryBlock:
    """A block of ICAO addresses reserved for one state's military aircraft."""

    first: int
    """Lowest address of the block (inclusive)."""
    last: int
    """Highest address of the block (inclusive)."""
    country: str
    """ISO 3166-1 alpha-2 code of the state the block belongs to."""
    label: str
    """The source's own name for the block."""

    def __contains__(self, address: int) -> bool:
        return self.first <= address <= self.last


def maritime_identification_digits(mmsi: int) -> int | None:
    """The MID inside an MMSI, wherever the station kind puts it (ITU-R M.585-9 Annex 1); None if it has none.

    ``MIDxxxxxx`` ship, ``0MIDxxxxx`` group, ``00MIDxxxx`` coast station, ``111MIDxxx`` SAR aircraft,
    ``8MIDxxxxx`` handheld VHF, ``98MIDxxxx`` craft of a parent ship, ``99MIDxxxx`` aid to navigation.
    AIS-SART, MOB and EPIRB (``970``/``972``/``974``) carry no MID.
    """
    if not 0 < mmsi <= 999_999_999:
        return None
    digits = f"{mmsi:09d}"
    if digits[0] in "234567":
        mid = digits[0:3]
    elif digits.startswith("00"):
        mid = digits[2:5]
    elif digits[0] == "0":
        mid = digits[1:4]
    elif digits.startswith("111"):
        mid = digits[3:6]
    elif digits.startswith(("98", "99")):
        mid = digits[2:5]
    elif digits[0] == "8":
        mid = digits[1:4]
    else:
        return None
    return int(mid)


def is_sar_aircraft_mmsi(mmsi: int) -> bool:
    """``111MIDxxx``: an MMSI of a search-and-rescue aircraft (ITU-R M.585-9 Annex 1, section 5)."""
    return 111_000_000 <= mmsi <= 111_999_999


@lru_cache(maxsize=4096)
def mmsi_flag(mmsi: int) -> str | None:
    """Flag state (ISO 3166-1 alpha-2) of an MMSI from its MID; None when the MID is unallocated or absent."""
    mid = maritime_identification_digits(mmsi)
    if mid is None:
        return None
    # get_country reads the first three digits, so ask about the MID's ship-station form MID000000.
    code, name = get_country(mid * 1_000_000)
    if name == "Unknown":
        return None
    return str(code)


def parse_icao_address(text: str) -> int | None:
    """A 24-bit ICAO address from six hex digits (any case); None for anything else (TIS-B ``~``, garbage)."""
    if len(text) != 6:
        return None
    try:
        address = int(text, 16)
    except ValueError:
        return None
    return address


def _alpha2_from_flag_emoji(flag: str) -> str | None:
    letters = [ord(char) for char in flag]
    if len(letters) != 2 or not all(_REGIONAL_INDICATOR_A <= c <= _REGIONAL_INDICATOR_Z for c in letters):
        return None
    return "".join(chr(c - _REGIONAL_INDICATOR_A + ord("A")) for c in letters)


@lru_cache(maxsize=65536)
def icao_flag(address: int) -> str | None:
    """State of registry (ISO 3166-1 alpha-2) of an ICAO address; None for unallocated or ICAO-reserved blocks."""
    if not 0 < address <= 0xFFFFFF:
        return None
    information = rs1090.aircraft_information(f"{address:06x}")
    flag = information.get("flag")
    code = _alpha2_from_flag_emoji(flag) if isinstance(flag, str) else None
    if code is not None:
        return code
    country = information.get("country")
    return _COUNTRY_NAME_TO_ALPHA2.get(country) if isinstance(country, str) else None


@lru_cache(maxsize=1)
def military_blocks() -> tuple[MilitaryBlock, ...]:
    """The military ICAO address blocks shipped in ``riskline/data``, sorted by first address."""
    text = (resources.files("riskline") / "data" / _MILITARY_RANGES_RESOURCE).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(line for line in text.splitlines(keepends=True)
                                              if not line.startswith("#"))))
    blocks = [MilitaryBlock(int(row["first"], 16), int(row["last"], 16), row["country"], row["readsb_label"])
              for row in rows]
    return tuple(sorted(blocks, key=lambda block: block.first))


@lru_cache(maxsize=1)
def _military_block_starts() -> tuple[int, ...]:
    return tuple(block.first for block in military_blocks())


def military_block(address: int) -> MilitaryBlock | None:
    """The military block holding ``address``, or None."""
    blocks = military_blocks()
    index = bisect.bisect_right(_military_block_starts(), address) - 1
    if index >= 0 and address in blocks[index]:
        return blocks[index]
    return None
