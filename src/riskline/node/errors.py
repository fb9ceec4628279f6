"""Errors of the node package: running one party's node, its directory, its peers and its delivery.

    NodeError                       root: the node cannot do what the operator asked
    ├── NodeConfigError             node.toml or the node directory is wrong (whose fault: the operator)
    │   ├── NodeNotFound            no node at that directory (``riskline node init`` first)
    │   ├── NodeExists              ``node init`` would overwrite an existing node: refused
    │   ├── NotLoopback             plain HTTP asked for on an address that is not loopback: refused
    │   ├── UnknownChannel          a channel id this node has no configuration for
    │   └── UnknownPeer             a peer name or party this node has not pinned
    ├── NodeBusy                    another process already serves (or delivers for) this node
    ├── MessageNotFound             no message with that id (or unambiguous id prefix) in this node
    ├── PeerError                   talking to a peer failed (whose fault: the network or the peer)
    │   ├── PeerUnreachable         connection refused, reset, timed out, TLS handshake failed
    │   └── PeerRejected            the peer answered with an error document; ``.error_type``/``.status``
    └── LogVerificationFailed       ``log verify`` found a broken entry, signature or proof; ``.index``

Rejections of what a *peer* sends are ``riskline.channel.errors.ChannelError``s (they carry an HTTP status;
``OutOfOrder`` and ``ConsistencyBaseMismatch`` live in ``riskline.channel.protocol``); the one this package
adds lives here:

    ChannelError
    └── NotAuthenticated (401)      over HTTPS, a request without a client certificate from a pinned peer's
                                    CA, or whose certificate is not the sending node's (whose fault: the client)

Every message is one line, fit for an operator at 3 a.m.
"""

from __future__ import annotations

from riskline.channel.errors import ChannelError
from riskline.errors import RisklineError


class NodeError(RisklineError):
    """Root of every node error; its message is one line, fit for an operator."""


class NodeConfigError(NodeError):
    pass


class NodeNotFound(NodeConfigError):
    pass


class NodeExists(NodeConfigError):
    pass


class NotLoopback(NodeConfigError):
    pass


class UnknownChannel(NodeConfigError):
    pass


class UnknownPeer(NodeConfigError):
    pass


class NodeBusy(NodeError):
    pass


class MessageNotFound(NodeError, LookupError):
    pass


class PeerError(NodeError):
    pass


class PeerUnreachable(PeerError):
    pass


class PeerRejected(PeerError):
    """The peer answered with a riskline error document (or some other non-200 answer)."""

    def __init__(self, message: str, *, status: int, error_type: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.field = field


class LogVerificationFailed(NodeError):
    """``index`` is the first log entry that fails, or None when the failure is not tied to one entry."""

    exit_code = 1

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class NotAuthenticated(ChannelError):
    http_status = 401
