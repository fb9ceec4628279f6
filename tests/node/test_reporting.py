"""Incident → report: the body built from the stored incident, the plot attached by hash and fetched by the
receiver (hash checked before it is kept), and every way it can go wrong named, never dropped.

The nodes run in-process (their real ASGI apps through ``httpx.ASGITransport``); the incident is a real one
(29 April 2016, a Su-27 intercepting an RC-135 over the Baltic, shared/domain/incidents.csv) rebuilt and
watched into EE's node database exactly as ``riskline watch --node`` does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.channel.canonical import canonical_json
from riskline.channel.envelope import MAX_ATTACHMENT_SIZE, SignedEnvelope
from riskline.channel.messages import InvalidField, MessageType, validate_body
from riskline.channel.protocol import prepare_delivery
from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Evidence
from riskline.incidents.report import encounter_json
from riskline.node import views
from riskline.node.app import create_app
from riskline.node.attachments import Fetcher, FetchOutcome, attachment_path, attachment_states, read_attachment
from riskline.node.errors import UnknownChannel
from riskline.node.local import LocalNode
from riskline.node.messaging import attachment_from_file
from riskline.node.reporting import AlreadyReported, EmptyEvidence, encounter_from_report, report_incident
from riskline.scenarios.incidents import load_incidents, reconstruct
from riskline.storage import channel_store as store
from riskline.storage import report_store
from riskline.storage.watch_run import RecordedRun
from riskline.storage.watch_store import WatchStore, evidence_to_json
from riskline.testing.nodes import InProcess, in_process_url
from riskline.tracks.segment import TrackSegment
from riskline.watch import Watch


def watch_intercept(node: LocalNode, domain_dir: Path) -> list[int]:
    """Watch the rebuilt 2016-04-29 intercept into the node's database; the stored incident ids."""
    [row] = [r for r in load_incidents(domain_dir / "incidents.csv") if r.date == "2016-04-29"]
    scenario = reconstruct(row).scenario
    assert scenario is not None
    watch = Watch(load_rulebook())
    run = RecordedRun(node.database, ["2016-04-29 reconstruction"], watch)
    try:
        for observation in scenario.observations:
            run.record(watch.feed(observation))
        run.record(watch.finish())
    finally:
        run.close()
    return run.outcome.incident_ids


def intercept_id(node: LocalNode, domain_dir: Path) -> int:
    ids = watch_intercept(node, domain_dir)
    stored = [WatchStore(node.database).get_incident(i) for i in ids]
    return next(s.id for s in stored if s.encounter.rule == "air_intercept")


def log_size(node: LocalNode) -> int:
    with node.database.read() as connection:
        return store.log_size(connection)


def fetch(receiver: LocalNode, pair: InProcess, wrap: Callable[[httpx.Response], httpx.Response] | None = None
          ) -> list[FetchOutcome]:
    apps = {in_process_url(node): create_app(node) for node in pair.nodes.values()}

    class Tampering(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if wrap is None:
                return response
            await response.aread()
            return wrap(response)

    def transport(url: str) -> httpx.AsyncBaseTransport:
        return Tampering(httpx.ASGITransport(app=apps[url.rstrip("/")]))

    async def run() -> list[FetchOutcome]:
        fetcher = Fetcher(receiver, transport_factory=transport)
        try:
            return await fetcher.fetch_due(force=True)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())


def test_the_report_carries_the_stored_incident_its_rule_and_its_evidence(pair: InProcess, domain_dir: Path) -> None:
    ee = pair["EE"]
    incident_id = intercept_id(ee, domain_dir)
    stored = WatchStore(ee.database).get_incident(incident_id)
    report = report_incident(ee, incident_id, channel="RU-EE", narrative="Su-27 barrel roll over the RC-135.")
    body = report.sent.envelope.envelope.body
    assert body["incident"] == encounter_json(stored.encounter)
    assert body["evidence"] == evidence_to_json(stored.encounter.evidence)  # type: ignore[arg-type]
    assert body["rule_source"] == stored.encounter.details["source"]
    assert body["rule_mark"] == stored.encounter.details["mark"]
    assert (body["incident_id"], body["narrative"]) == (incident_id, "Su-27 barrel roll over the RC-135.")
    assert report.fixes_a == report.fixes_b == report.separation_samples == 361
    [plot] = report.sent.envelope.envelope.attachments
    assert (plot.name, plot.media_type) == (f"incident-{incident_id}.png", "image/png")
    kept = attachment_path(ee, plot.sha256).read_bytes()
    assert kept.startswith(b"\x89PNG")
    assert hashlib.sha256(kept).hexdigest() == plot.sha256
    with ee.database.read() as connection:
        assert report_store.incident_of_report(connection, report.sent.envelope.id) == incident_id
        assert store.message(connection, report.sent.envelope.id) is not None


