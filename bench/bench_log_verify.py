"""``riskline log verify`` against its floor: as many bare Ed25519 verifications, measured in the same run.

A node's log of N entries (real signed envelopes, with their message rows and row seals, a signed head every
1,000 entries) is verified in full with 1 worker and with one per core, and then — after 1,000 more entries
are appended — incrementally (what was appended, and the stored entries before the mark held against the
digest of those verified). The floor is N ``Ed25519PublicKey.verify`` calls of the ``cryptography`` package
on envelopes of the same size, one process, measured before and after the 1-worker run: what a verifier that
did nothing but the signatures would take. Wall and CPU time (this process and its workers) are both shown;
on a shared machine the CPU ratio is the one to read.

The log is built the way a node stores it (``store.append_log_many``, ``store.insert_messages``, the seals of
every row), only in bulk: signed in a loop and sealed per chunk (``sealed_in_bulk``); ``log verify`` then
checks all of it for real. ``--keep DIR`` keeps the node (and reuses one already there: a million entries take
minutes to build).

    PYTHONPATH=src .venv/bin/python bench/bench_log_verify.py --entries 100000
    PYTHONPATH=src .venv/bin/python bench/bench_log_verify.py --keep /tmp/log1m   # 1,000,000 entries
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from bench_channel import _Template
from common import machine_line, write_section
from riskline.channel.checkpoint import Checkpoint, sign_checkpoint
from riskline.channel.merkle import Frontier, MerkleTree, leaf_hash
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import Purpose, SigningKey, signed_bytes
from riskline.node.audit import VerifyResult, verify_node
from riskline.node.local import LocalNode, init_node, seal_key
from riskline.storage import channel_store as store
from riskline.storage import seals
from riskline.testing.nodes import bilateral_channel

_CHUNK = 20_000


@dataclass
class LogEnd:
    """Where the benchmark's log ends: its frontier and the last ``seq`` of our stream."""

    frontier: Frontier
    seq: int


