"""The annual review and the meeting state derivation on a busy channel's year, against plain SQL over SQLite.

Run on demand (it is not a test): ``.venv/bin/python bench/bench_review.py [--quick]``.
Prints a table and writes it as a markdown section to ``bench/out/review.md``.

The year: N entries on a bilateral channel, shaped like a busy one — hourly link tests with their replies, incident
reports (4 rules × 3 severities, every month) of which 80 % are answered, a few hazard notices, escalation notices,
and meetings with their whole life (proposal, acceptance, minutes, two approvals, an action item and its closure).
Envelopes are built in memory (the review reads parsed envelopes, as the node's thread books hold them).

- ``compute_review``: every figure of the review (``riskline.channel.review``), entries named, canonical JSON.
- ``derive_meetings`` + ``derive_actions`` alone.
- Baseline: the same year as rows of a SQLite table (in memory, indexed on ``in_reply_to``), and the few SQL
  statements a hand-written report would run: counts by type, incidents by rule/severity/month (GROUP BY), first
  reply per message by a self-join with MIN(created), medians in Python. It computes fewer figures (no party
  pairs, no escalation through notices, no entry lists), so it is a floor, not a peer doing the same work.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import best_of, machine_line, write_section
from riskline.channel.envelope import Author, Envelope, LogHead, Sender, new_envelope
from riskline.channel.meetings import derive_actions, derive_meetings
from riskline.channel.policy import ChannelKind, ChannelPolicy
from riskline.channel.review import compute_review, review_json
from riskline.channel.signing import SigningKey
from riskline.timeutil import to_iso

YEAR_START = 1_767_225_600.0  # [s] 2026-01-01T00:00:00Z
HOUR = 3_600.0  # [s]
POLICY = ChannelPolicy(id="RU-EE", kind=ChannelKind.BILATERAL, members=("RU", "EE"), agreements=())
SENDERS = {
    party: Sender(party.lower(), party, SigningKey.from_seed(party.encode() * 16).public_key) for party in ("RU", "EE")
}
RULES = ("air_intercept", "low_pass", "ship_contact_range", "non_cooperative_aircraft")
SEVERITIES = ("low", "medium", "high")


def prototype(party: str, kind: str, body: dict, created: float, **extra: object) -> Envelope:
    return new_envelope(
        channel=POLICY,
        msg_type=kind,
        body=body,
        sender=SENDERS[party],
        author=Author("bench", "duty_officer"),  # type: ignore[arg-type]
        level="duty_officer",
        language="en",
        seq=1,
        created=created,
        sender_checkpoint=LogHead(0, bytes(32)),  # type: ignore[arg-type]
        peer_checkpoint=None,
        **extra,  # type: ignore[arg-type]
    )


def incident(n: int, start: float) -> dict:
    return {
        "incident": {
            "rule": RULES[n % 4],
            "severity": SEVERITIES[n % 3],
            "a": "273000000",
            "b": "su27-1",
            "party_a": "RU",
            "party_b": "EE",
            "occurred": True,
            "start": to_iso(start),
            "end": to_iso(start + 60),
            "t_cpa": to_iso(start + 30),
            "min_distance_m": 120.0,
            "min_horizontal_m": 100.0,
            "min_vertical_m": 66.0,
            "first_alert": None,
            "lat": 59.5,
            "lon": 24.0,
        },
        "narrative": "bench",
    }


def year(entries: int) -> list[Envelope]:
    """About ``entries`` envelopes of one busy year."""
    out: list[Envelope] = []
    test = prototype("EE", "link_test", {"nonce": "x"}, YEAR_START)
    reply = prototype(
        "RU", "link_test_reply", {"nonce": "x", "received": YEAR_START}, YEAR_START, thread=test.id, in_reply_to=test.id
    )
    report = prototype("EE", "incident_report", incident(0, YEAR_START), YEAR_START)
    answer = prototype("RU", "free_text", {"text": "noted"}, YEAR_START, thread=report.id, in_reply_to=report.id)
    step = 365 * 24 * HOUR / entries  # [s] the year is filled about halfway
    t, n = YEAR_START + 1.0, 0
    while len(out) < entries - 12:
        ident = uuid.uuid4().hex
        if n % 200 == 199:
            out.extend(meeting_life(t))
        elif n % 3:
            out.append(replace(test, id=ident, thread=ident, created=t))
            out.append(replace(reply, id=uuid.uuid4().hex, thread=ident, in_reply_to=ident, created=t + 0.8))
        else:
            out.append(
                replace(report, id=ident, thread=ident, created=t, deadline=t + 86_400.0, body=incident(n, t - 600.0))
            )
            if n % 5:
                out.append(
                    replace(
                        answer, id=uuid.uuid4().hex, thread=ident, in_reply_to=ident, created=t + 3_600.0 * (n % 30)
                    )
                )
        t += step
        n += 1
    return out


def meeting_life(t: float) -> list[Envelope]:
    """A meeting's whole life: proposal, acceptance, minutes, two approvals, an action item and its closure."""
    from riskline.channel.meeting_bodies import minutes_sha256

    body = {
        "forum": "incsea-review",
        "basis": [],
        "level": "duty_officer",
        "start": to_iso(t + 86_400.0),
        "end": to_iso(t + 93_600.0),
        "timezone": "UTC",
        "place": "Tallinn",
        "participants": {"RU": [], "EE": []},
        "agenda": [{"title": "The month's encounters", "references": []}],
    }
    proposal = prototype("EE", "meeting_proposal", body, t)
    mid = proposal.id

    def reply(party: str, kind: str, reply_body: dict, dt: float, to: str = mid) -> Envelope:
        return prototype(party, kind, reply_body, t + dt, thread=mid, in_reply_to=to)

    minutes_body = {"meeting": mid, "text": "Reviewed.", "decisions": ["Keep talking."], "supersedes": None}
    minutes = reply("EE", "minutes", minutes_body, 90_000.0)
    digest = minutes_sha256(minutes.body)
    action = reply(
        "EE",
        "action_item",
        {"title": "Send the list", "owner": "RU", "due": to_iso(t + 900_000.0), "meeting": mid, "references": []},
        95_000.0,
    )
    return [
        proposal,
        reply("RU", "meeting_acceptance", {"meeting": mid, "terms": mid, "note": None}, 60.0),
        minutes,
        reply("EE", "minutes_approval", {"meeting": mid, "minutes": minutes.id, "sha256": digest}, 91_000.0),
        reply("RU", "minutes_approval", {"meeting": mid, "minutes": minutes.id, "sha256": digest}, 92_000.0),
        action,
        reply("RU", "action_done", {"action": action.id, "note": "Sent."}, 99_000.0, to=action.id),
    ]


