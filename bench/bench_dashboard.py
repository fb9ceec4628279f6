"""The dashboard, measured in headless chromium: 10,000 live platforms on the map, frames and update latency.

    .venv/bin/python bench/bench_dashboard.py [--platforms 10000] [--seconds 20] [--quick]

A read-only dashboard (no node) is served on loopback; a feeder moves a synthetic population (the detection
bench's: uniform over the Baltic, 20 % aircraft, 10 % military, four parties) and publishes one frame a second,
as the watch does at most (frames are coalesced to the newest one). Debian's chromium (software WebGL,
SwiftShader, on this machine's CPU) shows the page while the map is panned continuously, one step per
animation frame, so that every update lands during an interaction. Measured:

* frames per second the page renders while panning (requestAnimationFrame, per one-second window);
* update latency: from the moment the page receives a frame (Server-Sent Event) to the moment the map has
  rendered it; and end to end, from the server publishing it (wall clock on the same machine) to that render;
* the size of one frame message.

Baseline, the way many pages draw targets (and what tar1090 moved away from): one DOM marker per platform
(``maplibregl.Marker``), moved on each update, at the same frame rate, for a smaller population, since a DOM
marker per target does not reach 10,000.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_detection import population
from common import machine_line, write_section
from riskline.node.config import ListenAddress
from riskline.storage.engine import open_database
from riskline.tracks.snapshot import Snapshot
from riskline.web.backend import Dashboard
from riskline.web.live import frame_from_snapshot
from riskline.web.server import DashboardServer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]

PAN_AND_COUNT = """async (seconds) => {
  const map = window.rl.map, windows = [];
  let frames = 0, windowStart = performance.now();
  const started = performance.now(), received = window.rl.stats.received;
  window.rl.stats.latencies.length = 0;
  window.rl.stats.endToEnd.length = 0;
  await new Promise((done) => {
    function step(now) {
      frames += 1;
      if (now - windowStart >= 1000) {
        windows.push(frames * 1000 / (now - windowStart)); frames = 0; windowStart = now;
      }
      map.panBy([3, 1], { duration: 0 });
      if (now - started < seconds * 1000) requestAnimationFrame(step); else done();
    }
    requestAnimationFrame(step);
  });
  return { fps: windows, latencies: window.rl.stats.latencies.slice(), endToEnd: window.rl.stats.endToEnd.slice(),
           received: window.rl.stats.received - received };
}"""

DOM_BASELINE = """async ([frames, seconds]) => {
  const map = window.rl.map, markers = new Map(), windows = [], latencies = [];
  let count = 0, windowStart = performance.now(), index = 0;
  const started = performance.now();
  function apply(frame) {
    const t0 = performance.now();
    for (let i = 0; i < frame.ids.length; i++) {
      let marker = markers.get(frame.ids[i]);
      if (!marker) {
        const el = document.createElement('div');
        el.style.cssText = 'width:6px;height:6px;background:#4da3ff;border-radius:3px';
        marker = new maplibregl.Marker({ element: el }).setLngLat([frame.lon[i], frame.lat[i]]).addTo(map);
        markers.set(frame.ids[i], marker);
      } else marker.setLngLat([frame.lon[i], frame.lat[i]]);
    }
    requestAnimationFrame(() => latencies.push(performance.now() - t0));
  }
  const timer = setInterval(() => apply(frames[index++ % frames.length]), 1000);
  apply(frames[index++]);
  await new Promise((done) => {
    function step(now) {
      count += 1;
      if (now - windowStart >= 1000) { windows.push(count * 1000 / (now - windowStart)); count = 0; windowStart = now; }
      map.panBy([3, 1], { duration: 0 });
      if (now - started < seconds * 1000) requestAnimationFrame(step); else done();
    }
    requestAnimationFrame(step);
  });
  clearInterval(timer);
  for (const m of markers.values()) m.remove();
  return { fps: windows, latencies };
}"""


def moved(snapshot: Snapshot, dt: float) -> Snapshot:
    """Every platform dead-reckoned ``dt`` [s] further (flat-earth step; good enough to move pixels)."""
    lat = snapshot.lat + snapshot.v_north * dt / 111_200.0
    lon = snapshot.lon + snapshot.v_east * dt / (111_300.0 * np.cos(np.radians(snapshot.lat)))
    return replace(snapshot, t=snapshot.t + dt, lat=lat, lon=lon, t_fix=np.full(len(snapshot), snapshot.t + dt))


def feeder(dashboard: Dashboard, snapshot: Snapshot, stop: threading.Event, sizes: list[int]) -> None:
    while not stop.is_set():
        snapshot = moved(snapshot, 1.0)
        frame = frame_from_snapshot(snapshot)
        data = {**frame.to_json(), "sent_ms": time.time() * 1000.0}
        sizes.append(len(json.dumps(data, separators=(",", ":"))))
        dashboard.picture.update(frame, ())
        dashboard.events.publish("frame", data)
        stop.wait(1.0)


def summary(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def measure(platforms: int, seconds: float, dom_platforms: int) -> str:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        database = open_database(Path(folder) / "bench.db")
        dashboard = Dashboard(database, title="bench")
        server = DashboardServer(dashboard, ListenAddress("127.0.0.1", 0))
        url = server.start()
        stop, sizes = threading.Event(), []
        snapshot = population(platforms).snapshot
        thread = threading.Thread(target=feeder, args=(dashboard, snapshot, stop, sizes), daemon=True)
        load = os.getloadavg()[0]
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1600, "height": 900})
                page.goto(url)
                page.wait_for_function("() => window.rl && window.rl.ready", timeout=120_000)
                page.evaluate("() => window.rl.map.jumpTo({center: [20, 58], zoom: 4.2})")
                empty = page.evaluate(PAN_AND_COUNT, seconds / 2)  # the same page and map, no platforms
                thread.start()
                page.wait_for_function("() => window.rl.stats.frames > 1", timeout=120_000)
                page.evaluate("() => window.rl.map.jumpTo({center: [20, 58], zoom: 4.2})")
                shown = page.evaluate(
                    "() => new Promise((done) => window.rl.map.once('render', () => done("
                    "window.rl.map.queryRenderedFeatures({layers: ['platforms', 'platforms-civil']}).length)))")
                ours = page.evaluate(PAN_AND_COUNT, seconds)
                stop.set()
                small = population(dom_platforms).snapshot
                frames = [frame_from_snapshot(moved(small, float(k))).to_json() for k in range(1, 4)]
                page.evaluate("() => window.rl.map.getSource('platforms').setData({type: 'FeatureCollection', "
                              "features: []})")
                dom = page.evaluate(DOM_BASELINE, [frames, seconds])
                browser.close()
        finally:
            stop.set()
            server.stop()
            database.close()
    fps, _ = summary(ours["fps"])
    empty_fps, _ = summary(empty["fps"])
    update, update95 = summary(ours["latencies"])
    e2e, e2e95 = summary(ours["endToEnd"])
    dom_fps, _ = summary(dom["fps"])
    dom_update, dom_update95 = summary(dom["latencies"])
    size = statistics.median(sizes) if sizes else math.nan
    low_fps = sorted(ours["fps"])[max(0, int(0.05 * len(ours["fps"])) - 1)] if ours["fps"] else math.nan
    lines = [
        "## bench_dashboard.py",
        "",
        machine_line(),
        f"- Browser: Debian chromium, headless, software WebGL (SwiftShader); {seconds:.0f} s of continuous panning",
        f"- Load average when the run started: {load:.1f} on {os.cpu_count()} cores (a shared machine)",
        "",
        "| what | platforms | frames/s while panning (median, worst 5 %) | update: received → rendered (median, p95) "
        "| end to end: published → rendered (median, p95) | frame message |",
        "|---|---:|---:|---:|---:|---:|",
        f"| riskline: WebGL layers, one batched update per frame | {platforms:,} (rendered {shown:,}) | "
        f"{fps:.1f}, {low_fps:.1f} | {update:.0f} ms, {update95:.0f} ms | {e2e:.0f} ms, {e2e95:.0f} ms | "
        f"{size / 1e3:.0f} kB |",
        f"| baseline: one DOM marker per platform | {dom_platforms:,} | {dom_fps:.1f} | {dom_update:.0f} ms, "
        f"{dom_update95:.0f} ms | — | — |",
        f"| reference: the same map with no platforms | 0 | {empty_fps:.1f} | — | — | — |",
        "",
        f"Frames received by the page: {ours['received']} of one a second for {seconds:.0f} s. With "
        f"{platforms:,} platforms the page keeps {fps / empty_fps:.0%} of the frame rate of the empty map.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Dashboard frames and update latency in headless chromium.")
    parser.add_argument("--platforms", type=int, default=10_000)
    parser.add_argument("--dom-platforms", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="1,000 platforms for 5 s: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.platforms, args.dom_platforms, args.seconds = 1_000, 200, 5.0
    write_section("bench_dashboard", measure(args.platforms, args.seconds, args.dom_platforms))


if __name__ == "__main__":
    main()
