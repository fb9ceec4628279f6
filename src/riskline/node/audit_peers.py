"""``riskline log audit``: ask each peer what it witnessed of our log and of its own, and check both.

The checks are ``riskline.channel.witness`` (pure); this module does the I/O: it builds our answer to a peer's
``GET /v1/log/witness`` and, as the asker, fetches each peer's statement (and, when its log grew, its
RFC 9162 consistency proof from ``GET /v1/log/consistency``), keeps the heads it is shown (so that the next
audit, or ``log fork-evidence``, has them), and records what is wrong as security and node events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from riskline.channel.checkpoint import (
    Cosignature,
    EquivocationProof,
    SignedCheckpoint,
    detect_equivocation,
    verify_checkpoint,
)
from riskline.channel.errors import ChannelError, MalformedEnvelope
from riskline.channel.signing import VerifyKey
from riskline.channel.witness import (
    Finding,
    Observation,
    OurLog,
    WitnessStatement,
    check_gossip,
    check_our_log,
    check_peer_log,
    sizes_to_ask,
)
from riskline.node.client import error_document, ssl_for, timeout
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store
from riskline.storage import witness_store

TransportFactory = Callable[[str], httpx.AsyncBaseTransport | None]


def witness_statement(node: LocalNode, origin: str) -> WitnessStatement:
    """Our answer to ``origin`` asking what we witnessed: our head, the latest head of its log we cosigned,
    and the latest head we hold of every other log (gossip)."""
    with node.writing() as connection:
        head = node.head(connection)
        cosigned = witness_store.latest_cosigned_by_us(connection, origin)
        heads = witness_store.latest_heads(connection)
    return WitnessStatement(
        head=head,
        cosigned=None if cosigned is None else Cosignature.from_dict(json.loads(cosigned)),
        heads=tuple(SignedCheckpoint.from_dict(json.loads(data)) for data in heads),
    )


@dataclass(frozen=True, slots=True)
class PeerAudit:
    """The audit of one peer: what it said (None if it did not answer) and what that established."""

    peer: str
    observations: tuple[Observation, ...]
    statement: WitnessStatement | None = None

    @property
    def sound(self) -> bool:
        return all(o.finding is Finding.SOUND for o in self.observations)


def audit_peers(
    node: LocalNode, *, peers: Sequence[str] | None = None, transport_factory: TransportFactory | None = None
) -> list[PeerAudit]:
    """Audit every pinned peer (or those named, by name or node id); never raises on a peer's failure."""
    with node.database.read() as connection:
        pinned = store.list_peers(connection)
    if peers:
        wanted = set(peers)
        unknown = wanted - {p.name for p in pinned} - {p.node for p in pinned}
        if unknown:
            from riskline.node.errors import NodeConfigError

            raise NodeConfigError(f"no pinned peer {sorted(unknown)[0]!r} (see `riskline peer list`)")
        pinned = [p for p in pinned if p.name in wanted or p.node in wanted]
    return asyncio.run(_audit_all(node, pinned, transport_factory))


async def _audit_all(
    node: LocalNode, pinned: Sequence[store.PeerRow], transport_factory: TransportFactory | None
) -> list[PeerAudit]:
    results = []
    for peer in pinned:
        transport = transport_factory(peer.url) if transport_factory is not None else None
        ca = None if peer.ca_pem is None else peer.ca_pem.encode("ascii")
        async with httpx.AsyncClient(
            verify=ssl_for(node.paths, peer.url, ca), timeout=timeout(), transport=transport
        ) as client:
            results.append(await _audit_one(node, peer, client))
    return results


