"""Pinning peers the way SSH pins hosts, and adding channels.

``riskline peer add NAME URL --key ed25519:…``: the key was exchanged out of band. The node fetches the
peer's ``GET /v1/node``:

* over HTTPS, first trusting nothing, to learn the CA certificate the peer names; that CA is accepted only
  if its key IS the pinned key (the CA's key is the peer's identity key); then ``/v1/node`` is fetched again
  over a connection that trusts only that CA, which proves the server holds a certificate it issued;
* over plain HTTP only on loopback (tests, a demo on one machine): signatures still bind everything.

The served key must equal ``--key`` (else ``KeyChanged``, nothing stored). A NAME already pinned keeps its
key: a different one is refused with both fingerprints, as ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED".
The pin goes into node.db (with the CA) and node.toml's ``[[peer]]`` list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from riskline.channel.errors import KeyChanged
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import VerifyKey
from riskline.node import tls
from riskline.node.client import check_url, get_json
from riskline.node.config import PeerConfig
from riskline.node.errors import NodeConfigError, PeerRejected
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store


@dataclass(frozen=True, slots=True)
class PeerAdded:
    peer: store.PeerRow
    key: VerifyKey
    already_pinned: bool
    """True when NAME was pinned before with this very key (the URL or CA may have been refreshed)."""


def key_changed_message(name: str, pinned: VerifyKey, offered: VerifyKey) -> str:
    return (
        f"PEER KEY HAS CHANGED for {name}: pinned {pinned.fingerprint}, now {offered.fingerprint}. "
        "Someone could be impersonating the peer, or it replaced its key; refusing. "
        "Verify the new key out of band, then remove the old pin (`riskline peer remove`) before adding it again."
    )


def add_peer(node: LocalNode, name: str, url: str, key_text: str) -> PeerAdded:
    """Fetch, check and pin the peer at ``url`` whose key is ``key_text``."""
    pinned = VerifyKey.from_text(key_text.strip())
    url = url.rstrip("/")
    check_url(url)
    with node.reading() as connection:
        existing = store.peer_by_name(connection, name)
        holder = store.peer_by_key(connection, pinned.to_text())
    if existing is not None:
        known = VerifyKey.from_text(existing.key)
        if known != pinned:
            raise KeyChanged(key_changed_message(name, known, pinned))
    if holder is not None and holder.name != name:
        raise NodeConfigError(f"key {pinned.fingerprint} is already pinned as peer {holder.name!r}")
    if pinned == node.key:
        raise NodeConfigError("that key is this node's own key; pin the other node's key")
    info = _fetch_node(node, url, pinned)
    node_id, party = _text(info, "id", url), _text(info, "party", url)
    ca_pem = info.get("ca_pem") if url.startswith("https://") else None
    with node.writing() as connection:
        other = store.peer_by_node(connection, node_id)
        if other is not None and other.name != name:
            raise NodeConfigError(f"node {node_id} is already pinned as peer {other.name!r}")
        if node_id == node.config.id:
            raise NodeConfigError(f"{url} is this node itself ({node_id})")
        row = store.PeerRow(
            name=name,
            node=node_id,
            party=party,
            url=url,
            key=pinned.to_text(),
            fingerprint=pinned.fingerprint,
            ca_pem=ca_pem if isinstance(ca_pem, str) else None,
            added=node.clock() if existing is None else existing.added,
        )
        store.upsert_peer(connection, row)
    config = node.reload_config()
    node.save_config(config.with_peer(PeerConfig(name=name, node=node_id, party=party, url=url, key=pinned.to_text())))
    return PeerAdded(row, pinned, already_pinned=existing is not None)


def _fetch_node(node: LocalNode, url: str, pinned: VerifyKey) -> dict[str, Any]:
    info = get_json(node.paths, url, "/v1/node", None)
    if not isinstance(info, dict):
        raise PeerRejected(f"{url}/v1/node did not answer a JSON object", status=200, error_type="NotJSON")
    served = VerifyKey.from_text(_text(info, "key", url))
    if served != pinned:
        raise KeyChanged(
            f"{url} serves key {served.fingerprint}, not the pinned {pinned.fingerprint}; refusing to pin it"
        )
    if url.startswith("https://"):
        ca_pem = _text(info, "ca_pem", url)
        tls.check_ca_pins_key(ca_pem, pinned)
        again = get_json(node.paths, url, "/v1/node", ca_pem.encode("ascii"))
        if not isinstance(again, dict) or again.get("key") != pinned.to_text():
            raise KeyChanged(f"{url} answered with another key over the pinned TLS link; refusing")
    return info


def _text(info: dict[str, Any], name: str, url: str) -> str:
    value = info.get(name)
    if not isinstance(value, str) or not value:
        raise PeerRejected(f"{url}/v1/node has no {name}", status=200, error_type="MalformedNodeInfo")
    return value


def remove_peer(node: LocalNode, name: str) -> store.PeerRow:
    """Forget a pin (the operator re-pins after checking a new key out of band); its history stays logged."""
    with node.writing() as connection:
        row = store.peer_by_name(connection, name)
        if row is None:
            raise NodeConfigError(f"no peer {name!r} is pinned")
        store.delete_peer(connection, name)
    config = node.reload_config()
    node.save_config(replace(config, peers=tuple(p for p in config.peers if p.name != name)))
    return row


def add_channel(node: LocalNode, policy: ChannelPolicy) -> ChannelPolicy:
    """Add a channel to node.toml (refused when the id exists or this node's party is not a member)."""
    config = node.reload_config()
    if config.party not in policy.members:
        raise NodeConfigError(
            f"this node's party {config.party} is not among the members of {policy.id} ({', '.join(policy.members)})"
        )
    node.save_config(config.with_channel(policy))
    return policy
