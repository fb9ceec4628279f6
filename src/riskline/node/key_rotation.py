"""Keys over time on a node: rotate its identity key, revoke a compromised one, announce either on every channel,
and the key histories of this node and of its pinned peers (docs/audit.md, "Keys over time").

The statements (``channel/key_history.py``) travel as ``key_rotation`` / ``key_revocation`` messages, so they are
in the Merkle logs of both sides: a history is rebuilt from the log, never stored apart from it. A rotation is
announced signed with the old key at a moment ``now`` and takes effect just after it; only once it is committed
does ``keys/current`` name the new key (a crash before leaves the node on the old key, announced nowhere).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import ChannelError
from riskline.channel.key_bodies import KEY_MESSAGE_TYPES, statement_of
from riskline.channel.key_history import KeyHistory, KeyRevocation, KeyRotation, revoke, rotate
from riskline.channel.messages import MessageType
from riskline.channel.signing import SigningKey, VerifyKey
from riskline.node import keys
from riskline.node.errors import NodeConfigError
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, Sent, send_in
from riskline.storage import channel_store as store

ROTATION_STEP = 0.001  # [s] a rotation takes effect this long after its announcement was signed


@dataclass(frozen=True, slots=True)
class Announced:
    """A key statement signed, logged and queued on every channel of the node."""

    statement: KeyRotation | KeyRevocation
    messages: tuple[Sent, ...]


def logged_statements(
    connection: Connection, direction: str, node_id: str | None = None
) -> list[tuple[str, KeyRotation | KeyRevocation]]:
    """(sender node, statement) of the key statements logged here, in log order (``out``: ours, ``in``: peers')."""
    return [
        (sender, statement)
        for sender, statement in logged_both_ways(connection, direction)[direction]
        if node_id is None or sender == node_id
    ]


Logged = dict[str, list[tuple[str, KeyRotation | KeyRevocation]]]
"""``logged_statements`` by direction (``in``, ``out``)."""


def logged_both_ways(connection: Connection, direction: str | None = None) -> Logged:
    """``logged_statements`` of both directions (or of ``direction``) in one pass over the messages."""
    rows = store.list_messages(connection, direction=direction, types=tuple(sorted(KEY_MESSAGE_TYPES)))
    statements: Logged = {"in": [], "out": []}
    for row in rows:
        entry = store.log_entry(connection, row.log_index)
        if entry is None:
            continue
        envelope = SignedEnvelope.from_leaf(entry.data).envelope
        statements.setdefault(row.direction, []).append((row.sender_node, statement_of(envelope.type, envelope.body)))
    return statements


def own_history(node: LocalNode, connection: Connection, logged: Logged | None = None) -> KeyHistory:
    """This node's keys: the anchor key it was created with, then its logged rotations and revocations
    (``logged``: ``logged_both_ways``, when the caller has it)."""
    history = KeyHistory(node.config.id, node.anchor.public_key)
    statements = logged_statements(connection, "out") if logged is None else logged["out"]
    for sender, statement in statements:
        if sender == node.config.id:
            _take(history, statement)
    return history


def peer_histories(
    connection: Connection, peers: list[store.PeerRow], logged: Logged | None = None
) -> dict[str, KeyHistory]:
    """Each pinned peer's keys by node: the pinned key, then what it announced to us that follows from that pin
    (a peer re-pinned with another key starts over from the new pin)."""
    histories = {peer.node: KeyHistory(peer.node, VerifyKey.from_text(peer.key)) for peer in peers}
    statements = logged_statements(connection, "in") if logged is None else logged["in"]
    for sender, statement in statements:
        history = histories.get(sender)
        if history is None:
            continue
        _take(history, statement)  # one made under an earlier pin does not follow and is passed over
    return histories


def _take(history: KeyHistory, statement: KeyRotation | KeyRevocation) -> None:
    """Apply a logged statement; one that does not follow from the history (the peer refused it, or it was made
    under an earlier pin) changes nothing."""
    with contextlib.suppress(ChannelError):
        history.apply(statement)


def rotate_key(node: LocalNode) -> Announced:
    """A new identity key; the rotation signed by the current key and the new one, announced on every channel;
    then the node signs with the new key."""
    with node.writing() as connection:
        history = _consistent_history(node, connection)
        new = SigningKey.generate()
        key_file = keys.rotated_key_path(node.paths)
        keys.write_private(key_file, new.to_pem())
        now = node.clock()
        statement = rotate(node.config.id, node.identity, new, now + ROTATION_STEP)
        history.apply(statement)
        messages = _announce(node, connection, statement, now)
    while node.clock() < statement.effective:
        time.sleep(ROTATION_STEP)
    keys.point_current(node.paths, key_file)
    return Announced(statement, messages)


def revoke_key(node: LocalNode, key: str, since: float, reason: str) -> Announced:
    """Revoke ``key`` (key text or fingerprint) of this node as compromised since ``since``, signed by the
    current key, which must be later than it (rotate away from a compromised key first)."""
    if not reason.strip():
        raise NodeConfigError("--reason: say why the key is revoked")
    with node.writing() as connection:
        history = _consistent_history(node, connection)
        revoked = _find_key(history, key)
        if revoked == history.current:
            raise NodeConfigError(
                f"key {revoked.fingerprint} is the node's current key: rotate first (`riskline key rotate`),"
                " then revoke it with the new key"
            )
        now = node.clock()
        statement = revoke(node.config.id, revoked, since, reason.strip(), node.identity)
        history.apply(statement)
        return Announced(statement, _announce(node, connection, statement, now))


def _consistent_history(node: LocalNode, connection: Connection) -> KeyHistory:
    history = own_history(node, connection)
    if history.current != node.key:
        raise NodeConfigError(
            f"the node signs with {node.key.fingerprint} but its log says its key is {history.current.fingerprint};"
            f" check {node.paths.keys_dir / keys.CURRENT_POINTER}"
        )
    return history


def _find_key(history: KeyHistory, text: str) -> VerifyKey:
    wanted = text.strip()
    for period in history.periods:
        if wanted in (period.key.to_text(), period.key.fingerprint):
            return period.key
    known = ", ".join(period.key.fingerprint for period in history.periods)
    raise NodeConfigError(f"--key: {wanted!r} is not a key of this node (its keys: {known})")


def _announce(
    node: LocalNode, connection: Connection, statement: KeyRotation | KeyRevocation, now: float
) -> tuple[Sent, ...]:
    """The statement as one message on every channel, all signed at ``now`` with the current key."""
    channels = node.reload_config().channels
    if not channels:
        raise NodeConfigError("this node has no channel to announce the key statement on; add one first")
    msg_type = MessageType.KEY_ROTATION if isinstance(statement, KeyRotation) else MessageType.KEY_REVOCATION
    outgoing = [Outgoing(type=msg_type, channel=policy.id, body=statement.to_dict()) for policy in channels]
    clock = node.clock
    node.clock = lambda: now  # one moment for every announcement and the head that covers them
    try:
        return tuple(send_in(node, connection, message) for message in outgoing)
    finally:
        node.clock = clock