def test_the_receiver_fetches_the_plot_by_hash_and_keeps_it_once_checked(pair: InProcess, domain_dir: Path) -> None:
    ee, ru = pair["EE"], pair["RU"]
    report = report_incident(ee, intercept_id(ee, domain_dir), channel="RU-EE")
    pair.deliver("EE")
    [pending] = attachment_states(ru, report.sent.envelope.id)
    assert (pending.state, pending.peer, pending.attempts) == ("pending", "ee-mod", 0)
    [outcome] = fetch(ru, pair)
    assert (outcome.state, outcome.error) == ("fetched", None)
    assert report.plot is not None
    assert read_attachment(ru, report.plot.sha256) == read_attachment(ee, report.plot.sha256)
    [fetched] = attachment_states(ru, report.sent.envelope.id)
    assert (fetched.state, fetched.attempts) == ("fetched", 1)
    assert fetch(ru, pair) == []  # nothing pending any more


def test_bytes_that_do_not_match_the_signed_hash_are_not_kept_and_shown_as_mismatch(
    pair: InProcess, domain_dir: Path
) -> None:
    ee, ru = pair["EE"], pair["RU"]
    report = report_incident(ee, intercept_id(ee, domain_dir), channel="RU-EE")
    pair.deliver("EE")

    def swap_bytes(response: httpx.Response) -> httpx.Response:
        altered = bytearray(response.content)
        altered[-1] ^= 0xFF
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(altered))

    [outcome] = fetch(ru, pair, wrap=swap_bytes)
    assert outcome.state == "mismatch"
    assert outcome.error is not None
    assert "not the" in outcome.error
    assert "nothing kept" in outcome.error
    assert report.plot is not None
    assert not attachment_path(ru, report.plot.sha256).exists()
    [shown] = attachment_states(ru, report.sent.envelope.id)
    assert shown.state == "mismatch"
    [entry] = views.thread(ru, report.sent.envelope.id)
    [listed] = entry.attachments
    assert (listed["name"], listed["state"]) == (report.plot.name, "mismatch")
    assert listed["error"] == outcome.error


def test_an_attachment_the_sender_no_longer_holds_is_shown_missing(pair: InProcess, domain_dir: Path) -> None:
    ee, ru = pair["EE"], pair["RU"]
    report = report_incident(ee, intercept_id(ee, domain_dir), channel="RU-EE")
    pair.deliver("EE")
    assert report.plot is not None
    attachment_path(ee, report.plot.sha256).unlink()
    [outcome] = fetch(ru, pair)
    assert outcome.state == "missing"
    assert outcome.error == f"{in_process_url(ee)} has no such attachment (404)"


def test_the_sender_serves_an_attachment_only_for_a_message_that_lists_it(pair: InProcess, domain_dir: Path) -> None:
    ee = pair["EE"]
    report = report_incident(ee, intercept_id(ee, domain_dir), channel="RU-EE")
    assert report.plot is not None
    good = f"/v1/channels/RU-EE/messages/{report.sent.envelope.id}/attachments/{report.plot.sha256}"
    assert pair.get("EE", good).content == read_attachment(ee, report.plot.sha256)
    other_hash = good.replace(report.plot.sha256, "0" * 64)
    assert pair.get("EE", other_hash).status_code == 404
    other_message = good.replace(report.sent.envelope.id, "f" * 32)
    assert pair.get("EE", other_message).status_code == 404
    assert pair.get("EE", good.replace("RU-EE", "NRC")).status_code == 404


def test_an_incident_with_no_evidence_is_never_sent_silently(pair: InProcess, domain_dir: Path) -> None:
    ee = pair["EE"]
    incident_id = intercept_id(ee, domain_dir)
    stored = WatchStore(ee.database).get_incident(incident_id)
    [empty_id] = WatchStore(ee.database).save_encounters(stored.run_id, [replace(stored.encounter, evidence=None)])
    before = log_size(ee)
    with pytest.raises(EmptyEvidence) as refused:
        report_incident(ee, empty_id, channel="RU-EE")
    assert str(refused.value) == (
        f"incident {empty_id} has no track evidence (id:d0-rc-135: 0 fixes, id:d0-su-27: 0 fixes); nothing sent — "
        "report it with --without-evidence to send it anyway"
    ).replace("id:d0-rc-135", stored.encounter.a).replace("id:d0-su-27", stored.encounter.b)
    assert log_size(ee) == before
    sent = report_incident(ee, empty_id, channel="RU-EE", without_evidence=True)
    envelope = sent.sent.envelope.envelope
    assert (envelope.body["evidence"], envelope.attachments, sent.plot) == (None, (), None)
    assert envelope.body["narrative"].endswith("No track evidence was recorded for this incident; no plot is attached.")


def test_a_second_report_of_the_same_incident_needs_again(pair: InProcess, domain_dir: Path) -> None:
    ee = pair["EE"]
    incident_id = intercept_id(ee, domain_dir)
    first = report_incident(ee, incident_id, channel="RU-EE")
    with pytest.raises(AlreadyReported, match=f"already reported on RU-EE \\(message {first.sent.envelope.id[:12]}\\)"):
        report_incident(ee, incident_id, channel="RU-EE")
    second = report_incident(ee, incident_id, channel="RU-EE", again=True)
    with ee.database.read() as connection:
        reports = report_store.reports_of_incident(connection, incident_id)
    assert sorted(r.envelope_id for r in reports) == sorted([first.sent.envelope.id, second.sent.envelope.id])


