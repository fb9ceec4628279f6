"""Errors of the channel package; each carries the HTTP status a node answers with (datasette style).

    ChannelError (400)              root: a channel message, key or proof cannot be accepted
    ├── BadSignature (401)          a signature does not verify for its purpose and key
    │                               (whose fault: the sender, or someone who altered the bytes in transit)
    ├── UnknownKey (403)            signed by a key this node does not trust
    │                               (whose fault: the sender, or our own trust store if the peer is new)
    ├── KeyChanged (403)            a known peer or log now signs with a different key than the pinned one
    │                               (whose fault: the peer rotated without telling us, or an impostor;
    │                               an operator must re-pin the key out of band)
    ├── InvalidProof (409)          a Merkle inclusion/consistency proof or an equivocation proof fails
    │                               (whose fault: the peer's log, which rewrote its history or sent a bad proof)
    ├── EquivocationDetected (409)  the peer signed two different heads of the same size; ``.proof`` holds
    │                               the portable evidence (whose fault: the peer, provably)
    ├── ReplayedEnvelope (409)      an envelope already accepted arrives again
    │                               (whose fault: the sender's retry logic, or an attacker replaying)
    ├── ForeignChannel (400)        addressed to another channel, origin or node (whose fault: the sender)
    ├── StaleEnvelope (400)         older than the state already held, e.g. a log head that shrank
    │                               (whose fault: the sender)
    ├── MalformedEnvelope (422)     the bytes or fields cannot be parsed or canonicalised
    │   │                           (whose fault: the sender); also a ``ValueError``
    │   └── MalformedKey (422)      key text or PEM that is not an Ed25519 key in the expected form
    │                               (whose fault: whoever wrote the key: the peer or the operator's config)
    └── OutOfRange (404)            a leaf index or tree size the log does not have (yet)
                                    (whose fault: the asker); also an ``IndexError``

Every message is one line, fit for an operator at 3 a.m.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskline.errors import RisklineError

if TYPE_CHECKING:
    from riskline.channel.checkpoint import EquivocationProof


class ChannelError(RisklineError):
    """Root of every channel error; ``http_status`` is the HTTP status a node answers with."""

    http_status = 400


class BadSignature(ChannelError):
    http_status = 401


class UnknownKey(ChannelError):
    http_status = 403


class KeyChanged(ChannelError):
    http_status = 403


class InvalidProof(ChannelError):
    http_status = 409


class EquivocationDetected(ChannelError):
    """Two validly signed heads of one log with the same size and different roots.

    ``proof`` is the portable evidence when the detector has both signed heads at hand, else ``None``.
    """

    http_status = 409

    def __init__(self, message: str, proof: EquivocationProof | None = None) -> None:
        super().__init__(message)
        self.proof = proof


class ReplayedEnvelope(ChannelError):
    http_status = 409


class ForeignChannel(ChannelError):
    http_status = 400


class StaleEnvelope(ChannelError):
    http_status = 400


class MalformedEnvelope(ChannelError, ValueError):
    http_status = 422


class MalformedKey(MalformedEnvelope):
    http_status = 422


class OutOfRange(ChannelError, IndexError):
    http_status = 404
