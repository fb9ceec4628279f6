"""``riskline log verify`` against its floor: as many bare Ed25519 verifications, measured in the same run.

A node's log of N entries (real signed envelopes, with their message rows and row seals, a signed head every
1,000 entries) is verified in full with 1 worker and with one per core, and then — after 1,000 more entries
are appended — incrementally (what was appended, plus a consistency proof from the head last verified in
full). The floor is N ``Ed25519PublicKey.verify`` calls of the ``cryptography`` package on envelopes of the
same size, one process: what a verifier that did nothing but the signatures would take.

    .venv/bin/python bench/bench_log_verify.py --entries 200000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bench_channel import _Template
from common import machine_line, write_section
from riskline.channel.checkpoint import Checkpoint, sign_checkpoint
from riskline.channel.merkle import MerkleTree, leaf_hash
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import Purpose, SigningKey, signed_bytes
from riskline.node.audit import VerifyResult, verify_node
from riskline.node.local import LocalNode, init_node
from riskline.storage import channel_store as store
from riskline.testing.nodes import bilateral_channel

_CHUNK = 20_000


def append_entries(node: LocalNode, count: int, *, head_every: int = 1000) -> None:
    """Append ``count`` envelopes of ours (free text on RU-EE) with their message rows and signed heads."""
    policy = ChannelPolicy.from_config(bilateral_channel())
    template = _Template(node.identity, node.origin, node.config.party, policy)
    with node.reading() as connection:
        tree = MerkleTree.from_leaf_hashes(store.leaf_hashes_from(connection, 0))
        seq = int(connection.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM messages").scalar_one())
    created = time.time() - 86_400.0
    target = tree.size + count
    entries: list[store.LogEntry] = []
    rows: list[store.MessageRow] = []
    heads: list[tuple[int, bytes, str]] = []
    while tree.size < target:
        index = tree.size
        seq += 1
        text = f"log entry {index}"
        at = created + index * 0.01
        leaf = template.leaf(seq=seq, created=at, size=index, root=tree.root(), text=text)
        hashed = leaf_hash(leaf)
        tree.append_leaf_hash(hashed)
        envelope_id = leaf[leaf.index(b'"id":"') + 6 :][:32].decode()
        entries.append(store.LogEntry(index, hashed, leaf, "out", envelope_id, "RU-EE", at))
        rows.append(
            store.MessageRow(
                envelope_id=envelope_id,
                log_index=index,
                direction="out",
                channel="RU-EE",
                thread=envelope_id,
                type="free_text",
                seq=seq,
                sender_node=node.origin,
                sender_party=node.config.party,
                in_reply_to=None,
                author="Duty officer (duty_officer)",
                level="duty_officer",
                language="en",
                summary=text,
                created=at,
                received=None,
                sent=at,
                deadline=None,
                status="closed",
                answered_by=None,
                answered_at=None,
            )
        )
        if tree.size % head_every == 0 or tree.size == target:
            head = sign_checkpoint(node.identity, Checkpoint(node.origin, tree.size, tree.root(), time.time()))
            heads.append((tree.size, head.checkpoint.root, _json(head.to_dict())))
        if len(entries) >= _CHUNK or tree.size == target:
            with node.writing() as connection:
                store.append_log_many(connection, entries)
                store.insert_messages(connection, rows)
                for size, root, data in heads:
                    store.store_checkpoint(connection, size, root, data, time.time())
            entries, rows, heads = [], [], []


def _json(value: object) -> str:
    from riskline.channel.canonical import canonical_json

    return canonical_json(value).decode("utf-8")


def bare_verifications(count: int, sample: bytes) -> float:
    """[s] ``count`` Ed25519 verifications of envelope-sized payloads (10,000 distinct, reused), one process."""
    key = SigningKey.generate()
    public = Ed25519PublicKey.from_public_bytes(key.public_key.raw)
    pairs = []
    for number in range(10_000):
        payload = sample.replace(b"log entry", f"entry {number:08d}".encode())
        pairs.append((key.sign(Purpose.ENVELOPE, payload), signed_bytes(Purpose.ENVELOPE, payload)))
    started = time.perf_counter()
    done = 0
    while done < count:
        for signature, message in pairs[: min(len(pairs), count - done)]:
            public.verify(signature, message)
        done += min(len(pairs), count - done)
    return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Run:
    what: str
    seconds: float
    result: VerifyResult


def timed(root: Path, what: str, *, workers: int, full: bool) -> Run:
    with contextlib.closing(LocalNode.open(root)) as node:
        started = time.perf_counter()
        result = verify_node(node, workers=workers, full=full)
        seconds = time.perf_counter() - started
    if not result.ok:
        print(f"{what}: FAILED {[str(p) for p in result.problems[:3]]}", flush=True)
    print(f"{what}: {seconds:.2f} s", flush=True)
    return Run(what, seconds, result)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries of the log (default 1,000,000)")
    parser.add_argument("--appended", type=int, default=1_000, help="entries appended before the incremental run")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="riskline-bench-log-verify-") as folder:
        root = Path(folder) / "ee-mod"
        init_node(root, party="EE", name="Estonian Defence Forces ops", node_id="ee-mod", tls_enabled=False)
        started = time.perf_counter()
        with contextlib.closing(LocalNode.open(root)) as node:
            append_entries(node, args.entries)
            with node.reading() as connection:
                sample = bytes(store.log_range(connection, 0, 1)[0].data)
        print(f"built {args.entries:,} entries in {time.perf_counter() - started:.0f} s", flush=True)
        bare = bare_verifications(args.entries, sample)
        print(f"bare Ed25519: {bare:.2f} s", flush=True)
        one = timed(root, "full, 1 worker", workers=1, full=True)
        many = timed(root, f"full, {cores} workers", workers=cores, full=True)
        with contextlib.closing(LocalNode.open(root)) as node:
            append_entries(node, args.appended)
        incremental = timed(root, f"incremental after {args.appended:,} new", workers=cores, full=False)
    n = args.entries
    lines = [
        f"## `riskline log verify` of {n:,} entries against {n:,} bare Ed25519 verifications",
        "",
        machine_line(),
        f"- Log: {n:,} real signed envelopes of one node (~{len(sample)} bytes each) with their message rows and "
        "row seals, a signed head every 1,000; every table checked (seals, what the log implies).",
        f"- Floor: {n:,} `Ed25519PublicKey.verify` calls (`cryptography`) in one process, same run.",
        "",
        "| run | time [s] | per entry [µs] | / floor |",
        "|---|---:|---:|---:|",
        f"| bare Ed25519 verifications (floor) | {bare:.1f} | {1e6 * bare / n:.1f} | 1.00 |",
        *(
            f"| {run.what} | {run.seconds:.1f} | {1e6 * run.seconds / n:.1f} | {run.seconds / bare:.2f} |"
            for run in (one, many)
        ),
        f"| {incremental.what} ({incremental.result.entries:,} entries) | {incremental.seconds:.2f} | — | — |",
        "",
    ]
    write_section("log_verify", "\n".join(lines))
    return 0 if all(run.result.ok for run in (one, many, incremental)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