def log_end(node: LocalNode) -> LogEnd:
    with node.reading() as connection:
        tree = MerkleTree.from_leaf_hashes(store.leaf_hashes_from(connection, 0))
        seq = int(connection.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM messages").scalar_one())
    return LogEnd(Frontier.of(tree), seq)


def append_entries(node: LocalNode, count: int, *, head_every: int = 1000, end: LogEnd | None = None) -> LogEnd:
    """Append ``count`` envelopes of ours (free text on RU-EE) with their message rows and signed heads, as the
    node stores them (``store.append_log_many``, ``store.insert_messages``, ``store.store_checkpoint``), only
    faster: signed in a loop without the channel machinery, and sealed per chunk (``sealed_in_bulk``) instead
    of row by row by the triggers."""
    policy = ChannelPolicy.from_config(bilateral_channel())
    template = _Template(node.identity, node.origin, node.config.party, policy)
    end = log_end(node) if end is None else end
    frontier, seq = end.frontier, end.seq
    sealer = seals.Sealer(seal_key(node.anchor))
    created = time.time() - 86_400.0
    target = frontier.size + count
    entries: list[store.LogEntry] = []
    rows: list[store.MessageRow] = []
    heads: list[tuple[int, bytes, str]] = []
    while frontier.size < target:
        index = frontier.size
        seq += 1
        text = f"log entry {index}"
        at = created + index * 0.01
        leaf = template.leaf(seq=seq, created=at, size=index, root=frontier.root(), text=text)
        hashed = leaf_hash(leaf)
        frontier.append_leaf_hash(hashed)
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
        if frontier.size % head_every == 0 or frontier.size == target:
            head = sign_checkpoint(node.identity, Checkpoint(node.origin, frontier.size, frontier.root(), time.time()))
            heads.append((frontier.size, head.checkpoint.root, _json(head.to_dict())))
        if len(entries) >= _CHUNK or frontier.size == target:
            with node.writing() as connection, sealed_in_bulk(connection, sealer, _BULK_TABLES):
                store.append_log_many(connection, entries)
                store.insert_messages(connection, rows)
                for size, root, data in heads:
                    store.store_checkpoint(connection, size, root, data, time.time())
            entries, rows, heads = [], [], []
    return LogEnd(frontier, seq)


_BULK_TABLES = ("log_entries", "messages")


@contextlib.contextmanager
def sealed_in_bulk(connection: Connection, sealer: seals.Sealer, tables: Sequence[str]) -> Iterator[None]:
    """Within the caller's write transaction: the seal triggers of ``tables`` are dropped while the body
    inserts, then the new rows (above each table's highest ``rowid`` before) are sealed as the triggers would
    have sealed them — the same ``Sealer.seal`` of the values as stored, their MACs XOR-ed into the table's
    head — and the triggers are put back exactly as they were. Inserts only."""
    quoted = ", ".join(f"'{table}'" for table in tables)
    triggers = connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({quoted})"
    ).fetchall()
    lowest = -(2**63)
    marks = {
        table: int(connection.exec_driver_sql(f'SELECT coalesce(max(rowid), ?) FROM "{table}"', (lowest,)).scalar_one())
        for table in tables
    }
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    known = seals.heads(connection)
    for table in tables:
        head = known[table]
        selected = ", ".join(f'"{c}"' for c in json.loads(head.columns))
        digest, added, batch = head.digest, 0, []
        for row in connection.exec_driver_sql(
            f'SELECT rowid, {selected} FROM "{table}" WHERE rowid > ? ORDER BY rowid', (marks[table],)
        ):
            sealed = sealer.seal(table, row[0], *row[1:])
            digest = seals.xor_digest(digest, sealed)
            batch.append((table, row[0], sealed))
            added += 1
        connection.exec_driver_sql("INSERT INTO row_seals (tbl, row_id, sealed) VALUES (?, ?, ?)", batch)
        rows = head.rows + added
        connection.exec_driver_sql(
            "UPDATE seal_heads SET rows = ?, digest = ?, mac = ? WHERE tbl = ?",
            (rows, digest, sealer.head_mac(table, head.columns, rows, digest), table),
        )
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)


def _json(value: object) -> str:
    from riskline.channel.canonical import canonical_json

    return canonical_json(value).decode("utf-8")


def bare_verifications(count: int, sample: bytes) -> tuple[float, float]:
    """[s] Wall and CPU time of ``count`` Ed25519 verifications of envelope-sized payloads (10,000 distinct,
    reused), one process."""
    key = SigningKey.generate()
    public = Ed25519PublicKey.from_public_bytes(key.public_key.raw)
    pairs = []
    for number in range(10_000):
        payload = sample.replace(b"log entry", f"entry {number:08d}".encode())
        pairs.append((key.sign(Purpose.ENVELOPE, payload), signed_bytes(Purpose.ENVELOPE, payload)))
    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < count:
        for signature, message in pairs[: min(len(pairs), count - done)]:
            public.verify(signature, message)
        done += min(len(pairs), count - done)
    return time.perf_counter() - started, time.process_time() - cpu


@dataclass(frozen=True, slots=True)
class Run:
    what: str
    seconds: float
    cpu: float
    """[s] CPU time of this process and of the worker processes it waited for."""
    result: VerifyResult


def _cpu() -> float:
    ours = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ours.ru_utime + ours.ru_stime + children.ru_utime + children.ru_stime


