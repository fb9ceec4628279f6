"""The states and kinds the channel tables hold, as enums (``StrEnum``: a value is its column's text, so rows read
back as plain strings compare equal to them). Each table's CHECK constraint is made from its enum."""

from __future__ import annotations

import enum


class Direction(enum.StrEnum):
    """Which way an envelope went, from this node's side."""

    IN = "in"
    """Received from a peer."""
    OUT = "out"
    """Sent by this node."""


class MessageStatus(enum.StrEnum):
    """Whether a message awaits a reply."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    """Needs no reply."""


class OutboxState(enum.StrEnum):
    """Where an (envelope, peer) row of the outbox stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    """A verified receipt is stored."""
    FAILED_PERMANENT = "failed-permanent"
    """The peer refused it for good; later envelopes of its channel to that peer wait behind it."""


class CheckpointKind(enum.StrEnum):
    """What a row of ``peer_checkpoints`` holds."""

    HEAD = "head"
    """A peer's signed head of its log."""
    COSIGNED_BY_US = "cosigned_by_us"
    """Our cosignature of a peer's head."""
    COSIGNED_BY_PEER = "cosigned_by_peer"
    """A peer's cosignature of one of our heads."""


def check_in(column: str, states: type[enum.StrEnum]) -> str:
    """``column IN ('a', 'b')``: the text of a CHECK constraint allowing exactly the enum's values."""
    return f"{column} IN ({', '.join(repr(state.value) for state in states)})"