def test_bad_channel_and_level_are_refused_before_anything_is_signed(pair: InProcess, domain_dir: Path) -> None:
    ee = pair["EE"]
    incident_id = intercept_id(ee, domain_dir)
    before = log_size(ee)
    with pytest.raises(UnknownChannel):
        report_incident(ee, incident_id, channel="XX-YY")
    with pytest.raises(InvalidField, match=r"^level: unknown level of contact 'general'; channel RU-EE allows"):
        report_incident(ee, incident_id, channel="RU-EE", level="general")
    assert log_size(ee) == before


def test_an_attachment_larger_than_the_limit_is_refused_naming_the_field(pair: InProcess, tmp_path: Path) -> None:
    big = tmp_path / "sonar.wav"
    with big.open("wb") as file:
        file.truncate(MAX_ATTACHMENT_SIZE + 1)
    with pytest.raises(InvalidField) as refused:
        attachment_from_file(pair["EE"], big)
    assert str(refused.value) == (
        "attachments.0.size: sonar.wav: 16,777,217 bytes is larger than the limit of 16,777,216 bytes (16 MiB)"
    )
    assert not (pair["EE"].paths.root / "attachments").exists()


def test_the_receiver_answers_422_to_an_envelope_declaring_an_oversize_attachment_and_keeps_nothing(
    pair: InProcess, domain_dir: Path
) -> None:
    ee, ru = pair["EE"], pair["RU"]
    report = report_incident(ee, intercept_id(ee, domain_dir), channel="RU-EE")
    with ee.writing() as connection:
        entry = store.log_entry_by_envelope(connection, report.sent.envelope.id)
        assert entry is not None
        head = ee.head(connection)
    delivery: dict[str, Any] = prepare_delivery(
        envelope=SignedEnvelope.from_leaf(entry.data), index=entry.index, tree=ee.tree, checkpoint=head,
        cosigned_size=0,
    ).to_wire()
    delivery["envelope"]["attachments"][0]["size"] = MAX_ATTACHMENT_SIZE + 1
    before = log_size(ru)
    response = pair.post("RU", "/v1/channels/RU-EE/envelopes", delivery)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "envelope.attachments.0.size"
    assert "larger than the limit of 16,777,216 bytes" in response.json()["error"]["message"]
    assert log_size(ru) == before
    assert attachment_states(ru, report.sent.envelope.id) == []



def test_more_bytes_than_were_signed_are_cut_off_and_shown_too_large(pair: InProcess, domain_dir: Path) -> None:
    ee, ru = pair["EE"], pair["RU"]
    report = report_incident(ee, intercept_id(ee, domain_dir), channel="RU-EE")
    pair.deliver("EE")

    def pad(response: httpx.Response) -> httpx.Response:
        return httpx.Response(response.status_code, headers={"content-type": "image/png"},
                              content=response.content + b"\0" * 1024)

    [outcome] = fetch(ru, pair, wrap=pad)
    assert report.plot is not None
    assert (outcome.state, outcome.error) == (
        "too_large", f"{in_process_url(ee)} sent more than the {report.plot.size:,} bytes signed"
    )
    assert not attachment_path(ru, report.plot.sha256).exists()


segments = st.integers(0, 40).flatmap(
    lambda n: st.tuples(*[st.lists(st.floats(-1e10, 1e10, allow_nan=False), min_size=n, max_size=n)] * 4)
)


@given(segments, segments, st.booleans())
def test_evidence_comes_back_equal_from_a_checked_report_body(
    a: tuple[list[float], ...], b: tuple[list[float], ...], single: bool
) -> None:
    evidence = Evidence(
        segment_a=TrackSegment("mmsi:273000001", *map(tuple, a)),
        segment_b=None if single else TrackSegment("mmsi:276000002", *map(tuple, b)),
        separation_t=tuple(a[0]),
        separation_m=tuple(abs(x) for x in a[1]),
    )
    incident = {"rule": "ship_contact_range", "severity": "low", "a": "mmsi:273000001", "b": "mmsi:276000002",
                "party_a": "RU", "party_b": "EE", "occurred": True, "start": "2016-04-12T20:00:00Z",
                "end": "2016-04-12T20:05:00Z", "t_cpa": "2016-04-12T20:02:00.250Z", "min_distance_m": 3000.0,
                "min_horizontal_m": 3000.0, "min_vertical_m": None, "first_alert": None, "lat": 59.5, "lon": 24.5}
    body = validate_body(MessageType.INCIDENT_REPORT,
                         {"incident": incident, "evidence": evidence_to_json(evidence), "narrative": "n"}, created=0.0)
    received = encounter_from_report(json.loads(canonical_json(body)))
    assert received.evidence == evidence
    assert received.t_cpa == 1460491320.25
