"""The node's use cases in one place (what the CLI and the server call); each lives in a small module.

send / reply      ``messaging.send``         sign, log and queue in one transaction
receive           ``receiving.receive``      check a delivery, log it, sign the receipt
deliver           ``delivery.flush`` / ``Deliverer``   drain the outbox to peers
escalate          ``escalate.escalate_due``  take the ladder steps that are due
inbox / outbox    ``views.inbox`` / ``views.outbox`` / ``views.thread``
verify / export   ``audit.verify_node`` / ``audit.export_bundle`` / ``audit.verify_bundle_file``
pin / channels    ``peers.add_peer`` / ``peers.remove_peer`` / ``peers.add_channel``
init              ``local.init_node``; open a node with ``local.LocalNode.open``
"""

from __future__ import annotations

from riskline.channel.sending import RetryPolicy
from riskline.node.audit import export_bundle, verify_bundle_file, verify_node
from riskline.node.delivery import Deliverer, flush
from riskline.node.escalate import escalate_due
from riskline.node.local import LocalNode, init_node
from riskline.node.messaging import Outgoing, Sent, send
from riskline.node.peers import add_channel, add_peer, remove_peer
from riskline.node.receiving import Caller, receive
from riskline.node.views import inbox, outbox, thread

__all__ = [
    "Caller",
    "Deliverer",
    "LocalNode",
    "Outgoing",
    "RetryPolicy",
    "Sent",
    "add_channel",
    "add_peer",
    "escalate_due",
    "export_bundle",
    "flush",
    "inbox",
    "init_node",
    "outbox",
    "receive",
    "remove_peer",
    "send",
    "thread",
    "verify_bundle_file",
    "verify_node",
]
