"""The node's side of transparency: send a notification, list those sent and received with their compliance,
and ask the Chapter III question of a finding with its evidence attached.

A notification is checked against the regime before it is signed (the check travels in the listing, not in the
message: the receiver judges for itself), and one whose activity is already over is refused: ``notify check``
judges any date, the channel carries live notices only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from riskline.channel.envelope import Attachment, Author
from riskline.channel.messages import MessageType
from riskline.node.errors import NodeConfigError
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, Sent, send
from riskline.storage import transparency_store
from riskline.storage.engine import Database
from riskline.transparency.activity import ActivityNotification, parse_notification
from riskline.transparency.ask import clarification_request
from riskline.transparency.check import CheckResult, check_notification
from riskline.transparency.errors import InvalidNotification
from riskline.transparency.regime import Regime


@dataclass(frozen=True, slots=True)
class ListedNotification:
    envelope_id: str
    direction: str
    """``out`` sent by this node, ``in`` received."""
    channel: str
    notification: ActivityNotification
    check: CheckResult


def send_notification(
    node: LocalNode, notification: ActivityNotification, channel: str, *, author: Author | None = None
) -> Sent:
    """Sign, log and queue ``notification`` on ``channel`` (refused when the activity is already over)."""
    now = node.clock()
    if notification.end <= now and not notification.cancelled:
        raise InvalidNotification("end", "the activity ended before now; `riskline notify check` judges past ones")
    if notification.party != node.config.party:
        raise InvalidNotification("party", f"{notification.party} is not this node's party {node.config.party}")
    return send(node, Outgoing(MessageType.ACTIVITY_NOTIFICATION, channel, dict(notification.document), author=author))


def stored_notifications(node: LocalNode) -> list[tuple[str, str, str, ActivityNotification]]:
    """(envelope id, direction, channel, notification) of every notification in this node's log."""
    found = []
    with node.database.read() as connection:
        for notice in transparency_store.notices(connection):
            try:
                found.append((notice.envelope_id, notice.direction, notice.channel, parse_notification(notice.body)))
            except InvalidNotification:
                continue
    return found


def list_notifications(node: LocalNode, regime: Regime, *, year: int | None = None) -> list[ListedNotification]:
    """Sent and received notifications (of ``year`` when given), each with its check against the regime."""
    stored = stored_notifications(node)
    listed = []
    for envelope_id, direction, channel, notification in stored:
        if year is not None and notification.year != year:
            continue
        others = [n for _, _, _, n in stored if n is not notification]
        listed.append(
            ListedNotification(envelope_id, direction, channel, notification,
                               check_notification(notification, regime, others=others))
        )
    return listed


def ask(
    node: LocalNode,
    database: Database,
    finding_id: int,
    channel: str,
    *,
    author: Author | None = None,
    deadline_span: float | None = None,
) -> Sent:
    """Send the Chapter III ``request_for_clarification`` of stored finding ``finding_id`` with its evidence.

    ``deadline_span`` [s]: None for the channel's deadline of the type (48 h by default, Vienna Document ch. III).
    """
    stored = transparency_store.get_finding(database, finding_id)
    references = [
        envelope_id for envelope_id, _, _, n in stored_notifications(node)
        if stored.json["declared"] is not None and n.designation == stored.json["declared"]
    ]
    body = clarification_request(stored.evidence, references=references)
    attachments = [_keep(node, f"finding-{finding_id}.json",
                         json.dumps(stored.evidence, indent=2).encode(), "application/json")]
    if stored.png is not None:
        attachments.append(_keep(node, f"finding-{finding_id}.png", stored.png, "image/png"))
    return send(node, Outgoing(MessageType.REQUEST_FOR_CLARIFICATION, channel, body, attachments=tuple(attachments),
                               author=author, deadline_span=deadline_span))


def _keep(node: LocalNode, name: str, data: bytes, media_type: str) -> Attachment:
    """An attachment by hash, with a copy under ``DIR/attachments/<sha256>`` as ``send --attach`` keeps it."""
    attachment = Attachment.from_bytes(name, data, media_type)
    folder: Path = node.paths.root / "attachments"
    try:
        folder.mkdir(exist_ok=True)
        target = folder / attachment.sha256
        if not target.exists():
            target.write_bytes(data)
    except OSError as error:
        raise NodeConfigError(f"cannot keep attachment {name} in {folder}: {error.strerror}") from None
    return attachment
