"""A piece of one track's history: the evidence kept with an incident."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrackSegment:
    """Fixes of one platform between two times, oldest first."""

    platform_id: str
    t: tuple[float, ...]
    """[s] POSIX times of the fixes."""
    lat: tuple[float, ...]
    """[deg]"""
    lon: tuple[float, ...]
    """[deg]"""
    alt: tuple[float, ...]
    """[m] above mean sea level; 0 for ships."""

    def __len__(self) -> int:
        return len(self.t)

    def as_dict(self) -> dict[str, object]:
        return {"platform_id": self.platform_id, "t": list(self.t), "lat": list(self.lat),
                "lon": list(self.lon), "alt": list(self.alt)}

    @staticmethod
    def from_dict(data: dict[str, object]) -> TrackSegment:
        def floats(key: str) -> tuple[float, ...]:
            values = data[key]
            assert isinstance(values, list)
            return tuple(float(v) for v in values)

        return TrackSegment(str(data["platform_id"]), floats("t"), floats("lat"), floats("lon"), floats("alt"))
