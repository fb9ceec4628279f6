"""Incident → report: what reporting a stored incident costs, and what fetching its plot by hash costs.

Run on demand (it is not a test): ``.venv/bin/python bench/bench_reporting.py [--quick]``.
Prints a table and writes it as a markdown section to ``bench/out/reporting.md``.

1. ``report_incident`` on a real incident (the 29 April 2016 Su-27 intercept of an RC-135, rebuilt from
   shared/domain/incidents.csv and watched into the node's database): read the stored incident and its
   361 + 361 fixes, build the body, draw the plot (matplotlib, Agg), keep it by hash, sign, log and queue — one
   transaction. Baseline: what the demo did before issue 6, ``send`` of an ``incident_report`` whose body is
   only the watch's JSON (no evidence, no plot), in the same node. Median of N reports each.
2. Fetching an attachment of 16 MiB (the limit) from the sender: ours (``Fetcher``: streamed, capped at the
   signed size, SHA-256 checked, written to a temporary file, fsync, rename) against a plain GET of the same
   endpoint into memory (no check, nothing written). Both through the sender's real ASGI app in process
   (``httpx.ASGITransport``), so the figure is the node's work, not the network's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_line, shared_dir, write_section
from riskline.channel.envelope import MAX_ATTACHMENT_SIZE
from riskline.channel.messages import MessageType
from riskline.detection.rulebook import load_rulebook
from riskline.incidents.report import encounter_json
from riskline.node.app import create_app
from riskline.node.attachments import Fetcher, keep_attachment
from riskline.node.messaging import Outgoing, send
from riskline.node.reporting import report_incident
from riskline.scenarios.incidents import load_incidents, reconstruct
from riskline.storage.engine import Database
from riskline.storage.watch_run import RecordedRun
from riskline.storage.watch_store import WatchStore
from riskline.testing.nodes import in_process_url, make_nodes
from riskline.watch import Watch


def watch_intercept(database: Database) -> int:
    [row] = [r for r in load_incidents(shared_dir() / "domain" / "incidents.csv") if r.date == "2016-04-29"]
    scenario = reconstruct(row).scenario
    assert scenario is not None
    watch = Watch(load_rulebook())
    run = RecordedRun(database, ["2016-04-29"], watch)
    try:
        for observation in scenario.observations:
            run.record(watch.feed(observation))
        run.record(watch.finish())
    finally:
        run.close()
    ids = run.outcome.incident_ids
    return next(i for i, e in zip(ids, run.outcome.encounters, strict=True) if e.rule == "air_intercept")


def timed(fn: object, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args()
    repeat = 5 if args.quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        pair = make_nodes(Path(tmp), time.time)
        ee, ru = pair["EE"], pair["RU"]
        incident_id = watch_intercept(ee.database)
        encounter = WatchStore(ee.database).get_incident(incident_id).encounter

        ours = timed(lambda: report_incident(ee, incident_id, channel="RU-EE", again=True), repeat)
        bare = timed(lambda: send(ee, Outgoing(MessageType.INCIDENT_REPORT, "RU-EE", {
            "incident": encounter_json(encounter), "narrative": "n"})), repeat)

        data = os.urandom(MAX_ATTACHMENT_SIZE)
        attachment = keep_attachment(ee, "big.bin", data, "application/octet-stream")
        sent = send(ee, Outgoing(MessageType.FREE_TEXT, "RU-EE", {"text": "16 MiB"}, attachments=(attachment,)))
        pair.deliver("EE")
        app = create_app(ee)
        url = f"/v1/channels/RU-EE/messages/{sent.envelope.id}/attachments/{attachment.sha256}"
        fetch_times: list[float] = []
        plain_times: list[float] = []

        async def fetch_all() -> None:  # the plots of the reports above, so that each pass below fetches one thing
            fetcher = Fetcher(ru, transport_factory=lambda _url: httpx.ASGITransport(app=app))
            try:
                await fetcher.fetch_due(force=True)
            finally:
                await fetcher.aclose()

        asyncio.run(fetch_all())
        kept = ru.paths.root / "attachments" / attachment.sha256
        for _ in range(max(3, repeat // 5)):
            kept.unlink(missing_ok=True)
            with ru.writing() as connection:
                connection.exec_driver_sql(
                    "UPDATE attachment_fetches SET state = 'pending', attempts = 0 WHERE sha256 = ?",
                    (attachment.sha256,),
                )

            async def fetch() -> None:
                fetcher = Fetcher(ru, transport_factory=lambda _url: httpx.ASGITransport(app=app))
                try:
                    [outcome] = await fetcher.fetch_due(force=True)
                    assert outcome.state == "fetched", outcome
                finally:
                    await fetcher.aclose()

            async def plain() -> None:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url=in_process_url(ee)) as client:
                    response = await client.get(url)
                    assert len(response.content) == len(data)

            fetch_times += timed(lambda: asyncio.run(fetch()), 1)
            plain_times += timed(lambda: asyncio.run(plain()), 1)
        pair.close()

    def ms(values: list[float]) -> str:
        low, high = min(values) * 1000, max(values) * 1000
        return f"{statistics.median(values) * 1000:,.1f} ms (min {low:,.1f}, max {high:,.1f})"

    rate = MAX_ATTACHMENT_SIZE / statistics.median(fetch_times) / 2**20
    text = "\n".join([
        "## bench_reporting.py — incident → report",
        "",
        machine_line(),
        f"- {repeat} reports of each kind; {len(fetch_times)} fetches of a 16 MiB attachment",
        "",
        "| what | median (min, max) | ratio |",
        "|---|---|---|",
        f"| `report_incident` (body from the stored incident, 361+361 fixes, plot drawn and kept, signed, queued) "
        f"| {ms(ours)} | {statistics.median(ours) / statistics.median(bare):.1f}× the bare send |",
        f"| bare `send` of the watch JSON only (the demo before issue 6) | {ms(bare)} | 1 |",
        f"| fetch 16 MiB: stream, cap, SHA-256, fsync, rename (`Fetcher`) | {ms(fetch_times)} | "
        f"{statistics.median(fetch_times) / statistics.median(plain_times):.2f}× the plain GET ({rate:,.0f} MiB/s) |",
        f"| plain GET of the same bytes into memory | {ms(plain_times)} | 1 |",
    ])
    write_section("reporting", text)


if __name__ == "__main__":
    main()
