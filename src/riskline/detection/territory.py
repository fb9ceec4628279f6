"""Territorial sea and airspace of each party, for the ``territorial_entry`` rule (DMA 1989 art. 1; UNCLOS art. 3).

Territories come from a GeoJSON FeatureCollection of Polygon/MultiPolygon features, each with a ``party``
property (the 12 NM line of that party). Containment is vectorised with shapely 2 (``contains_xy``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from riskline.detection.errors import RulebookError
from riskline.tracks.snapshot import BoolArray, FloatArray


@dataclass(frozen=True, slots=True)
class Territory:
    party: str
    name: str
    area: BaseGeometry
    """Polygon or MultiPolygon in lon/lat degrees (WGS-84)."""

    def contains(self, lat: FloatArray, lon: FloatArray) -> BoolArray:
        return np.asarray(shapely.contains_xy(self.area, lon, lat), dtype=bool)


def load_territories(path: Path) -> tuple[Territory, ...]:
    """Read a GeoJSON FeatureCollection; one-line ``RulebookError`` naming the file and feature on error."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulebookError(f"{path}: cannot read territories: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise RulebookError(f"{path}: territories are not valid JSON: {error.msg} at line {error.lineno}") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise RulebookError(f"{path}: territories must be a GeoJSON FeatureCollection")
    territories = []
    for index, feature in enumerate(features):
        properties = feature.get("properties") or {} if isinstance(feature, dict) else {}
        party = properties.get("party")
        if not isinstance(party, str) or not party:
            raise RulebookError(f"{path}: feature {index}: properties.party is required")
        try:
            area = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RulebookError(f"{path}: feature {index}: invalid geometry: {error}") from None
        if area.geom_type not in {"Polygon", "MultiPolygon"}:
            raise RulebookError(f"{path}: feature {index}: geometry must be a Polygon or MultiPolygon")
        shapely.prepare(area)
        territories.append(Territory(party=party, name=str(properties.get("name", party)), area=area))
    return tuple(territories)
