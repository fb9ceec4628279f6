"""The fleet file: who is who, as the operator knows it (format in docs/fleet.md).

A fleet file maps a platform's identifiers — MMSI, ICAO 24-bit address, callsign, or the ``id:`` of a
positions-table track — to its party, domain, platform type and kind. It is TOML (an array of
``[[platform]]`` tables) or CSV with the same column names. It is checked whole on load: the first bad entry
stops the load with a one-line ``FleetFileError`` naming the file, the entry and the field, because a fleet
file that is half-read would silently put platforms in the wrong party.

Lookup order for a report: its own identifier (``mmsi:…``, ``icao:…``, ``id:…``) first, then its callsign;
a callsign is the weaker key (it is typed by a crew and reused between flights).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.errors import FleetFileError
from riskline.tracks.identity import CIVIL, normalize_party

IDENTIFIER_FIELDS = ("mmsi", "icao", "callsign", "id")
"""At least one of these identifies each entry."""
REQUIRED_FIELDS = ("party", "domain", "platform_type", "kind")
OPTIONAL_FIELDS = ("name",)
FIELDS = IDENTIFIER_FIELDS + REQUIRED_FIELDS + OPTIONAL_FIELDS
"""Every field (TOML key, CSV column) a fleet entry may have, in documentation order."""

_Choice = TypeVar("_Choice", Domain, Kind)


@dataclass(frozen=True, slots=True)
class FleetEntry:
    """One platform as the fleet file describes it."""

    party: str
    """Normalised party code (``RU``, ``EE``, … or ``civil``)."""
    domain: Domain
    kind: Kind
    platform_type: str
    """Free text, e.g. ``Udaloy-class destroyer``, ``Su-27``."""
    name: str | None = None
    mmsi: int | None = None
    icao: str | None = None
    """Six lower-case hex digits."""
    callsign: str | None = None
    """Upper-case, without padding."""
    track_id: str | None = None
    """The text after ``id:`` of a positions-table track."""
    where: str = ""
    """Where the entry was read, e.g. ``fleet.toml platform #3``; for explanations and error messages."""

    @property
    def platform_ids(self) -> tuple[str, ...]:
        """The namespaced identifiers this entry answers to (callsign excluded)."""
        ids = []
        if self.mmsi is not None:
            ids.append(f"mmsi:{self.mmsi}")
        if self.icao is not None:
            ids.append(f"icao:{self.icao}")
        if self.track_id is not None:
            ids.append(f"id:{self.track_id}")
        return tuple(ids)


def normalize_callsign(text: str | None) -> str | None:
    """Callsigns compare upper-case, without blanks or AIS ``@`` padding; an empty one is no callsign."""
    if text is None:
        return None
    cleaned = text.strip().strip("@").strip().upper()
    return cleaned or None


def normalize_platform_id(platform_id: str) -> str:
    """One spelling per identifier: MMSI without leading zeros, ICAO address in lower case."""
    namespace, separator, key = platform_id.partition(":")
    if not separator:
        return platform_id
    if namespace == "mmsi" and key.isdigit():
        return f"mmsi:{int(key)}"
    if namespace == "icao":
        return f"icao:{key.lower()}"
    return platform_id


