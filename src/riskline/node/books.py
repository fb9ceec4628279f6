"""The node's thread books (``riskline.channel.deadlines.ThreadBook``), one per channel, fed from its own log.

Deadlines and escalation are decided by the protocol's pure ``ThreadBook`` on this node's clock: each
envelope counts from ``appended_at``, when *we* logged it. The books are rebuilt from ``log_entries`` (the
single source of truth) and then fed incrementally: a long-running server parses each entry once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from riskline.channel.deadlines import ThreadBook
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import MalformedEnvelope
from riskline.channel.policy import ChannelPolicy
from riskline.storage import channel_store as store


class Books:
    """Per-channel thread books of one node, caught up with ``update``."""

    def __init__(self, channels: tuple[ChannelPolicy, ...], local_party: str) -> None:
        self._channels = channels
        self._local_party = local_party
        self._books = {policy.id: ThreadBook(policy=policy, local_party=local_party) for policy in channels}
        self._upto = 0
        self.unreadable: list[int] = []
        """Log indexes that could not be parsed (``log verify`` names them); skipped here."""

    @property
    def channels(self) -> tuple[ChannelPolicy, ...]:
        return self._channels

    def book(self, channel: str) -> ThreadBook | None:
        return self._books.get(channel)

    def update(
        self, connection: Connection, recall: Callable[[int, bytes], SignedEnvelope | None] | None = None
    ) -> None:
        """Record every log entry not yet seen; ``recall(index, data)`` may give the parsed envelope of an entry."""
        for entry in store.log_range(connection, self._upto, 2**62):
            book = self._books.get(entry.channel)
            if book is not None:
                try:
                    signed = None if recall is None else recall(entry.index, entry.data)
                    if signed is None:
                        signed = SignedEnvelope.from_leaf(entry.data, recanonicalize=False)
                    book.record(signed, at=entry.appended_at)
                except MalformedEnvelope:
                    self.unreadable.append(entry.index)
            self._upto = entry.index + 1