def sqlite_baseline(envelopes: list[Envelope]) -> dict:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE m (id TEXT PRIMARY KEY, type TEXT, sender TEXT, in_reply_to TEXT, created REAL, "
        "deadline REAL, rule TEXT, severity TEXT, month TEXT)"
    )
    db.execute("CREATE INDEX m_reply ON m (in_reply_to)")
    db.executemany(
        "INSERT INTO m VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                e.id,
                str(e.type),
                e.sender.party,
                e.in_reply_to,
                e.created,
                e.deadline,
                e.body.get("incident", {}).get("rule"),
                e.body.get("incident", {}).get("severity"),
                str(e.body.get("incident", {}).get("start", ""))[:7],
            )
            for e in envelopes
        ],
    )

    def report() -> dict:
        result: dict = {"by_type": dict(db.execute("SELECT type, count(*) FROM m GROUP BY type").fetchall())}
        for column in ("rule", "severity", "month"):
            result[column] = dict(
                db.execute(
                    f"SELECT {column}, count(*) FROM m WHERE type='incident_report' GROUP BY {column}"
                ).fetchall()
            )
        rows = db.execute(
            "SELECT m.created, m.deadline, min(r.created) FROM m LEFT JOIN m r ON r.in_reply_to = m.id "
            "AND r.sender <> m.sender AND r.type IN ('free_text','clarification','incident_report') "
            "WHERE m.type='incident_report' GROUP BY m.id"
        ).fetchall()
        times = [answered - created for created, _, answered in rows if answered is not None]
        result["median"] = statistics.median(times) if times else None
        result["met"] = sum(1 for c, d, a in rows if a is not None and a <= d) / max(len(rows), 1)
        return result

    seconds, _ = best_of(report)
    db.close()
    return {"seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 entries only")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [10_000, 100_000]
    rows = []
    for size in sizes:
        envelopes = year(size)
        review_s, review = best_of(lambda e=envelopes: compute_review(e, year=2026, channels=["RU-EE"]))
        json_s, data = best_of(lambda r=review: review_json(r))
        derive_s, _ = best_of(lambda e=envelopes: (derive_meetings(e), derive_actions(e)))
        base = sqlite_baseline(envelopes)
        rows.append((len(envelopes), review_s, json_s, derive_s, base["seconds"], len(data)))
        assert json.loads(data)["entries"]["count"] == len(envelopes)
    lines = [
        "## bench_review.py",
        "",
        machine_line(),
        "",
        "| entries | compute_review | canonical JSON | derive meetings+actions | SQL floor (fewer figures) "
        "| review / SQL | JSON size |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count, review_s, json_s, derive_s, base_s, size in rows:
        lines.append(
            f"| {count:,} | {review_s * 1e3:,.0f} ms | {json_s * 1e3:,.0f} ms | {derive_s * 1e3:,.1f} ms | "
            f"{base_s * 1e3:,.0f} ms | {review_s / base_s:.1f}× | {size / 1e6:.1f} MB |"
        )
    write_section("review", "\n".join(lines))


if __name__ == "__main__":
    main()