def timed(root: Path, what: str, *, workers: int, full: bool) -> Run:
    with contextlib.closing(LocalNode.open(root)) as node:
        started, cpu = time.perf_counter(), _cpu()
        result = verify_node(node, workers=workers, full=full)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if not result.ok:
        print(f"{what}: FAILED {[str(p) for p in result.problems[:3]]}", flush=True)
    print(f"{what}: {seconds:.2f} s, CPU {cpu:.2f} s (load {_load()})", flush=True)
    return Run(what, seconds, cpu, result)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries of the log (default 1,000,000)")
    parser.add_argument("--appended", type=int, default=1_000, help="entries appended before the incremental run")
    parser.add_argument(
        "--keep", type=Path, help="build the node in this folder and keep it; reuse the node already there"
    )
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"load at start: {_load()}", flush=True)
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="riskline-bench-log-verify-")))
        else:
            folder = args.keep
            folder.mkdir(parents=True, exist_ok=True)
        root = folder / "ee-mod"
        if not root.exists():
            init_node(root, party="EE", name="Estonian Defence Forces ops", node_id="ee-mod", tls_enabled=False)
            started, cpu = time.perf_counter(), time.process_time()
            with contextlib.closing(LocalNode.open(root)) as node:
                append_entries(node, args.entries)
            print(
                f"built {args.entries:,} entries in {time.perf_counter() - started:.0f} s"
                f" (CPU {time.process_time() - cpu:.0f} s)",
                flush=True,
            )
        with contextlib.closing(LocalNode.open(root)) as node, node.reading() as connection:
            sample = bytes(store.log_range(connection, 0, 1)[0].data)
            n = store.log_size(connection)
        bare = [bare_verifications(n, sample)]
        print(f"bare Ed25519: {bare[0][0]:.2f} s, CPU {bare[0][1]:.2f} s (load {_load()})", flush=True)
        one = timed(root, "full, 1 worker", workers=1, full=True)
        bare.append(bare_verifications(n, sample))
        print(f"bare Ed25519: {bare[1][0]:.2f} s, CPU {bare[1][1]:.2f} s (load {_load()})", flush=True)
        many = timed(root, f"full, {cores} workers", workers=cores, full=True)
        with contextlib.closing(LocalNode.open(root)) as node:
            append_entries(node, args.appended)
        incremental = timed(root, f"incremental after {args.appended:,} new", workers=cores, full=False)
        floor_wall = sum(wall for wall, _ in bare) / len(bare)
        floor_cpu = sum(cpu for _, cpu in bare) / len(bare)
        appended_floor = floor_cpu * args.appended / n
    print(f"load at end: {_load()}", flush=True)
    lines = [
        f"## `riskline log verify` of {n:,} entries against {n:,} bare Ed25519 verifications",
        "",
        machine_line(),
        f"- Log: {n:,} real signed envelopes of one node (~{len(sample)} bytes each) with their message rows and "
        "row seals, a signed head every 1,000; every table checked (seals, what the log implies).",
        f"- Floor: {n:,} `Ed25519PublicKey.verify` calls (`cryptography`) in one process, same run, measured"
        " before and after the 1-worker run (mean; wall "
        + " / ".join(f"{wall:.1f}" for wall, _ in bare)
        + " s). CPU time counts the worker processes; on a shared machine it is the fairer ratio.",
        "",
        "| run | wall [s] | CPU [s] | CPU per entry [µs] | wall / floor | CPU / floor |",
        "|---|---:|---:|---:|---:|---:|",
        f"| bare Ed25519 verifications (floor) | {floor_wall:.1f} | {floor_cpu:.1f} | {1e6 * floor_cpu / n:.1f}"
        " | 1.00 | 1.00 |",
        *(
            f"| {run.what} | {run.seconds:.1f} | {run.cpu:.1f} | {1e6 * run.cpu / n:.1f}"
            f" | {run.seconds / floor_wall:.2f} | {run.cpu / floor_cpu:.2f} |"
            for run in (one, many)
        ),
        f"| {incremental.what} ({incremental.result.entries:,} entries) | {incremental.seconds:.2f}"
        f" | {incremental.cpu:.2f} | — | — | {incremental.cpu / appended_floor:.1f}× {args.appended:,} verifications |",
        "",
    ]
    write_section(f"log_verify_{n}", "\n".join(lines))
    return 0 if all(run.result.ok for run in (one, many, incremental)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
