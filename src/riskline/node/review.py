"""The annual review on a node: computed from its cosigned entries, written as JSON, Markdown or HTML, sent signed.

``review_of`` feeds ``channel.review.compute_review`` with the entries of one channel that every member holds
(``dialogue.cosigned_envelopes``), so the JSON is the same bytes on every member's node. Markdown and HTML
render the same figures for people (HTML with bar charts drawn by matplotlib, embedded, nothing fetched);
every table row names the entries it counts. ``send_review`` signs the file into the log as an attachment
of a ``free_text`` on the channel (its SHA-256 in the signed envelope).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskline.channel.messages import MessageType
from riskline.channel.review import compute_review, review_json
from riskline.node.dialogue import cosigned_envelopes
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, Sent, attachment_from_file, send

FORMATS = ("json", "md", "html")


def review_of(node: LocalNode, year: int, channel: str | None = None) -> dict[str, Any]:
    """The review of ``year`` for ``channel`` (or every channel of the node) from the cosigned entries."""
    config = node.reload_config()
    channels = [config.channel(channel).id] if channel is not None else [c.id for c in config.channels]
    envelopes = [envelope for channel_id in channels for envelope in cosigned_envelopes(node, channel_id)]
    return compute_review(envelopes, year=year, channels=channels)


def headline(review: Mapping[str, Any]) -> dict[str, Any]:
    """The few figures an operator reads first (the demo prints them from both nodes side by side)."""
    responses = review["responses"]
    owed = sum(kind["owed"] for kind in responses.values())
    met = sum(kind["met"] for kind in responses.values())
    actions = review["action_items"]
    return {
        "entries": review["entries"]["count"],
        "incidents": review["incidents"]["total"]["count"],
        "replies owed": owed,
        "met in time": met,
        "escalations": review["escalations"]["total"]["count"],
        "link tests answered": f"{review['link_tests']['answered']}/{review['link_tests']['count']}",
        "notices": review["notices"]["count"],
        "meetings": review["meetings"]["total"]["count"],
        "action items closed": f"{actions['closed']['count']}/{actions['opened']['count']}",
        "entries sha256": str(review["entries_sha256"])[:16],
    }


def render(review: Mapping[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        return review_json(review)
    if fmt == "md":
        return render_markdown(review).encode("utf-8")
    return render_html(review).encode("utf-8")


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 86_400:
        return f"{value / 86_400:.1f} d"
    if value >= 3_600:
        return f"{value / 3_600:.1f} h"
    return f"{value:.1f} s"


def _ids(entries: list[str], limit: int = 6) -> str:
    shown = ", ".join(e[:8] for e in entries[:limit])
    return shown + (f" … (+{len(entries) - limit})" if len(entries) > limit else "")


def _tables(review: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table of the review, shared by Markdown and HTML."""
    tables: list[tuple[str, list[str], list[list[str]]]] = []
    incidents = review["incidents"]
    for key, title in (("by_rule", "Incidents by rule"), ("by_severity", "Incidents by severity"),
                       ("by_party_pair", "Incidents by party pair"), ("by_month", "Incidents by month"),
                       ("by_reporting_party", "Incident reports by reporting party")):  # fmt: skip
        rows = [[name, str(fig["count"]), _ids(fig["entries"])] for name, fig in incidents[key].items()]
        tables.append((title, ["", "count", "entries"], rows))
    rows = [
        [kind, str(f["owed"]), str(f["answered"]), f"{f['share_met']:.0%}", _seconds(f["median_s"]),
         _seconds(f["p90_s"]), _seconds(f["deadline_median_s"]), _ids(f["entries"])]
        for kind, f in review["responses"].items()
    ]  # fmt: skip
    header = ["message type", "owed", "answered", "met", "median", "90th pct", "deadline", "entries"]
    tables.append(("Response times against deadlines", header, rows))
    escalations = review["escalations"]
    rows = [[level, str(f["count"]), _ids(f["entries"])] for level, f in escalations["by_level_reached"].items()]
    council = escalations["council_meetings_proposed"]
    rows.append(["council meeting proposed", str(council["count"]), _ids(council["entries"])])
    tables.append(("Escalations by the level reached", ["level", "count", "entries"], rows))
    links = review["link_tests"]
    share = "–" if links["share_answered"] is None else f"{links['share_answered']:.0%}"
    tables.append(("Link tests", ["sent", "answered", "share", "round trip median", "90th pct", "entries"],
                   [[str(links["count"]), str(links["answered"]), share, _seconds(links["round_trip_median_s"]),
                     _seconds(links["round_trip_p90_s"]), _ids(links["entries"])]]))  # fmt: skip
    notices = review["notices"]
    ahead = "–" if notices["share_3_days_ahead"] is None else f"{notices['share_3_days_ahead']:.0%}"
    tables.append(("Notices (INCSEA art. VI: 3–5 days ahead)", ["notices", "lead median", "shortest", "3 days ahead",
                   "entries"], [[str(notices["count"]), _seconds(notices["lead_time_median_s"]),
                   _seconds(notices["lead_time_min_s"]), ahead, _ids(notices["entries"])]]))  # fmt: skip
    rows = [
        [level, str(f["meetings"]), ", ".join(f"{s} {n}" for s, n in f["by_state"].items()), _ids(f["entries"])]
        for level, f in review["meetings"]["by_level"].items()
    ]
    tables.append(("Meetings by level", ["level", "meetings", "states", "entries"], rows))
    actions = review["action_items"]
    rows = [[name, str(actions[key]["count"]), _ids(actions[key]["entries"])]
            for key, name in (("opened", "opened"), ("closed", "closed"), ("open", "still open"),
                              ("late_or_overdue", "late or overdue"))]  # fmt: skip
    tables.append(("Action items", ["", "count", "entries"], rows))
    return tables


