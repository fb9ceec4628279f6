"""riskline.tracks: who is who (fleet file, attribution) and per-platform state (track table, snapshot).

Typical use, one report at a time, time always taken from the report::

    attributor = Attributor(Fleet.load("fleet.toml"))
    table = TrackTable()
    for obs in observations:
        table.update(obs, attributor.identify(obs, table.identity(obs.platform_id)))
    picture = table.snapshot(t)
"""

from riskline.tracks.attribution import SOURCES, Attributor, PartyCount, explain, tracks_by_party
from riskline.tracks.errors import FleetFileError, TracksError
from riskline.tracks.fleet import Fleet, FleetEntry
from riskline.tracks.identity import CIVIL, UNKNOWN_PARTY, PlatformIdentity, normalize_party
from riskline.tracks.segment import TrackSegment
from riskline.tracks.snapshot import Snapshot
from riskline.tracks.table import TableStats, TrackTable, UpdateResult

__all__ = [
    "CIVIL",
    "SOURCES",
    "UNKNOWN_PARTY",
    "Attributor",
    "Fleet",
    "FleetEntry",
    "FleetFileError",
    "PartyCount",
    "PlatformIdentity",
    "Snapshot",
    "TableStats",
    "TrackSegment",
    "TrackTable",
    "TracksError",
    "UpdateResult",
    "explain",
    "normalize_party",
    "tracks_by_party",
]
