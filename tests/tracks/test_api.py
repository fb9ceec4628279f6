"""The public API of riskline.tracks: exported, sorted, and each name really there."""

from __future__ import annotations

import riskline.tracks


def _isort_order(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions: the order ruff's RUF022 keeps ``__all__`` in."""
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_every_name_in_it_is_importable() -> None:
    names = riskline.tracks.__all__
    assert names == sorted(names, key=_isort_order)
    assert len(set(names)) == len(names)
    assert [name for name in names if not hasattr(riskline.tracks, name)] == []


def test_the_tables_attribution_and_fleet_api_is_exported() -> None:
    assert {"Attributor", "Fleet", "FleetEntry", "FleetFileError", "PlatformIdentity", "Snapshot", "TrackSegment",
            "TrackTable", "TracksError", "UpdateResult", "explain", "tracks_by_party"} <= set(riskline.tracks.__all__)