async def _audit_one(node: LocalNode, peer: store.PeerRow, client: httpx.AsyncClient) -> PeerAudit:
    base = peer.url.rstrip("/")
    try:
        response = await client.get(f"{base}/v1/log/witness", params={"origin": node.origin})
        if response.status_code != 200:
            document = error_document(response)
            raise MalformedEnvelope(f"answered {response.status_code}: {document.message}")
        statement = WitnessStatement.from_dict(response.json())
    except (httpx.HTTPError, OSError, ValueError, ChannelError) as error:
        reason = " ".join((str(error) or type(error).__name__).split())
        return PeerAudit(peer.node, (Observation(Finding.SILENT, peer.node, f"{peer.node} did not answer: {reason}"),))
    peer_key = VerifyKey.from_text(peer.key)
    with node.reading() as connection:
        kept = [SignedCheckpoint.from_dict(json.loads(data)) for data in witness_store.heads_of(connection, peer.node)]
        sizes = sizes_to_ask(statement, node.origin)
        size = node.tree.size
        roots = {s: node.tree.root(s) for s in sizes if s <= size}
        ours = {
            s: SignedCheckpoint.from_dict(json.loads(data))
            for s, data in witness_store.our_heads_of_sizes(connection, sizes).items()
        }
        others = [SignedCheckpoint.from_dict(json.loads(data)) for data in witness_store.all_heads(connection)]
        keys = {p.node: VerifyKey.from_text(p.key) for p in store.list_peers(connection)}
    observations = check_our_log(statement, peer.node, peer_key, OurLog(node.origin, node.key, size, roots, ours))
    latest = max((h.checkpoint.size for h in kept), default=None)
    proof: list[bytes] | None = None
    if latest is not None and latest < statement.head.checkpoint.size:
        try:
            answer = await client.get(
                f"{base}/v1/log/consistency", params={"from": latest, "to": statement.head.checkpoint.size}
            )
            proof = [bytes.fromhex(item) for item in answer.json()["proof"]] if answer.status_code == 200 else None
        except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError):
            proof = None
    observations += check_peer_log(statement, peer.node, peer_key, kept, proof)
    observations += check_gossip(statement, peer.node, keys, others, node.origin)
    _record(node, peer.node, statement, observations, keys)
    if not observations:
        observations = [
            Observation(
                Finding.SOUND,
                peer.node,
                f"{peer.node}: our log consistent with its cosigned head"
                + ("" if statement.cosigned is None else f" of {statement.cosigned.checkpoint.size} entries")
                + f"; its head of {statement.head.checkpoint.size} entries consistent with what it gave us",
            )
        ]
    return PeerAudit(peer.node, tuple(observations), statement)


def _record(
    node: LocalNode,
    peer: str,
    statement: WitnessStatement,
    observations: Sequence[Observation],
    keys: dict[str, VerifyKey],
) -> None:
    """Keep the heads shown that their pinned key signed (evidence for later), and tell the operator what is
    wrong."""
    with node.writing() as connection:
        now = node.clock()
        shown = [statement.head, *(h for h in statement.heads if h.checkpoint.origin != node.origin)]
        for head in shown:
            checkpoint = head.checkpoint
            key = keys.get(checkpoint.origin)
            try:
                verify_checkpoint(head, trusted=key)
            except ChannelError:
                continue
            if key is None:
                continue
            existing = store.peer_checkpoints_of_size(connection, "head", checkpoint.origin, checkpoint.size)
            if any(json.loads(data) == head.to_dict() for data in existing):
                continue
            data = json.dumps(head.to_dict(), sort_keys=True, separators=(",", ":"))
            # ``peer`` of a head names whose key signs it (``log verify`` checks it so), not who relayed it.
            store.store_peer_checkpoint(
                connection, "head", checkpoint.origin, checkpoint.size, checkpoint.root, checkpoint.origin, data, now
            )
        for observation in observations:
            detail = None if observation.evidence is None else {"equivocation_proof": observation.evidence.to_dict()}
            store.record_security_event(
                connection,
                at=now,
                kind=f"Audit{observation.finding.value.title()}",
                status=409,
                message=observation.message,
                peer=peer,
                detail=detail,
            )
            store.record_node_event(
                connection, at=now, kind=f"audit-{observation.finding}", message=observation.message, peer=peer
            )


def fork_evidence(node: LocalNode, origin: str) -> EquivocationProof | None:
    """Two signed heads of ``origin``'s log (ours included) of one size with different roots, from what this
    node holds; None when it holds no such pair."""
    with node.database.read() as connection:
        if origin == node.origin:
            heads = [SignedCheckpoint.from_dict(json.loads(data)) for _s, _r, data in store.all_checkpoints(connection)]
            heads += [
                SignedCheckpoint.from_dict(json.loads(data))
                for data in witness_store.all_heads(connection)
                if json.loads(data).get("checkpoint", {}).get("origin") == origin
            ]
        else:
            heads = [
                SignedCheckpoint.from_dict(json.loads(data)) for data in witness_store.heads_of(connection, origin)
            ]
    by_size: dict[int, list[SignedCheckpoint]] = {}
    for head in heads:
        for earlier in by_size.setdefault(head.checkpoint.size, []):
            proof = detect_equivocation(earlier, head)
            if proof is not None:
                return proof
        by_size[head.checkpoint.size].append(head)
    return None
