"""The Chapter III question a finding allows: a ``request_for_clarification`` drafted from a finding.

Vienna Document 2011 ch. III (16.1–16.3): a participating State may request an explanation of any unusual and
unscheduled military activity; the reply is due within 48 hours and covers objectives, location, dates,
designation and subordination of formations, and numbers of troops and equipment by type (REGIMES.md §3). The
request cites what was seen (counts, place, times, the declaration it was held against) and what tracks cannot
show, and travels with the evidence attached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CHAPTER_III_QUESTIONS = (
    "What are the objectives of this activity?",
    "Where does it take place, and on which dates does it begin and end?",
    "Which formations and units take part: their designation and subordination?",
    "How many troops take part, and how much equipment of each type (tanks, armoured combat vehicles, "
    "artillery, combat aircraft and helicopters, naval vessels)?",
)


def clarification_request(finding: Mapping[str, Any], *, references: Sequence[str] = ()) -> dict[str, Any]:
    """The body of a ``request_for_clarification`` about ``finding`` (its evidence mapping, contract keys and more)."""
    place = f"{abs(finding['lat']):.2f}{'N' if finding['lat'] >= 0 else 'S'} " \
            f"{abs(finding['lon']):.2f}{'E' if finding['lon'] >= 0 else 'W'}"
    when = f"{finding['start'][:16].replace('T', ' ')}–{finding['end'][11:16]} UTC"
    if finding["kind"] == "exceeds_declaration":
        exceeded = finding.get("exceeded", {})
        excess = "; ".join(f"{k.replace('_', ' ')}: {v['observed']} observed, {v['declared']} declared"
                           for k, v in exceeded.items())
        subject = f"Activity beyond the declaration of {finding['declared']}: {excess} ({when})"
        seen = (f"Inside the area and window declared for {finding['declared']}, our watch observed "
                f"{finding['platforms']} military platforms ({excess}).")
    else:
        subject = f"Unusual military activity of {finding['party']} near {place}, {when}"
        seen = (
            f"Our watch observed {finding['platforms']} military platforms of {finding['party']} "
            f"({finding.get('sea_platforms', '?')} ships, {finding.get('air_platforms', '?')} aircraft; at most "
            f"{finding.get('most_at_once', '?')} at once; {finding['platform_hours']:.1f} platform-hours) near "
            f"{place}, {when}, outside every notified activity."
        )
    limits = str(finding.get("cannot_show", ""))
    questions = [
        f"{seen} Under Chapter III of the Vienna Document 2011 we request an explanation within 48 hours.",
        *CHAPTER_III_QUESTIONS,
    ]
    if limits:
        questions.append(f"For the record: {limits} Please correct our figures where they fall short.")
    return {"subject": subject, "references": list(references), "questions": questions}
