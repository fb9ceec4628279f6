"""The annual review of a channel, computed from its cosigned log alone (docs/dialogue.md, "The annual review").

INCSEA agreements are reviewed every year by both parties, encounter by encounter (REGIMES.md §7, "Meetings").
A review nobody can dispute is one both ends compute from the same entries: every figure here is a pure function
of the envelopes given (their signed contents — types, bodies, senders, ``created`` and ``deadline`` times on
the senders' clocks), never of when this node happened to log them, its clock or its configuration. Given the
entries of one channel that both nodes hold (``node.dialogue.cosigned_envelopes``), both nodes compute the same
figures, and ``review_json`` serialises them as RFC 8785 canonical JSON: byte for byte the same.

Each figure names the entries (message ids) it was computed from. The year is the UTC calendar year of an
entry's ``created``; a message of the year is followed to its answer even when the answer came in January.

- incidents: ``incident_report`` by rule, severity, party pair and month;
- responses: per message type with a deadline, the first answer of each party that owed one (``messages.answers``,
  through escalation notices too) — median and 90th percentile of the response time, share within the deadline
  the sender set; unanswered counts as not met;
- escalations: ``escalation_notice`` by the level reached, and the council meetings the ladder proposed;
- link tests: share answered and round trip;
- notices: ``hazard_notice`` lead times, share given 3 days ahead (INCSEA art. VI);
- meetings by level and state; action items open, closed and overdue at the end of the year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from riskline.channel.canonical import canonical_json, sha256_hex
from riskline.channel.envelope import Envelope, SignedEnvelope
from riskline.channel.errors import ChannelError
from riskline.channel.meeting_bodies import iso_seconds
from riskline.channel.meetings import derive_actions, derive_meetings
from riskline.channel.messages import HAZARD_NOTICE_MIN_LEAD_S, MessageType, answers

REVIEW_FORMAT = 1


class NoReviewData(ChannelError):
    """The channel's log holds nothing for the year asked (whose fault: the request)."""

    http_status = 404


def year_bounds(year: int) -> tuple[float, float]:
    """[s] POSIX of 1 January of ``year`` and of the next year, UTC."""
    return (datetime(year, 1, 1, tzinfo=UTC).timestamp(), datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())


def _figure(entries: Iterable[str], count: int | None = None, **values: Any) -> dict[str, Any]:
    """A figure: how many (default: how many entries) and the entries it was computed from."""
    ids = sorted(set(entries))
    return {"count": len(ids) if count is None else count, **values, "entries": ids}


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for key, entry in pairs:
        groups[key].append(entry)
    return {key: _figure(ids) for key, ids in sorted(groups.items())}


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"median_s": None, "p90_s": None}
    data = np.asarray(values, dtype=np.float64)
    return {
        "median_s": round(float(np.percentile(data, 50)), 3),
        "p90_s": round(float(np.percentile(data, 90)), 3),
    }


