"""Errors of the tracks package.

    TracksError            root: something the tracks package was given cannot be used at all
    └── FleetFileError     the fleet file cannot be read, or an entry in it is invalid (whose fault: the file's author)

Every message is one line naming the file, the entry and the field, e.g.
``fleet.toml: platform #3 (mmsi 273123456): domain: must be 'air' or 'sea', got 'land'``.
Reports from ingest never raise here: a report that cannot update a track is counted in the table's stats.
"""

from __future__ import annotations

from riskline.errors import RisklineError


class TracksError(RisklineError):
    """Root of every tracks error; its message is one line, fit for an operator."""


class FleetFileError(TracksError):
    pass
