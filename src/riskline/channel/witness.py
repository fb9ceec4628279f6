"""Witnesses that answer: what one node learns by asking a peer what it witnessed — pure checks, no I/O.

A node's own database cannot prove that its log was never truncated or rewritten: whoever edits it can edit
the heads too. Its peers can. Each peer keeps the heads of our log it cosigned, and the heads of its own log
it gave us (RFC 9162 §8.2's witnesses; the "gossip" of Certificate Transparency, RFC 6962 §5.5). An audit
asks each peer for a ``WitnessStatement`` and checks, both ways:

* **our log** against the latest of our heads the peer cosigned (size S, root R): a log now shorter than S
  was *truncated*; one whose first S entries no longer give R was *rewritten* (a fork of our own history); a
  signed head of ours the peer holds that differs from ours of the same size is a *fork* we signed;
* **the peer's log** against the latest of its heads we kept (size L): a head now smaller than L is a
  *rollback*; one of size L with another root, or one larger that no consistency proof links to it
  (RFC 9162 §2.1.4), is a *fork*;
* **the others' logs** (gossip): the peer also shows the latest head it holds of each node it shares a
  channel with; one of the same size as a head we hold with another root is a fork of that node, which every
  member of a collective channel thus sees.

Two signed heads of one log, one size and two roots are the portable evidence (``EquivocationProof``): anyone
with the signer's public key can check it offline (``riskline log fork-evidence`` / ``verify-evidence``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from riskline.channel.checkpoint import (
    Cosignature,
    EquivocationProof,
    SignedCheckpoint,
    detect_equivocation,
    verify_checkpoint,
    verify_cosignature,
)
from riskline.channel.errors import ChannelError, MalformedEnvelope
from riskline.channel.merkle import verify_consistency
from riskline.channel.signing import VerifyKey


class Finding(StrEnum):
    """What an audit of one peer found; ``SOUND`` is the only good one."""

    SOUND = "sound"
    TRUNCATED = "truncated"
    """Our log holds fewer entries than a head of it the peer cosigned."""
    REWRITTEN = "rewritten"
    """Our log's first S entries no longer give the root the peer cosigned for size S."""
    ROLLBACK = "rollback"
    """The peer now shows a smaller head of its log than one it signed for us before."""
    FORK = "fork"
    """Two signed heads of one log that cannot both be true (equal size, different roots; or no consistency)."""
    SILENT = "silent"
    """The peer did not answer, or answered what is not a witness statement."""
    FORGED = "forged"
    """The peer's answer carries a signature that is not what it claims (its key, or the log's)."""


@dataclass(frozen=True, slots=True)
class WitnessStatement:
    """A peer's answer to "what did you witness?" (``GET /v1/log/witness?origin=<our node id>``)."""

    head: SignedCheckpoint
    """The peer's own current signed head."""
    cosigned: Cosignature | None
    """The latest head of the asker's log that the peer cosigned (None: it never cosigned one)."""
    heads: tuple[SignedCheckpoint, ...] = ()
    """The latest head the peer holds of each other log (the asker's included): the gossip."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "head": self.head.to_dict(),
            "cosigned": None if self.cosigned is None else self.cosigned.to_dict(),
            "heads": [head.to_dict() for head in self.heads],
        }

    @classmethod
    def from_dict(cls, data: object) -> WitnessStatement:
        if not isinstance(data, Mapping):
            raise MalformedEnvelope("a witness statement is a JSON object")
        try:
            cosigned = data.get("cosigned")
            heads = data.get("heads") or []
            if not isinstance(heads, list):
                raise MalformedEnvelope("heads must be a list")
            return cls(
                head=SignedCheckpoint.from_dict(data["head"]),
                cosigned=None if cosigned is None else Cosignature.from_dict(cosigned),
                heads=tuple(SignedCheckpoint.from_dict(head) for head in heads),
            )
        except KeyError as missing:
            raise MalformedEnvelope(f"a witness statement needs {missing}") from None


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing the audit of a peer established, good or bad, in words an operator can act on."""

    finding: Finding
    log: str
    """Whose log it is about (a node id)."""
    message: str
    evidence: EquivocationProof | None = None


@dataclass(frozen=True, slots=True)
class OurLog:
    """What the asker knows of its own log: its size, the root at any size it holds, the heads it signed."""

    origin: str
    key: VerifyKey
    size: int
    roots: Mapping[int, bytes]
    """The root of the first S entries, for each size S asked about (``sizes_to_ask``)."""
    heads: Mapping[int, SignedCheckpoint] = field(default_factory=dict)
    """Our stored signed heads by size."""


def sizes_to_ask(statement: WitnessStatement, origin: str) -> set[int]:
    """The sizes of our log whose roots ``check_our_log`` needs."""
    sizes = {head.checkpoint.size for head in statement.heads if head.checkpoint.origin == origin}
    if statement.cosigned is not None:
        sizes.add(statement.cosigned.checkpoint.size)
    return sizes