class Fleet:
    """An immutable, indexed set of fleet entries; identifiers and callsigns are unique across it."""

    __slots__ = ("_by_callsign", "_by_id", "_entries", "source")

    def __init__(self, entries: Iterable[FleetEntry], *, source: str = "fleet") -> None:
        self.source = source
        self._entries = tuple(entries)
        self._by_id: dict[str, FleetEntry] = {}
        self._by_callsign: dict[str, FleetEntry] = {}
        for entry in self._entries:
            for platform_id in entry.platform_ids:
                self._claim(self._by_id, platform_id, entry, platform_id.partition(":")[0])
            if entry.callsign is not None:
                self._claim(self._by_callsign, entry.callsign, entry, "callsign")

    def _claim(self, index: dict[str, FleetEntry], key: str, entry: FleetEntry, field: str) -> None:
        holder = index.get(key)
        if holder is not None:
            raise FleetFileError(f"{entry.where or self.source}: {field}: {key.partition(':')[2] or key} is already "
                                 f"given by {holder.where or 'another entry'}")
        index[key] = entry

    @staticmethod
    def load(path: str | Path) -> Fleet:
        """Read a ``.toml`` or ``.csv`` fleet file; raises ``FleetFileError`` with a one-line reason."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".csv"):
            raise FleetFileError(f"{path}: a fleet file must end in .toml or .csv")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as error:
            raise FleetFileError(f"{path}: cannot read: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise FleetFileError(f"{path}: not UTF-8 text (byte {error.start})") from None
        if suffix == ".toml":
            return Fleet.parse_toml(text, source=str(path))
        return Fleet.parse_csv(text, source=str(path))

    @staticmethod
    def parse_toml(text: str, *, source: str = "fleet.toml") -> Fleet:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise FleetFileError(f"{source}: not valid TOML: {error}") from None
        unknown = sorted(set(document) - {"platform"})
        if unknown:
            raise FleetFileError(f"{source}: unknown top-level key {unknown[0]!r}; entries go in [[platform]] tables")
        platforms = document.get("platform", [])
        if not isinstance(platforms, list):
            raise FleetFileError(f"{source}: 'platform' must be an array of tables: write [[platform]]")
        entries = []
        for number, table in enumerate(platforms, start=1):
            where = f"{source}: platform #{number}"
            if not isinstance(table, dict):
                raise FleetFileError(f"{where}: must be a table: write [[platform]]")
            entries.append(_entry_from_fields(table, where))
        return Fleet(entries, source=source)

    @staticmethod
    def parse_csv(text: str, *, source: str = "fleet.csv") -> Fleet:
        reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
        try:
            return Fleet(_csv_entries(reader, source), source=source)
        except csv.Error as error:
            # the reader counts a line only once it has split it, so the bad one is the next
            raise FleetFileError(f"{source}: line {reader.line_num + 1}: not valid CSV: {error}") from None

    def lookup(self, key: Observation | str, *, callsign: str | None = None) -> FleetEntry | None:
        """The entry for a report (by its id, then its callsign) or a platform id (then ``callsign``), or None."""
        if isinstance(key, Observation):
            platform_id = key.platform_id
            callsign = key.callsign if key.callsign is not None else callsign
        else:
            platform_id = key
        entry = self._by_id.get(normalize_platform_id(platform_id))
        if entry is not None:
            return entry
        normalized = normalize_callsign(callsign)
        return self._by_callsign.get(normalized) if normalized is not None else None

    @property
    def entries(self) -> tuple[FleetEntry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[FleetEntry]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return f"Fleet({self.source!r}, {len(self._entries)} entries)"


def _csv_entries(reader: csv.DictReader[str], source: str) -> list[FleetEntry]:
    header = reader.fieldnames
    if not header:
        raise FleetFileError(f"{source}: empty file; the first line must name the columns: {', '.join(FIELDS)}")
    for column in header:
        if column.strip() not in FIELDS:
            raise FleetFileError(f"{source}: line 1: unknown column {column.strip()!r}; "
                                 f"columns are {', '.join(FIELDS)}")
    entries = []
    for row in reader:
        where = f"{source}: line {reader.line_num}"
        if None in row:
            raise FleetFileError(f"{where}: more cells than columns")
        fields = {key.strip(): value.strip() for key, value in row.items()
                  if value is not None and value.strip() != ""}
        if fields:
            entries.append(_entry_from_fields(fields, where))
    return entries


def _entry_from_fields(fields: Mapping[str, object], where: str) -> FleetEntry:
    for key in fields:
        if key not in FIELDS:
            raise FleetFileError(f"{where}: unknown field {key!r}; fields are {', '.join(FIELDS)}")
    mmsi = _mmsi(fields.get("mmsi"), where)
    icao = _icao(fields.get("icao"), where)
    callsign = _callsign(fields.get("callsign"), where)
    track_id = _track_id(fields.get("id"), where)
    if mmsi is None and icao is None and callsign is None and track_id is None:
        raise FleetFileError(f"{where}: no identifier: give at least one of {', '.join(IDENTIFIER_FIELDS)}")
    label = (f"mmsi {mmsi}" if mmsi is not None else f"icao {icao}" if icao is not None
             else f"id {track_id}" if track_id is not None else f"callsign {callsign}")
    where = f"{where} ({label})"
    for required in REQUIRED_FIELDS:
        if required not in fields:
            raise FleetFileError(f"{where}: {required}: missing")
    domain = _choice(fields["domain"], Domain, "domain", where)
    kind = _choice(fields["kind"], Kind, "kind", where)
    party = _party(fields["party"], where)
    if party == CIVIL and kind is Kind.MILITARY:
        raise FleetFileError(f"{where}: party: 'civil' is the party of civil traffic; a military platform needs "
                             f"its national party")
    if icao is not None and domain is Domain.SEA:
        raise FleetFileError(f"{where}: domain: an ICAO address belongs to an aircraft, so domain must be 'air'")
    return FleetEntry(
        party=party,
        domain=domain,
        kind=kind,
        platform_type=_text(fields["platform_type"], "platform_type", where),
        name=_text(fields["name"], "name", where) if "name" in fields else None,
        mmsi=mmsi,
        icao=icao,
        callsign=callsign,
        track_id=track_id,
        where=where,
    )


def _mmsi(value: object, where: str) -> int | None:
    if value is None:
        return None
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None
    if text is None or not text.isdigit() or len(text) > 9 or int(text) == 0:
        raise FleetFileError(f"{where}: mmsi: must be a number of up to 9 digits, got {value!r}")
    return int(text)


def _icao(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 0xFFFFFF:
        return f"{value:06x}"
    text = value.strip().lower() if isinstance(value, str) else ""
    text = text.removeprefix("0x")
    if len(text) != 6 or any(char not in "0123456789abcdef" for char in text) or int(text, 16) == 0:
        raise FleetFileError(f"{where}: icao: must be 6 hex digits (a 24-bit address), got {value!r}")
    return text


def _callsign(value: object, where: str) -> str | None:
    if value is None:
        return None
    callsign = normalize_callsign(value) if isinstance(value, str) else None
    if callsign is None or any(char.isspace() for char in callsign):
        raise FleetFileError(f"{where}: callsign: must be text without blanks, got {value!r}")
    return callsign


def _track_id(value: object, where: str) -> str | None:
    if value is None:
        return None
    text = value.strip().removeprefix("id:") if isinstance(value, str) else ""
    if not text or any(char.isspace() for char in text):
        raise FleetFileError(f"{where}: id: must be text without blanks (the part after 'id:'), got {value!r}")
    return text


def _party(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(char.isspace() for char in value.strip()):
        raise FleetFileError(f"{where}: party: must be a code without blanks such as 'RU' or 'civil', got {value!r}")
    return normalize_party(value)


def _choice(value: object, enum: type[_Choice], field: str, where: str) -> _Choice:
    allowed = [member.value for member in enum]
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in allowed:
        raise FleetFileError(f"{where}: {field}: must be {' or '.join(repr(a) for a in allowed)}, got {value!r}")
    return enum(text)


def _text(value: object, field: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FleetFileError(f"{where}: {field}: must be non-empty text, got {value!r}")
    return value.strip()