def _month(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m")


def _owed_by(message: Envelope) -> tuple[str, ...]:
    """The parties that owe ``message`` an answer, from what it says (not from any node's policy)."""
    if message.type is MessageType.ACTION_ITEM:
        owner = str(message.body["owner"])
        return (owner,) if owner in message.recipients else ()
    if message.type is MessageType.MEETING_PROPOSAL and message.schema != 1:
        return tuple(p for p in message.recipients if p in message.body["participants"])
    return message.recipients


def _deadline(message: Envelope) -> float | None:
    if message.type is MessageType.ACTION_ITEM:
        return iso_seconds(str(message.body["due"]))
    return message.deadline


def compute_review(
    envelopes: Iterable[Envelope | SignedEnvelope], *, year: int, channels: Sequence[str]
) -> dict[str, Any]:
    """The review of ``year`` from ``envelopes`` (those of ``channels``, any order) as a JSON-ready mapping.

    Raises ``NoReviewData`` when none of them was written in ``year``.
    """
    start, end = year_bounds(year)
    every = sorted(
        (e.envelope if isinstance(e, SignedEnvelope) else e for e in envelopes), key=lambda m: (m.created, m.id)
    )
    every = [m for m in every if m.channel in channels]
    of_year = [m for m in every if start <= m.created < end]
    if not of_year:
        where = ", ".join(channels) or "no channel"
        raise NoReviewData(f"--year: no cosigned log entries in {year} on {where}")
    by_id = {m.id: m for m in every}
    replies: defaultdict[str, list[Envelope]] = defaultdict(list)
    for message in every:
        if message.in_reply_to is not None:
            replies[message.in_reply_to].append(message)
    review: dict[str, Any] = {
        "format": REVIEW_FORMAT,
        "year": year,
        "channels": sorted(channels),
        "period": {"from": _iso(start), "to": _iso(end)},
        "entries": _figure(m.id for m in of_year),
        "entries_sha256": sha256_hex("\n".join(sorted(m.id for m in of_year)).encode("ascii")),
        "incidents": _incidents(of_year),
        "responses": _responses(of_year, by_id, replies),
        "escalations": _escalations(of_year),
        "link_tests": _link_tests(of_year, replies),
        "notices": _notices(of_year),
        "meetings": _meetings(every, start, end),
        "action_items": _actions(every, start, end),
    }
    return review


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _incidents(of_year: Sequence[Envelope]) -> dict[str, Any]:
    reports = [m for m in of_year if m.type is MessageType.INCIDENT_REPORT]
    rows = [(m.id, m.body["incident"]) for m in reports]
    return {
        "total": _figure(m.id for m in reports),
        "by_rule": _grouped((str(i["rule"]), ident) for ident, i in rows),
        "by_severity": _grouped((str(i["severity"]), ident) for ident, i in rows),
        "by_party_pair": _grouped(
            ("–".join(sorted((str(i["party_a"]), str(i["party_b"])))), ident) for ident, i in rows
        ),
        "by_month": _grouped((_month(iso_seconds(str(i["start"]))), ident) for ident, i in rows),
        "by_reporting_party": _grouped((m.sender.party, m.id) for m in reports),
    }


def _first_answer(message: Envelope, party: str, replies: Mapping[str, list[Envelope]]) -> Envelope | None:
    accepted = answers(message.type)
    candidates = list(replies.get(message.id, ()))
    for notice in replies.get(message.id, ()):
        if notice.type is MessageType.ESCALATION_NOTICE:
            candidates.extend(replies.get(notice.id, ()))
    fitting = [r for r in candidates if r.sender.party == party and r.type in accepted]
    return min(fitting, key=lambda r: (r.created, r.id), default=None)


def _responses(
    of_year: Sequence[Envelope], by_id: Mapping[str, Envelope], replies: Mapping[str, list[Envelope]]
) -> dict[str, Any]:
    kinds: defaultdict[str, list[tuple[Envelope, str, Envelope | None]]] = defaultdict(list)
    for message in of_year:
        if message.type in (MessageType.LINK_TEST, MessageType.ESCALATION_NOTICE) or not answers(message.type):
            continue
        if _deadline(message) is None:
            continue
        for party in _owed_by(message):
            kinds[str(message.type)].append((message, party, _first_answer(message, party, replies)))
    result: dict[str, Any] = {}
    for kind, owed in sorted(kinds.items()):
        times = [reply.created - message.created for message, _, reply in owed if reply is not None]
        spans = [float(_deadline(message) or 0.0) - message.created for message, _, _ in owed]
        met = [
            message.id
            for message, _, reply in owed
            if reply is not None and reply.created <= float(_deadline(message) or 0.0)
        ]
        entries = [message.id for message, _, _ in owed] + [reply.id for _, _, reply in owed if reply is not None]
        result[kind] = {
            "owed": len(owed),
            "answered": len(times),
            "met": len(met),
            "share_met": round(len(met) / len(owed), 4),
            **_stats(times),
            "deadline_median_s": _stats(spans)["median_s"],
            "unanswered": sorted(f"{message.id}:{party}" for message, party, reply in owed if reply is None),
            "entries": sorted(set(entries)),
        }
    return result


def _escalations(of_year: Sequence[Envelope]) -> dict[str, Any]:
    notices = [m for m in of_year if m.type is MessageType.ESCALATION_NOTICE]
    council = [m for m in of_year if m.type is MessageType.MEETING_PROPOSAL and m.body.get("forum") == "escalation"]
    return {
        "total": _figure(m.id for m in notices),
        "by_level_reached": _grouped((str(m.body["to_level"]), m.id) for m in notices),
        "council_meetings_proposed": _figure(m.id for m in council),
    }


def _link_tests(of_year: Sequence[Envelope], replies: Mapping[str, list[Envelope]]) -> dict[str, Any]:
    tests = [m for m in of_year if m.type is MessageType.LINK_TEST]
    trips: list[float] = []
    entries: list[str] = []
    answered = 0
    for test in tests:
        entries.append(test.id)
        reply = min(
            (r for r in replies.get(test.id, ()) if r.type is MessageType.LINK_TEST_REPLY),
            key=lambda r: (r.created, r.id),
            default=None,
        )
        if reply is not None:
            answered += 1
            entries.append(reply.id)
            trips.append(reply.created - test.created)
    stats = _stats(trips)
    return {
        "count": len(tests),
        "answered": answered,
        "share_answered": None if not tests else round(answered / len(tests), 4),
        "round_trip_median_s": stats["median_s"],
        "round_trip_p90_s": stats["p90_s"],
        "entries": sorted(entries),
    }


def _notices(of_year: Sequence[Envelope]) -> dict[str, Any]:
    notices = [m for m in of_year if m.type is MessageType.HAZARD_NOTICE]
    leads = [float(m.body["start"]) - m.created for m in notices]
    ahead = [m.id for m, lead in zip(notices, leads, strict=True) if lead >= HAZARD_NOTICE_MIN_LEAD_S]
    stats = _stats(leads)
    return {
        "count": len(notices),
        "lead_time_median_s": stats["median_s"],
        "lead_time_min_s": None if not leads else round(min(leads), 3),
        "share_3_days_ahead": None if not notices else round(len(ahead) / len(notices), 4),
        "short_notice": sorted(m.id for m in notices if m.id not in set(ahead)),
        "entries": sorted(m.id for m in notices),
    }


def _meetings(every: Sequence[Envelope], start: float, end: float) -> dict[str, Any]:
    meetings = [m for m in derive_meetings(every).values() if start <= m.terms.start < end]
    by_level: defaultdict[str, list[Any]] = defaultdict(list)
    for meeting in meetings:
        by_level[str(meeting.terms.level)].append(meeting)
    return {
        "total": _figure((e for m in meetings for e in m.entries), count=len(meetings)),
        "by_level": {
            level: {
                "meetings": len(group),
                "by_state": {
                    state: sum(1 for m in group if str(m.status) == state)
                    for state in sorted({str(m.status) for m in group})
                },
                "entries": sorted({e for m in group for e in m.entries}),
            }
            for level, group in sorted(by_level.items())
        },
    }


def _actions(every: Sequence[Envelope], start: float, end: float) -> dict[str, Any]:
    items = [a for a in derive_actions(every).values() if start <= a.created < end]

    def entries(selected: Iterable[Any]) -> list[str]:
        return [e for a in selected for e in (a.id, a.done_id) if e is not None]

    closed = [a for a in items if a.is_done]
    still_open = [a for a in items if not a.is_done]
    overdue = [a for a in items if a.due < end and (a.done_at is None or a.done_at > a.due)]
    return {
        "opened": _figure(entries(items), count=len(items)),
        "closed": _figure(entries(closed), count=len(closed)),
        "open": _figure(entries(still_open), count=len(still_open)),
        "late_or_overdue": _figure(entries(overdue), count=len(overdue)),
        "by_owner": _grouped((a.owner, a.id) for a in items),
    }


def review_json(review: Mapping[str, Any]) -> bytes:
    """The review as RFC 8785 canonical JSON with a final newline: the same bytes on every node."""
    return canonical_json(dict(review)) + b"\n"