def check_our_log(statement: WitnessStatement, peer: str, peer_key: VerifyKey, ours: OurLog) -> list[Observation]:
    """Our log against what ``peer`` witnessed of it."""
    found: list[Observation] = []
    cosigned = statement.cosigned
    if cosigned is not None:
        try:
            verify_cosignature(cosigned, trusted=peer_key)
        except ChannelError as error:
            return [Observation(Finding.FORGED, ours.origin, f"{peer}'s cosignature of our head: {error}")]
        size, root = cosigned.checkpoint.size, cosigned.checkpoint.root
        if cosigned.checkpoint.origin != ours.origin:
            found.append(
                Observation(Finding.FORGED, ours.origin, f"{peer} answered for log {cosigned.checkpoint.origin!r}")
            )
        elif size > ours.size:
            found.append(
                Observation(
                    Finding.TRUNCATED,
                    ours.origin,
                    f"{peer} cosigned our log at {size} entries but it holds {ours.size}: entries"
                    f" {ours.size}..{size - 1} were removed",
                )
            )
        elif ours.roots.get(size) != root:
            found.append(
                Observation(
                    Finding.REWRITTEN,
                    ours.origin,
                    f"{peer} cosigned our log at {size} entries with root {root.hex()[:16]}…, our first {size}"
                    " entries now give another root: our history was rewritten",
                )
            )
    for head in statement.heads:
        if head.checkpoint.origin != ours.origin:
            continue
        try:
            verify_checkpoint(head, trusted=ours.key)
        except ChannelError as error:
            found.append(Observation(Finding.FORGED, ours.origin, f"{peer} shows a head of our log: {error}"))
            continue
        stored = ours.heads.get(head.checkpoint.size)
        proof = None if stored is None else detect_equivocation(stored, head)
        if proof is not None:
            found.append(
                Observation(
                    Finding.FORK,
                    ours.origin,
                    f"{peer} holds a head of our log of size {head.checkpoint.size} signed by our key with a root"
                    " other than ours: our key signed two histories",
                    proof,
                )
            )
        elif head.checkpoint.size > ours.size:
            found.append(
                Observation(
                    Finding.TRUNCATED,
                    ours.origin,
                    f"{peer} holds our signed head of {head.checkpoint.size} entries but our log holds {ours.size}",
                )
            )
    return found


def check_peer_log(
    statement: WitnessStatement,
    peer: str,
    peer_key: VerifyKey,
    kept: Sequence[SignedCheckpoint],
    consistency: Sequence[bytes] | None,
) -> list[Observation]:
    """The peer's current head against the latest of its heads we ``kept``; ``consistency`` is its RFC 9162
    proof from that head's size to the current one (None when not needed or not given)."""
    head = statement.head
    try:
        verify_checkpoint(head, trusted=peer_key)
    except ChannelError as error:
        return [Observation(Finding.FORGED, peer, f"{peer}'s current head: {error}")]
    if head.checkpoint.origin != peer:
        return [Observation(Finding.FORGED, peer, f"{peer} answered with a head of log {head.checkpoint.origin!r}")]
    same = [earlier for earlier in kept if earlier.checkpoint.size == head.checkpoint.size]
    for earlier in same:
        proof = detect_equivocation(earlier, head)
        if proof is not None:
            return [
                Observation(
                    Finding.FORK,
                    peer,
                    f"{peer} signed two roots for size {head.checkpoint.size} of its log: one it gave us before,"
                    " one it shows now",
                    proof,
                )
            ]
    latest = max(kept, key=lambda h: h.checkpoint.size, default=None)
    if latest is None or latest.checkpoint.size == head.checkpoint.size:
        return []
    if head.checkpoint.size < latest.checkpoint.size:
        return [
            Observation(
                Finding.ROLLBACK,
                peer,
                f"{peer} now shows {head.checkpoint.size} entries of its log but signed {latest.checkpoint.size}"
                " for us before: its log was truncated or rolled back",
            )
        ]
    try:
        verify_consistency(
            latest.checkpoint.size,
            head.checkpoint.size,
            latest.checkpoint.root,
            head.checkpoint.root,
            consistency or [],
        )
    except ChannelError as error:
        return [
            Observation(
                Finding.FORK,
                peer,
                f"{peer}'s head of {head.checkpoint.size} entries does not extend the head of"
                f" {latest.checkpoint.size} it signed for us: {error}",
            )
        ]
    return []


def check_gossip(
    statement: WitnessStatement, peer: str, keys: Mapping[str, VerifyKey], kept: Iterable[SignedCheckpoint], us: str
) -> list[Observation]:
    """The heads of third logs the peer holds against ours of the same size (a fork shown to different
    members of a channel)."""
    by_size: dict[tuple[str, int], list[SignedCheckpoint]] = {}
    for head in kept:
        by_size.setdefault((head.checkpoint.origin, head.checkpoint.size), []).append(head)
    found: list[Observation] = []
    for head in statement.heads:
        origin = head.checkpoint.origin
        if origin in (us, peer):
            continue
        key = keys.get(origin)
        if key is None:
            continue
        try:
            verify_checkpoint(head, trusted=key)
        except ChannelError:
            found.append(Observation(Finding.FORGED, origin, f"{peer} relays a head of {origin} not signed by it"))
            continue
        for earlier in by_size.get((origin, head.checkpoint.size), []):
            proof = detect_equivocation(earlier, head)
            if proof is not None:
                found.append(
                    Observation(
                        Finding.FORK,
                        origin,
                        f"{origin} signed two roots for size {head.checkpoint.size} of its log: one sent to us,"
                        f" another to {peer}",
                        proof,
                    )
                )
                break
    return found
