"""Refresh the dashboard's vendored assets from npm packages (run from the repository root, with network).

    python tools/vendor_dashboard_assets.py [--maplibre 5.24.1] [--world-atlas 2.0.2]

* ``maplibre-gl`` (BSD-3-Clause): the CSP build (``dist/maplibre-gl-csp.js`` and its worker, minified) and
  the stylesheet, with ``LICENSE.txt``, into ``src/riskline/web/static/vendor/maplibre-gl/``. The CSP build
  loads its worker from a same-origin URL, so the page needs no ``blob:`` in its Content-Security-Policy.
* ``world-atlas`` (Natural Earth, public domain): ``land-50m.json`` (TopoJSON) decoded to GeoJSON, every
  ring cut at the antimeridian (a plane map draws a ring that crosses ±180° as a band across the world),
  coordinates rounded to 0.001° (about 110 m), into ``src/riskline/web/static/basemap/land-50m.geojson``.

Only ``npm pack`` touches the network; the product itself never does. docs/dashboard.md records the versions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Polygon, box, mapping
from shapely.geometry.polygon import orient

STATIC = Path(__file__).resolve().parent.parent / "src" / "riskline" / "web" / "static"


def npm_pack(package: str, version: str, into: Path) -> Path:
    subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=into, check=True, capture_output=True)
    archive = next(into.glob(f"{package}-{version}.tgz"))
    target = into / package
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat of every arc (TopoJSON arcs are quantised and delta-encoded)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def unwrap(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Longitudes made continuous (no jump over 180°), so a ring crossing the antimeridian stays one piece."""
    out = [points[0]]
    offset = 0.0
    for (lon0, _), (lon1, lat1) in zip(points, points[1:], strict=False):
        step = lon1 - lon0
        if step > 180:
            offset -= 360
        elif step < -180:
            offset += 360
        out.append((lon1 + offset, lat1))
    return out


def shell_polygon(points: list[tuple[float, float]]) -> Polygon:
    unwrapped = unwrap(points)
    drift = unwrapped[-1][0] - unwrapped[0][0]
    if abs(drift) > 180:  # the ring goes round the pole (Antarctica): close it along the pole
        pole = -90.0 if min(lat for _, lat in points) < 0 else 90.0
        unwrapped = [*unwrapped, (unwrapped[-1][0], pole), (unwrapped[0][0], pole)]
    return Polygon(unwrapped)


def split_polygon(rings: list[list[tuple[float, float]]]) -> list[Polygon]:
    shell = shell_polygon(rings[0])
    west, _, east, _ = shell.bounds
    holes = []
    for hole in rings[1:]:
        hole = unwrap(hole)
        shift = 360.0 * round(((west + east) / 2 - hole[0][0]) / 360.0)
        holes.append([(lon + shift, lat) for lon, lat in hole])
    polygon = shapely.make_valid(Polygon(shell.exterior.coords, holes))
    pieces: list[Polygon] = []
    for turn in (-1, 0, 1):
        window = box(-180 + 360 * turn, -90, 180 + 360 * turn, 90)
        part = shapely.affinity.translate(polygon.intersection(window), xoff=-360 * turn)
        for geometry in getattr(part, "geoms", [part]):
            if isinstance(geometry, Polygon) and not geometry.is_empty and geometry.area > 0:
                pieces.append(orient(geometry, 1.0))
    return pieces


def land_geojson(topology: dict[str, Any]) -> dict[str, Any]:
    arcs = decode_arcs(topology)
    polygons: list[Polygon] = []
    for geometry in topology["objects"]["land"]["geometries"]:
        if geometry["type"] == "Polygon":
            parts = [geometry["arcs"]]
        elif geometry["type"] == "MultiPolygon":
            parts = geometry["arcs"]
        else:
            continue
        for part in parts:
            polygons.extend(split_polygon([ring(r, arcs) for r in part]))
    features = []
    for polygon in polygons:
        rounded = shapely.set_precision(polygon, 0.001)
        if rounded.is_empty:
            continue
        features.append({"type": "Feature", "properties": {}, "geometry": mapping(rounded)})
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maplibre", default="5.24.1")
    parser.add_argument("--world-atlas", default="2.0.2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        maplibre = npm_pack("maplibre-gl", args.maplibre, Path(work))
        vendor = STATIC / "vendor" / "maplibre-gl"
        vendor.mkdir(parents=True, exist_ok=True)
        for name in ("maplibre-gl-csp.js", "maplibre-gl-csp-worker.js", "maplibre-gl.css", "LICENSE.txt"):
            shutil.copyfile(maplibre / "dist" / name, vendor / name)
        (vendor / "VERSION").write_text(f"maplibre-gl {args.maplibre} (npm)\n", encoding="utf-8")
        atlas = npm_pack("world-atlas", args.world_atlas, Path(work))
        basemap = STATIC / "basemap"
        basemap.mkdir(parents=True, exist_ok=True)
        topology = json.loads((atlas / "land-50m.json").read_text(encoding="utf-8"))
        geojson = land_geojson(topology)
        (basemap / "land-50m.geojson").write_text(json.dumps(geojson, separators=(",", ":")), encoding="utf-8")
        shutil.copyfile(atlas / "LICENSE", basemap / "LICENSE-world-atlas")
        (basemap / "VERSION").write_text(
            f"world-atlas {args.world_atlas} (npm): land-50m.json, Natural Earth 1:50m land, public domain\n",
            encoding="utf-8",
        )
    print(f"vendored maplibre-gl {args.maplibre} and world-atlas {args.world_atlas} into {STATIC}")


if __name__ == "__main__":
    main()