def _title(review: Mapping[str, Any]) -> str:
    return f"Annual review {review['year']} — {', '.join(review['channels'])}"


def _intro(review: Mapping[str, Any]) -> str:
    return (
        f"Computed from {review['entries']['count']} cosigned log entries of {review['period']['from']} to "
        f"{review['period']['to']} (SHA-256 of their ids {review['entries_sha256']}); both parties compute the "
        "same figures from their own nodes."
    )


def render_markdown(review: Mapping[str, Any]) -> str:
    lines = [f"# {_title(review)}", "", _intro(review), ""]
    for title, header, rows in _tables(review):
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["(none)", ""]
            continue
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def _bar_chart(title: str, figures: Mapping[str, Any]) -> str:
    """A PNG bar chart as a data: URI (matplotlib, Agg; nothing fetched at run time)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = list(figures)
    counts = [figures[name]["count"] for name in names]
    figure, axes = plt.subplots(figsize=(7.0, 2.8), dpi=100)
    try:
        axes.bar(range(len(names)), counts, color="#35608f")
        axes.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        axes.set_title(title, fontsize=10)
        axes.set_ylabel("count")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    finally:
        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_html(review: Mapping[str, Any]) -> str:
    title = html.escape(_title(review))
    parts = [
        "<!doctype html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>',
        "<style>body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}th{background:#eef}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p>{html.escape(_intro(review))}</p>",
    ]
    incidents = review["incidents"]
    for key, name in (("by_month", "Incidents by month"), ("by_rule", "Incidents by rule")):
        if incidents[key]:
            parts.append(f'<img alt="{name}" src="{_bar_chart(name, incidents[key])}">')
    for table_title, header, rows in _tables(review):
        parts.append(f"<h2>{html.escape(table_title)}</h2>")
        if not rows:
            parts.append("<p>(none)</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def send_review(node: LocalNode, path: Path, *, channel: str, year: int) -> Sent:
    """Sign the written review into the log: a ``free_text`` on ``channel`` with the file attached by hash."""
    attachment = attachment_from_file(node, path)
    text = f"Annual review {year} of channel {channel}: {path.name}, sha256 {attachment.sha256}"
    return send(node, Outgoing(MessageType.FREE_TEXT, channel, {"text": text}, attachments=(attachment,)))
