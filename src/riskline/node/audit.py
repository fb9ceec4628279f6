"""``riskline log verify`` / ``export`` / ``verify-bundle``: re-check everything a node holds, offline.

``verify`` builds the node's proof bundle in memory (entries, our signed heads, the cosignatures peers gave of
them, every receipt given and received, the public keys) and runs the protocol's ``verify_bundle`` over it,
which names the first failing entry. Around it, the checks only the database can fail:

* ``log_entries`` indexes are dense from 0 (a deleted row is named), and each stored ``leaf_hash`` is the
  hash of its ``data`` (an edited row is named);
* the stored root of each of our checkpoints is the one it signs;
* every head of a peer's log we kept is signed by the pinned key, two of one size with different roots are
  reported with the portable ``EquivocationProof``, and every cosignature we gave verifies.

``export`` writes the same bundle as JSON; ``verify_bundle_file`` checks one with only the keys inside
(and, optionally, the key the operator expects the log to be signed by).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from riskline.channel.bundle import (
    Bundle,
    BundleReport,
    EntryChecker,
    EntryFacts,
    Failure,
    KeyRing,
    Resume,
    check_bundle,
    verify_bundle,
)
from riskline.channel.checkpoint import (
    Cosignature,
    SignedCheckpoint,
    detect_equivocation,
    verify_checkpoint,
    verify_cosignature,
)
from riskline.channel.errors import ChannelError, KeyChanged, MalformedEnvelope
from riskline.channel.key_history import KeyHistory
from riskline.channel.merkle import Frontier
from riskline.channel.receipt import Receipt, SignatureMemo, signatures_hold
from riskline.channel.signing import Purpose, VerifyKey
from riskline.node import audit_sql
from riskline.node.audit_implied import EVERYTHING, Since, implied_problems
from riskline.node.audit_workers import LogChanged, facts_of_range, seals_of_range, streamed_facts
from riskline.node.key_rotation import logged_both_ways, own_history, peer_histories
from riskline.node.local import LocalNode, seal_key
from riskline.storage import channel_store as store
from riskline.storage import seals, seals_pg

PARALLEL_FROM = 20_000
"""Logs shorter than this are checked in one process whatever ``workers`` says (starting processes costs more)."""
_UNBOUNDED = 2**62
PARALLEL_CHUNK = 10_000
"""Entries per worker task."""
SEAL_CHUNK = 50_000
"""Rowids of a sealed table per worker task (tables of ``PARALLEL_FROM`` rows or more)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that failed: where (a table or a bundle section: ``entries`` with the log index,
    ``checkpoints``, ``receipts``, ``messages``, …), which row (``index``, or ``row`` named by its key) and why."""

    section: str
    index: int | None
    reason: str
    row: str | None = None

    def __str__(self) -> str:
        if self.row is not None:
            where = f"{self.section}[{self.row}]"
        else:
            where = self.section if self.index is None else f"{self.section}[{self.index}]"
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.section, "index": self.index, "row": self.row, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries: int
    """Entries in the log."""
    checkpoints: int
    receipts: int
    cosignatures: int
    peer_heads: int
    problems: tuple[Problem, ...] = ()
    equivocations: tuple[dict[str, Any], ...] = field(default=())
    """Portable proofs (``EquivocationProof.to_dict()``) of peers that signed two roots for one size."""
    checked_from: int = 0
    """The first entry checked: 0 for a full check; else the size verified before (``--full`` to redo it)."""
    verified_before: float | None = None
    """[s] When the entries before ``checked_from`` were checked (POSIX time of this node's clock)."""
    resume: Resume | None = field(default=None, compare=False, repr=False)
    """Where the next incremental check can go on from (sound results only)."""

    @property
    def first_failing_entry(self) -> int | None:
        entries = [p.index for p in self.problems if p.section == "entries" and p.index is not None]
        return min(entries) if entries else None


def node_keys(node: LocalNode) -> KeyRing:
    """Every node's current key, with the keys each rotated away from (``key_rotation.py``)."""
    with node.database.read() as connection:
        peers = store.list_peers(connection)
        logged = logged_both_ways(connection)
        histories = peer_histories(connection, peers, logged)
        histories[node.origin] = own_history(node, connection, logged)
    return _key_ring(node, peers, histories)


def _key_ring(node: LocalNode, peers: Sequence[store.PeerRow], histories: Mapping[str, KeyHistory]) -> KeyRing:
    keys = {peer.node: VerifyKey.from_text(peer.key) for peer in peers}
    keys |= {name: history.current for name, history in histories.items()}
    keys[node.origin] = node.key
    previous = {name: [p.key for p in history.periods if p.key != keys[name]] for name, history in histories.items()}
    return KeyRing(keys, previous)


def build_bundle(node: LocalNode, *, upto: int | None = None, receipts_from: int = 0) -> dict[str, Any]:
    """The node's proof bundle as a JSON-ready dict: entries ``0..upto`` (default all), their heads, cosignatures
    and the receipts of entries from ``receipts_from`` on."""
    return node_bundle(node, upto=upto, receipts_from=receipts_from).to_dict()


def node_bundle(
    node: LocalNode,
    *,
    upto: int | None = None,
    receipts_from: int = 0,
    with_entries: bool = True,
    after: int = -1,
    keys: KeyRing | None = None,
) -> Bundle:
    """``build_bundle`` as a ``Bundle`` (``with_entries=False``: without the entries, for ``check_bundle`` with
    their facts found elsewhere; ``keys``: ``node_keys``, when the caller has them)."""
    with node.database.read() as connection:
        stored = store.log_size(connection)
        size = stored if upto is None else min(upto, stored)
        # The whole log carries every head we signed, even one beyond the entries still stored: a truncated
        # log must not export as a sound bundle. A prefix (``upto``) carries the heads within it.
        bound = _UNBOUNDED if upto is None else size
        rows = store.log_range(connection, 0, size) if with_entries else []
        ids = set(store.envelope_ids_from(connection, receipts_from, size))
        checkpoints = [
            SignedCheckpoint.from_dict(json.loads(data))
            for stored_size, _root, data in store.all_checkpoints(connection)
            if after < stored_size <= bound
        ]
        cosignatures = []
        for kind, origin, cosigned_size, _peer, data in store.all_peer_checkpoints(connection):
            if kind == "cosigned_by_peer" and origin == node.origin and after < cosigned_size <= bound:
                cosignatures.append(Cosignature.from_dict(json.loads(data)))
        receipts = [
            Receipt.from_wire(json.loads(data))
            for envelope_id, _direction, _peer, data in store.all_receipts(connection)
            if envelope_id in ids
        ]
        receipts = [r for r in receipts if _within(r, bound, node)]
    return Bundle(
        node.origin,
        node_keys(node) if keys is None else keys,
        tuple(row.data for row in rows),
        tuple(checkpoints),
        tuple(cosignatures),
        tuple(receipts),
    )


def _within(receipt: Receipt, size: int, node: LocalNode) -> bool:
    """A receipt belongs in a prefix bundle when the heads it names are within the prefix."""
    if receipt.receiver.node == node.origin:  # ours, under whichever of our keys signed it
        return receipt.receiver_checkpoint.checkpoint.size <= size
    return receipt.cosignature.checkpoint.size <= size


def verify_node(node: LocalNode, *, workers: int = 1, full: bool = True) -> VerifyResult:
    """Re-check the node's log and everything stored about it; never raises on a bad database row.

    ``workers`` > 1 checks the entries (parse and signature) and the receipts' signatures in that many processes,
    each reading its share of the log from the database while this one checks what only it can; the in-order
    checks stay here, so the result is the same as with one.

    ``full=False`` goes on from the last head verified (``log_verified``, sealed like every table): the frontier
    of the Merkle tree at that size must still give its root, the new entries are checked as a full check
    would, their heads, receipts and cosignatures with them, and of the large tables the rows added since (with
    every table's row count). The stored entries before the mark are held against the digest of those verified
    (``_leaf_digest``, a scan of the index of leaf hashes), so one rewritten or deleted there is found, and the
    check is then redone in full, which names it. What else changed before the mark is for ``full=True``, which
    redoes everything. Either way, a sound result is remembered for the next incremental check.
    """
    since = None if full else _verified_before(node)
    marks = _marks_before_the_check(node)
    with node.database.read() as connection:
        size = store.log_size(connection)
    if since is None or since.leaves is None or since.resume.frontier.size > size:
        return _checked(node, workers, size, since, marks)
    verified = since.resume.frontier.size
    with ThreadPoolExecutor(2) as pool:
        # The stored entries before the mark are held against the digest of those verified, and the seals of
        # the tables checked from their marks are counted, while the new entries are checked: the database
        # reads them without the GIL, on the other core. Should the entries not hold, what was checked is
        # dropped and the check is redone in full.
        prefix = pool.submit(_stored_digest, node, verified)
        sealed = pool.submit(_seal_counts, node) if since.marks and node.database.dialect == "sqlite" else None
        result = _run(node, workers, size, since, prefix_held=True, sealed=sealed)
        digest = prefix.result()
    if digest.hexdigest() != since.leaves:
        return _checked(node, workers, size, None, marks, [_rewritten(verified, size)])
    if result.ok:
        _remember(node, result, marks, digest)
    return result


def _checked(
    node: LocalNode,
    workers: int,
    size: int,
    since: _Before | None,
    marks: dict[str, int],
    prior: Sequence[Problem] = (),
) -> VerifyResult:
    """``_run``, a sound result remembered for the next incremental check."""
    result = _run(node, workers, size, since, prior)
    if result.ok:
        _remember(node, result, marks)
    return result


def _marks_before_the_check(node: LocalNode) -> dict[str, int]:
    """``seals.marks`` taken before a check reads anything: a row the node stores while the check runs lies
    beyond them, so the next incremental check reads it (marks taken after would hide it for good)."""
    if node.database.dialect != "sqlite":
        return {}
    with node.database.read() as connection:
        counted = {table: head.rows for table, head in seals.heads(connection).items()}
        return seals.marks(connection, rows=counted)


def _run(
    node: LocalNode,
    workers: int,
    size: int,
    since: _Before | None,
    prior: Sequence[Problem] = (),
    *,
    prefix_held: bool = False,
    sealed: Future[dict[str, int]] | None = None,
) -> VerifyResult:
    """``_verify`` with worker processes when there are entries enough to check from ``since`` on."""
    start = since.resume.frontier.size if since is not None else 0
    with contextlib.ExitStack() as stack:
        helpers: _Helpers | None = None
        if workers > 1 and size - start >= PARALLEL_FROM:
            helpers = stack.enter_context(_Helpers(node, workers, size, start))
        return _verify(node, helpers, since, prior, prefix_held=prefix_held, sealed=sealed)


def _seal_counts(node: LocalNode) -> dict[str, int]:
    """``seals.seal_counts``, in a read transaction of its own."""
    with node.database.read() as connection:
        return seals.seal_counts(connection)


def _stored_digest(node: LocalNode, verified: int) -> Any:
    """``_leaf_digest`` of the first ``verified`` entries stored, in a read transaction of its own."""
    with node.database.read() as connection:
        return _leaf_digest(connection, 0, verified)


def _leaf_digest(connection: Any, start: int, end: int, digest: Any = None) -> Any:
    """SHA-256 over the stored leaf hashes of entries ``start..end-1`` in order, continuing ``digest`` (a
    ``hashlib`` object). What an incremental check holds the stored log before its mark against: one C-level
    hash of 32 bytes an entry, where the Merkle root would cost a hash call per node. SQLite reads them from the
    index ``(idx, leaf_hash)`` (migration 0012), not from the table's rows, which carry the envelopes."""
    digest = hashlib.sha256() if digest is None else digest
    if connection.dialect.name == "sqlite":  # one blob, concatenated by SQLite in the subquery's order
        joined = connection.exec_driver_sql(
            "SELECT CAST(group_concat(leaf_hash, '') AS BLOB) FROM"
            " (SELECT leaf_hash FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx)",
            (start, end),
        ).scalar()
        digest.update(b"" if joined is None else bytes(joined))
        return digest
    rows = connection.execute(
        sa.select(store.log_entries.c.leaf_hash)
        .where(store.log_entries.c.idx >= start, store.log_entries.c.idx < end)
        .order_by(store.log_entries.c.idx)
    )
    digest.update(b"".join([bytes(row[0]) for row in rows]))
    return digest


def _entries_outside(connection: Any, verified: int) -> int:
    """The stored entries not among the first ``verified`` (index ``verified`` or more, or below 0): with the
    digest of those held, the log's row count is ``verified`` more, without counting a million rows."""
    index = store.log_entries.c.idx
    query = sa.select(sa.func.count()).select_from(store.log_entries).where(sa.or_(index >= verified, index < 0))
    return int(connection.execute(query).scalar_one())


def _rewritten(verified: int, size: int) -> Problem:
    """The stored log before the mark is not the one verified: no consistency proof from the head verified to
    the log now exists (RFC 9162 §2.1.4), so the check is redone in full, which names the entry."""
    return Problem(
        "log_verified",
        None,
        f"the first {verified} entries stored are not those verified at {verified} entries: an entry before"
        f" the mark was rewritten (the log of {size} entries is not an extension of the one verified); checked in full",
        row="id=1",
    )


@dataclass(frozen=True, slots=True)
class _Before:
    """What the last sound ``log verify`` left for the next one (the ``log_verified`` row)."""

    resume: Resume
    root: bytes
    marks: dict[str, int]
    verified: float
    leaves: str | None = None
    """SHA-256 hex of the stored leaf hashes of the entries verified (``_leaf_digest``); None from before."""


def _verified_before(node: LocalNode) -> _Before | None:
    with node.database.read() as connection:
        row = connection.execute(sa.select(seals.log_verified).where(seals.log_verified.c.id == 1)).one_or_none()
    if row is None:
        return None
    try:
        state = json.loads(row.state)
        leaves = state.get("leaves")
        return _Before(
            Resume.from_dict(state["resume"]),
            bytes(row.root),
            dict(state["marks"]),
            float(row.verified),
            leaves if isinstance(leaves, str) else None,
        )
    except (MalformedEnvelope, KeyError, TypeError, ValueError):
        return None  # unreadable: a full check (the row's seal reports the edit)


def _remember(node: LocalNode, result: VerifyResult, marks: dict[str, int], digest: Any = None) -> None:
    """Keep where this sound check ended, for the next incremental one (``marks``: taken before it began;
    ``digest``: ``_leaf_digest`` of the entries before ``result.checked_from``, when it went on from there)."""
    if result.resume is None:
        return
    size = result.resume.frontier.size
    with node.database.read() as connection:
        if digest is None or not result.checked_from:
            leaves = _leaf_digest(connection, 0, size)
        else:
            leaves = _leaf_digest(connection, result.checked_from, size, digest)
    state = json.dumps(
        {"resume": result.resume.to_dict(), "marks": marks, "leaves": leaves.hexdigest()}, separators=(",", ":")
    )
    values = {
        "size": result.resume.frontier.size,
        "root": result.resume.frontier.root(),
        "state": state,
        "verified": node.clock(),
    }
    with node.recording() as connection:
        updated = connection.execute(
            seals.log_verified.update().where(seals.log_verified.c.id == 1).values(**values)
        ).rowcount
        if not updated:
            connection.execute(seals.log_verified.insert().values(id=1, **values))


def _verify(
    node: LocalNode,
    helpers: _Helpers | None,
    since: _Before | None,
    prior: Sequence[Problem] = (),
    *,
    prefix_held: bool = False,
    sealed: Future[dict[str, int]] | None = None,
) -> VerifyResult:
    """``prefix_held``: the stored leaf hashes before ``since``'s mark are the ones verified (``_leaf_digest``),
    so those entries are there, dense from 0, and only the ones from the mark on are counted. ``sealed``: the
    seals of each table, being counted (``seals.seal_counts``)."""
    problems: list[Problem] = list(prior)
    start = 0 if since is None else since.resume.frontier.size
    with node.database.read() as connection:
        entries = store.log_size(connection)
        if since is not None and (entries < start or since.resume.frontier.root() != since.root):
            problems.append(
                Problem(
                    "log_verified",
                    None,
                    f"the log was verified at {start} entries and now holds {entries}: truncated"
                    if entries < start
                    else "the remembered frontier does not give the remembered root (edited)",
                    row="id=1",
                )
            )
            since, start = None, 0
        held = since is not None and prefix_held
        if held:
            # The digest of the first ``start`` leaf hashes held: exactly those entries are there before the mark.
            count = _entries_outside(connection, start)
            dense = count == entries - start
            gap = None if dense else audit_sql.first_gap(connection, start)
        else:
            count, first = connection.exec_driver_sql("SELECT count(*), min(idx) FROM log_entries").one()
            dense = count == entries
            # Distinct integers from 0 to entries - 1, as many as entries: all of them (the gap query reads them all).
            gap = None if dense and first == 0 else audit_sql.first_gap(connection, start if dense else 0)
        if gap is not None:
            expected, found = gap
            problems.append(
                Problem("entries", expected, f"entry {expected} is missing (the next stored entry is {found})")
            )
            entries = expected
        for size, root, data in store.all_checkpoints(connection):
            if size <= start:
                continue  # checked before, as the log was (its row still is, with the table's seals)
            try:
                signed = SignedCheckpoint.from_dict(json.loads(data))
            except (MalformedEnvelope, ValueError) as error:
                problems.append(Problem("checkpoints", size, f"unreadable: {error}"))
                continue
            if signed.checkpoint.size != size or signed.checkpoint.root != root:
                problems.append(Problem("checkpoints", size, "stored size/root differ from the signed checkpoint"))
        peers = store.list_peers(connection)
        logged = logged_both_ways(connection)
        histories = peer_histories(connection, peers, logged)
        own = own_history(node, connection, logged)
        ours = own.keys()
        stored = store.all_peer_checkpoints(connection)
    keys = _key_ring(node, peers, {**histories, node.origin: own})
    mark = 0 if since is None else since.marks.get("peer_checkpoints", 0)
    heads_by_size: dict[tuple[str, int], list[SignedCheckpoint]] = {}
    equivocations: list[dict[str, Any]] = []
    peer_heads = 0
    for position, (kind, origin, _size, peer, data) in enumerate(stored):
        if position < mark:
            continue  # checked before (the heads of a peer's log a node keeps grow with its deliveries)
        try:
            if kind == "head":
                head = SignedCheckpoint.from_dict(json.loads(data))
                history = histories.get(peer)
                signer = None if history is None else history.current
                if history is not None and head.signer in history:
                    signer = head.signer  # a key the peer rotated away from since
                verify_checkpoint(head, trusted=signer)
                for earlier in heads_by_size.setdefault((origin, head.checkpoint.size), []):
                    proof = detect_equivocation(earlier, head)
                    if proof is not None:
                        equivocations.append(proof.to_dict())
                        problems.append(
                            Problem("peer_heads", position, f"{peer} signed two roots for size {head.checkpoint.size}")
                        )
                heads_by_size[(origin, head.checkpoint.size)].append(head)
                peer_heads += 1
            elif kind == "cosigned_by_us":
                cosignature = Cosignature.from_dict(json.loads(data))
                mine = cosignature.witness if cosignature.witness in ours else node.key
                verify_cosignature(cosignature, trusted=mine)
        except (ChannelError, ValueError) as error:
            problems.append(Problem("peer_heads" if kind == "head" else "cosignatures_given", position, str(error)))
    report: BundleReport | None = None
    if not any(p.section == "entries" for p in problems):
        parallel = helpers is not None and helpers.size == entries
        resume = None if since is None else Resume(Frontier(start, since.resume.frontier.nodes), since.resume.streams)
        try:
            bundle = node_bundle(
                node, upto=entries, with_entries=False, receipts_from=start, after=start - 1, keys=keys
            )
        except (ChannelError, ValueError) as error:
            problems.append(Problem("bundle", None, f"cannot assemble the log: {error}"))
        else:
            try:
                if helpers is not None and parallel:
                    report = check_bundle(
                        bundle, facts=helpers.facts(), memo=helpers.receipt_signatures(bundle), resume=resume
                    )
                else:
                    checker = EntryChecker(bundle.keys, node.origin)
                    facts = (
                        streamed_facts(checker, node.paths.database, start, entries)
                        if node.database.dialect == "sqlite"
                        else audit_sql.streamed_facts(checker, node.database, start, entries)
                    )
                    report = check_bundle(bundle, facts=facts, resume=resume)
            except LogChanged as error:
                report = BundleReport(ok=False, entries_checked=0, failure=Failure("bundle", 0, str(error)))
            if report.failure is not None:
                failure = report.failure
                problems.append(Problem(failure.section, failure.index, failure.reason))
    log_sound = not any(p.section == "entries" for p in problems)
    checked = helpers.seal_checks() if helpers is not None else {}
    problems.extend(
        _database_problems(node, entries, since, log_sound=log_sound, checked=checked, held=held, sealed=sealed)
    )
    problems.sort(key=lambda p: (p.section != "entries", p.index if p.index is not None else -1))
    return VerifyResult(
        ok=not problems,
        entries=entries,
        checkpoints=0 if report is None else report.checkpoints_checked,
        receipts=0 if report is None else report.receipts_checked,
        cosignatures=0 if report is None else report.cosignatures_checked,
        peer_heads=peer_heads,
        problems=tuple(problems),
        equivocations=tuple(equivocations),
        checked_from=start,
        verified_before=None if since is None else since.verified,
        resume=None if report is None or problems else report.resume,
    )


def _database_problems(
    node: LocalNode,
    entries: int,
    since: _Before | None,
    *,
    log_sound: bool,
    checked: Mapping[str, seals.RowsChecked] | None = None,
    held: bool = False,
    sealed: Future[dict[str, int]] | None = None,
) -> list[Problem]:
    """Every row seal (``storage/seals.py``) and, when the log itself holds, what it implies about the other
    tables (``audit_implied``); with ``since``, what was added after it. ``checked``: the seals of large tables
    the workers checked (``seals.check_table`` trusts them only when they hold); ``held``: the entries before
    ``since`` are the ones verified (``_leaf_digest``), so only the ones after are counted; ``sealed``: the seals
    of each table, counted before (``seals.check_table`` trusts a count only when it is the head's)."""
    problems: list[Problem] = []
    marks = {} if since is None else since.marks
    with node.database.read() as connection:
        if log_sound:
            after = EVERYTHING if since is None else Since(since.resume.frontier.size, marks)
            for implied in implied_problems(connection, node.origin, entries, after):
                problems.append(Problem(implied.table, None, implied.reason, row=implied.row))
        sealer = seals.Sealer(seal_key(node.anchor))
        if node.database.dialect == "sqlite":
            counted = {}
            if held and since is not None:  # counted here, with the seal heads they are held against
                verified = since.resume.frontier.size
                counted["log_entries"] = verified + _entries_outside(connection, verified)
            sealed_problems = seals.check_all(
                connection,
                sealer,
                marks,
                checked=checked,
                counted=counted,
                seals_counted=None if sealed is None else sealed.result(),
            )
        else:
            sealed_problems = seals_pg.check_all(connection, sealer, marks)
        for found in sealed_problems:
            problems.append(Problem(found.table, None, found.reason, row=found.row))
    return problems


class _Helpers:
    """Worker processes for ``verify_node``: they start on the entries at once, a range of the log each."""

    def __init__(self, node: LocalNode, workers: int, size: int, start: int = 0) -> None:
        self.size = size
        keys = node_keys(node)
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        checker = EntryChecker(keys, node.origin)
        database: Path | str = node.paths.database
        task: Any = facts_of_range
        if node.database.dialect != "sqlite":  # each worker reads its range from the server
            database, task = node.database.engine.url.render_as_string(hide_password=False), audit_sql.facts_of_url
        self._entries = [
            self._pool.submit(task, checker, database, low, min(size, low + PARALLEL_CHUNK))
            for low in range(start, size, PARALLEL_CHUNK)
        ]
        self._seals: dict[str, list[Future[seals.RowsChecked]]] = {}
        if start == 0 and isinstance(database, Path):  # SQLite: the workers read the file
            self._check_seals(node, database)

    def _check_seals(self, node: LocalNode, database: Path) -> None:
        """Queue the seal checks of the large tables, ``SEAL_CHUNK`` rowids a task (a full check only)."""
        key = seal_key(node.anchor)
        with node.database.read() as connection:
            for table, head in seals.heads(connection).items():
                if table == seals.MASTER or head.rows < PARALLEL_FROM:
                    continue
                low, high = connection.exec_driver_sql(f'SELECT min(rowid), max(rowid) FROM "{table}"').one()
                if low is None:
                    continue
                columns = json.loads(head.columns)
                primary = seals.primary_key(connection, table)
                bounds = list(range(int(low) - 1, int(high), SEAL_CHUNK))
                self._seals[table] = [
                    self._pool.submit(
                        seals_of_range,
                        key,
                        database,
                        table,
                        columns,
                        primary,
                        None if number == 0 else above,
                        None if number == len(bounds) - 1 else above + SEAL_CHUNK,
                    )
                    for number, above in enumerate(bounds)
                ]

    def __enter__(self) -> _Helpers:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def facts(self) -> Iterator[EntryFacts]:
        """The entries' facts, in log order, as the workers deliver them."""
        for task in self._entries:
            yield from task.result()

    def seal_checks(self) -> dict[str, seals.RowsChecked]:
        """The workers' seal checks of the large tables, by table (each table's ranges combined)."""
        return {
            table: seals.RowsChecked.combined(table, [task.result() for task in tasks])
            for table, tasks in self._seals.items()
        }

    def receipt_signatures(self, bundle: Bundle) -> SignatureMemo:
        """A memo of the receipts' signatures, verified by the workers (after the entries: they queue behind)."""
        items = [(r.receiver.key, Purpose.RECEIPT, r.payload(), r.signature) for r in bundle.receipts]
        chunks = [items[start : start + PARALLEL_CHUNK] for start in range(0, len(items), PARALLEL_CHUNK)]
        tasks = [self._pool.submit(signatures_hold, chunk) for chunk in chunks]
        return _LazyMemo(chunks, tasks)


class _LazyMemo(SignatureMemo):
    """A ``SignatureMemo`` filled with the workers' results when first asked (after the entries are checked)."""

    __slots__ = ("_chunks", "_tasks")

    def __init__(self, chunks: list[list[tuple[VerifyKey, Purpose, bytes, bytes]]], tasks: list[Future[list[bool]]]):
        super().__init__()
        self._chunks = chunks
        self._tasks = tasks

    def signature(self, key: VerifyKey, purpose: Purpose, payload: bytes, signature: bytes) -> None:
        if self._tasks:
            for chunk, task in zip(self._chunks, self._tasks, strict=True):
                for item, held in zip(chunk, task.result(), strict=True):
                    if held:
                        self.trust(*item)
            self._chunks, self._tasks = [], []
        super().signature(key, purpose, payload, signature)


def export_bundle(node: LocalNode, target: Path, *, upto: int | None = None, receipts_from: int = 0) -> int:
    """Write the proof bundle to ``target`` (JSON); the number of entries written."""
    bundle = build_bundle(node, upto=upto, receipts_from=receipts_from)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    temporary.replace(target)
    return len(bundle["entries"])


def verify_bundle_file(path: Path, *, expected_key: VerifyKey | None = None) -> BundleReport:
    """Check a bundle offline; with ``expected_key``, the log must be signed by exactly that key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise MalformedEnvelope(f"cannot read bundle {path}: {error}") from None
    if not isinstance(data, Mapping):
        raise MalformedEnvelope(f"{path} is not a proof bundle (not a JSON object)")
    if expected_key is not None:
        keys = data.get("keys")
        origin = data.get("origin")
        key_text = keys.get(origin) if isinstance(keys, Mapping) and isinstance(origin, str) else None
        if key_text != expected_key.to_text():
            raise KeyChanged(
                f"bundle of {origin!r} is signed by {key_text!r}, not the expected {expected_key.fingerprint}"
            )
    return verify_bundle(data)
