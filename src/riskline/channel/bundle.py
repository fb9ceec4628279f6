"""Offline verification of a node's log, and the self-contained proof bundle for third parties.

``verify_log`` (``riskline log verify``) and ``verify_bundle`` (``riskline log verify-bundle``) re-check
everything with public keys only, and name the first entry that fails and why. Entries are read once, in
order, so a log of any length streams through in constant memory beside the Merkle tree (under 64 bytes an
entry). For each entry ``i``:

1. it is the canonical JSON (RFC 8785) of a well-formed signed envelope (strict parse; the signature member
   in its canonical place; the rest is then canonical because it is what the sender signed, see
   ``SignedEnvelope.from_leaf``; ``recanonicalize=True`` serialises it again as well);
2. its sender's key is one of the given public keys, under the sender's node name, and the Ed25519
   signature verifies (``Purpose.ENVELOPE``) — this dominates the cost, about 0.1 ms an entry;
3. its position: an envelope the log's own node sent cites its log *before* it was appended
   (``sender_checkpoint``), so it must sit at index ``size`` with the root of the entries before it; an
   envelope the node received sits where the node's own receipt says (bundles carry the receipts);
4. sequence numbers of one sender on one channel follow each other without gaps or repeats;
5. when the entries so far reach the size of a signed checkpoint, the checkpoint's signature (the log's key)
   and its root are checked. Every checkpoint matching the root of a prefix of the same entries is exactly
   RFC 9162 consistency between successive checkpoints; two of one size with different roots are reported as
   equivocation.

A bundle adds the cosignatures peers made of this log's checkpoints and the receipts exchanged: every
cosignature must be valid and cosign a real head of these entries; every receipt must verify
(``receipt.verify_receipt``) against an entry of the bundle, and a receipt this node issued must place the
entry where it actually is, under a checkpoint of this log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from riskline.channel.checkpoint import Cosignature, SignedCheckpoint, verify_checkpoint
from riskline.channel.envelope import require_key
from riskline.channel.errors import ChannelError, MalformedEnvelope, OutOfRange
from riskline.channel.leaf_view import SignedLeaf, read_leaf, strict_leaf
from riskline.channel.merkle import Frontier, MerkleTree, leaf_hash
from riskline.channel.receipt import Receipt, ReceiptSubject, SignatureMemo, verify_receipt
from riskline.channel.signing import Purpose, VerifyKey

BUNDLE_KIND = "riskline-proof-bundle"
BUNDLE_VERSION = 1
BUNDLE_FIELDS: tuple[str, ...] = ("kind", "v", "origin", "keys", "entries", "checkpoints", "cosignatures", "receipts")


@dataclass(frozen=True, slots=True)
class Failure:
    """The first thing that failed: which list of the log or bundle, the index in it, and why."""

    section: str
    """``entries``, ``checkpoints``, ``cosignatures``, ``receipts``, ``keys`` or ``bundle``."""
    index: int
    reason: str

    def __str__(self) -> str:
        return f"{self.section}[{self.index}]: {self.reason}"


@dataclass(frozen=True, slots=True)
class LogReport:
    """What ``verify_log`` found."""

    ok: bool
    entries_checked: int
    """Entries that passed every check before the first failure (all of them when ``ok``)."""
    failure: Failure | None
    checkpoints_checked: int = 0
    root: bytes | None = None
    """RFC 9162 root over every entry, when all were read."""

    @property
    def first_failing_entry(self) -> int | None:
        return self.failure.index if self.failure is not None and self.failure.section == "entries" else None


@dataclass(frozen=True, slots=True)
class BundleReport:
    """What ``verify_bundle`` found."""

    ok: bool
    entries_checked: int
    failure: Failure | None
    origin: str | None = None
    checkpoints_checked: int = 0
    cosignatures_checked: int = 0
    receipts_checked: int = 0
    root: bytes | None = None
    resume: Resume | None = None
    """Where a later check can go on from (the frontier and the last seq of each stream), when ``ok``."""


@dataclass(frozen=True, slots=True)
class Resume:
    """A log verified up to ``frontier.size`` entries: what checking only the entries after needs.

    ``streams`` maps ``(sender node, channel)`` to the last seq seen there.
    """

    frontier: Frontier
    streams: Mapping[tuple[str, str], int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.frontier.size,
            "frontier": [node.hex() for node in self.frontier.nodes],
            "streams": [[sender, channel, seq] for (sender, channel), seq in sorted(self.streams.items())],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resume:
        try:
            frontier = Frontier(int(data["size"]), [bytes.fromhex(node) for node in data["frontier"]])
            streams = {(str(sender), str(channel)): int(seq) for sender, channel, seq in data["streams"]}
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedEnvelope(f"not a verified-log state: {error}") from None
        return cls(frontier, streams)


class KeyRing(dict[str, VerifyKey]):
    """Public keys by node name (each node's current key), with ``previous``: the keys each node rotated away
    from (``key_history.py``), under which its older entries, heads and receipts still verify."""

    def __init__(
        self, current: Mapping[str, VerifyKey], previous: Mapping[str, Iterable[VerifyKey]] | None = None
    ) -> None:
        super().__init__(current)
        self.previous: dict[str, frozenset[VerifyKey]] = {
            name: frozenset(keys) for name, keys in (previous or {}).items() if keys
        }


def keys_of(keys: Mapping[str, VerifyKey], node: str) -> frozenset[VerifyKey]:
    """Every key ``node`` signs or signed with: its current one and, in a ``KeyRing``, its previous ones."""
    current = keys.get(node)
    previous = keys.previous.get(node, frozenset()) if isinstance(keys, KeyRing) else frozenset()
    return previous if current is None else previous | {current}


def all_keys(keys: Mapping[str, VerifyKey]) -> frozenset[VerifyKey]:
    """Every key of every node in ``keys``."""
    found = frozenset(keys.values())
    if isinstance(keys, KeyRing):
        for previous in keys.previous.values():
            found |= previous
    return found


@dataclass(frozen=True, slots=True)
class Bundle:
    """A node's whole log with everything needed to check it offline: entries, heads, cosignatures, receipts, keys."""

    origin: str
    """The log's origin (the node whose log this is)."""
    keys: Mapping[str, VerifyKey] = field(hash=False)
    """Public keys by node name: the log's own and every peer's that signed an entry or receipt."""
    entries: tuple[bytes, ...]
    """Leaf data in log order: the canonical JSON of each signed envelope."""
    checkpoints: tuple[SignedCheckpoint, ...]
    cosignatures: tuple[Cosignature, ...]
    receipts: tuple[Receipt, ...]

    @staticmethod
    def build(
        entries: Sequence[bytes],
        checkpoints: Sequence[SignedCheckpoint],
        cosignatures: Sequence[Cosignature],
        receipts: Sequence[Receipt],
        keys: Mapping[str, VerifyKey],
        *,
        origin: str | None = None,
    ) -> dict[str, Any]:
        """The bundle as a JSON-ready dict (``riskline log export``); ``origin`` defaults to the checkpoints'."""
        if origin is None:
            origins = {scp.checkpoint.origin for scp in checkpoints}
            if len(origins) != 1:
                raise MalformedEnvelope(f"a bundle needs the checkpoints of exactly one log, got {len(origins)}")
            origin = origins.pop()
        bundle = Bundle(origin, dict(keys), tuple(entries), tuple(checkpoints), tuple(cosignatures), tuple(receipts))
        return bundle.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": BUNDLE_KIND,
            "v": BUNDLE_VERSION,
            "origin": self.origin,
            "keys": {name: key.to_text() for name, key in sorted(self.keys.items())},
            **(
                {
                    "previous_keys": {
                        name: sorted(key.to_text() for key in keys) for name, keys in sorted(self.keys.previous.items())
                    }
                }
                if isinstance(self.keys, KeyRing) and self.keys.previous
                else {}
            ),
            "entries": [entry.decode("utf-8") for entry in self.entries],
            "checkpoints": [scp.to_dict() for scp in self.checkpoints],
            "cosignatures": [c.to_dict() for c in self.cosignatures],
            "receipts": [receipt.to_wire() for receipt in self.receipts],
        }

    @classmethod
    def from_dict(cls, data: object) -> Bundle:
        """Parse; raises ``_Broken`` (a ``MalformedEnvelope``) carrying the failing section and index."""
        if not isinstance(data, Mapping):
            raise _Broken(Failure("bundle", 0, f"a bundle is a JSON object, got {type(data).__name__}"))
        missing = [name for name in BUNDLE_FIELDS if name not in data]
        if missing:
            raise _Broken(Failure("bundle", 0, f"lacks {', '.join(missing)}"))
        if data["kind"] != BUNDLE_KIND or data["v"] != BUNDLE_VERSION:
            raise _Broken(Failure("bundle", 0, f"not a {BUNDLE_KIND} version {BUNDLE_VERSION}"))
        origin = data["origin"]
        if not isinstance(origin, str) or not origin:
            raise _Broken(Failure("bundle", 0, "origin must be non-empty text"))
        raw_keys = data["keys"]
        if not isinstance(raw_keys, Mapping):
            raise _Broken(Failure("keys", 0, "keys must be an object of node name → key"))
        keys: dict[str, VerifyKey] = {}
        for position, (name, text) in enumerate(raw_keys.items()):
            keys[str(name)] = _parse(lambda t=text, n=name: require_key(t, f"keys.{n}"), "keys", position)
        raw_previous = data.get("previous_keys", {})
        if not isinstance(raw_previous, Mapping) or not all(isinstance(v, list) for v in raw_previous.values()):
            raise _Broken(Failure("keys", 0, "previous_keys must be an object of node name → list of keys"))
        previous = {
            str(name): [
                _parse(lambda t=text, n=name: require_key(t, f"previous_keys.{n}"), "keys", position)
                for position, text in enumerate(texts)
            ]
            for name, texts in raw_previous.items()
        }
        keys = KeyRing(keys, previous)
        entries = tuple(
            _parse(lambda e=entry: _entry_bytes(e), "entries", i) for i, entry in enumerate(_list(data, "entries"))
        )
        checkpoints = tuple(
            _parse(lambda c=item: SignedCheckpoint.from_dict(c), "checkpoints", i)
            for i, item in enumerate(_list(data, "checkpoints"))
        )
        cosignatures = tuple(
            _parse(lambda c=item: Cosignature.from_dict(c), "cosignatures", i)
            for i, item in enumerate(_list(data, "cosignatures"))
        )
        receipts = tuple(
            _parse(lambda r=item: Receipt.from_wire(r), "receipts", i) for i, item in enumerate(_list(data, "receipts"))
        )
        return cls(origin, keys, entries, checkpoints, cosignatures, receipts)


class _Broken(MalformedEnvelope):
    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def verify_log(
    entries: Iterable[bytes],
    checkpoints: Sequence[SignedCheckpoint],
    keys: Mapping[str, VerifyKey],
    *,
    origin: str | None = None,
    recanonicalize: bool = False,
) -> LogReport:
    """Re-check a whole log (``riskline log verify``): entries, signatures, checkpoints; stops at the first failure.

    ``entries`` may be a lazy iterable (streamed from the database); ``origin`` defaults to the checkpoints'.
    ``recanonicalize`` also serialises every entry again (RFC 8785) and compares; without it, canonical form
    follows from the signature (``SignedEnvelope.from_leaf``) and the check costs about half as much.
    """
    checker = _LogChecker(keys, checkpoints, origin=origin, recanonicalize=recanonicalize)
    failure = checker.run(entries)
    return LogReport(
        ok=failure is None,
        entries_checked=checker.checked,
        failure=failure,
        checkpoints_checked=checker.checkpoints_checked,
        root=checker.tree.root() if failure is None else None,
    )


def verify_bundle(data: Mapping[str, Any]) -> BundleReport:
    """Check a proof bundle offline with only the public keys it carries; never raises on bad input."""
    try:
        bundle = Bundle.from_dict(data)
    except _Broken as broken:
        return BundleReport(ok=False, entries_checked=0, failure=broken.failure)
    return check_bundle(bundle)


def check_bundle(
    bundle: Bundle,
    *,
    facts: Iterable[EntryFacts] | None = None,
    memo: SignatureMemo | None = None,
    resume: Resume | None = None,
) -> BundleReport:
    """``verify_bundle`` of a parsed bundle. ``facts``: the ``EntryFacts`` of its entries, in order (found by
    ``EntryChecker``, perhaps in other processes), instead of reading ``bundle.entries``; ``memo``: signatures
    already verified (e.g. the receipts', in other processes); ``resume``: the entries (or facts) start after
    a prefix verified before, known by its frontier — the bundle then holds only the heads, cosignatures and
    receipts of sizes beyond it."""
    checker = _LogChecker(bundle.keys, bundle.checkpoints, origin=bundle.origin, resume=resume)
    if resume is not None:
        sizes = {scp.checkpoint.size for scp in bundle.checkpoints} | {c.checkpoint.size for c in bundle.cosignatures}
        for receipt in bundle.receipts:
            sizes |= {receipt.receiver_checkpoint.checkpoint.size, receipt.cosignature.checkpoint.size}
        resume.frontier.remember(sizes)
    own_keys = keys_of(bundle.keys, bundle.origin)
    positions: dict[str, int] = {}
    for number, receipt in enumerate(bundle.receipts):
        if receipt.receiver.key not in own_keys:
            continue
        placed = positions.setdefault(receipt.envelope_hash, receipt.log_index)
        if placed != receipt.log_index:
            conflict = f"places envelope {receipt.envelope_id} at {receipt.log_index}, another receipt at {placed}"
            return BundleReport(
                ok=False, entries_checked=0, failure=Failure("receipts", number, conflict), origin=bundle.origin
            )
    wanted = {receipt.envelope_hash for receipt in bundle.receipts}

    def report(failure: Failure | None, *, cosignatures: int = 0, receipts: int = 0) -> BundleReport:
        return BundleReport(
            ok=failure is None,
            entries_checked=checker.checked,
            failure=failure,
            origin=bundle.origin,
            checkpoints_checked=checker.checkpoints_checked,
            cosignatures_checked=cosignatures,
            receipts_checked=receipts,
            root=checker.tree.root() if failure is None else None,
            resume=None if failure is not None else checker.resume(),
        )

    entries_failure = checker.run(bundle.entries, positions=positions, wanted=wanted, facts=facts)
    if entries_failure is not None:
        return report(entries_failure)
    memo = SignatureMemo() if memo is None else memo  # the receipts of a delivery batch share a head, a cosignature
    for number, cosignature in enumerate(bundle.cosignatures):
        reason = _cosignature_problem(cosignature, bundle, checker, memo)
        if reason is not None:
            return report(Failure("cosignatures", number, reason), cosignatures=number)
    for number, receipt in enumerate(bundle.receipts):
        reason = _receipt_problem(receipt, bundle, checker, memo)
        if reason is not None:
            return report(Failure("receipts", number, reason), cosignatures=len(bundle.cosignatures), receipts=number)
    return report(None, cosignatures=len(bundle.cosignatures), receipts=len(bundle.receipts))


class EntryFacts(NamedTuple):
    """One log entry as the in-order checks need it, or why it fails on its own.

    ``entry_facts`` finds them: parsing, the sender's key and the signature need nothing but the entry and the
    keys — that is most of the cost, and it can run in other processes, in any order (a tuple: made and pickled
    back from the workers in C, a million times).
    """

    problem: str | None
    """Why the entry fails by itself (unparsable, unknown key, bad signature); None when it passes."""
    leaf_hash: bytes = b""
    digest: str = ""
    """SHA-256 hex of the leaf data: the envelope hash receipts name."""
    envelope_id: str = ""
    sender: str = ""
    channel: str = ""
    seq: int = 0
    cites: tuple[int, bytes] | None = None
    """For an envelope the log's own node signed: the size and root of the log before it, as it cites them."""


@dataclass(frozen=True, slots=True)
class EntryChecker:
    """The per-entry checks of one log (picklable: send it to worker processes with the entries)."""

    keys: Mapping[str, VerifyKey]
    origin: str
    recanonicalize: bool = False
    _known: frozenset[VerifyKey] = field(init=False, repr=False, compare=False)
    """``all_keys(keys)`` and ``keys_of(keys, origin)``, found once (the keys do not change during a check)."""
    _own: frozenset[VerifyKey] = field(init=False, repr=False, compare=False)
    _senders: dict[tuple[str, bytes], tuple[str | None, bool]] = field(init=False, repr=False, compare=False)
    """By sender node and raw key: why the key may not sign for the node (None: it may), and whether it is one of
    the log's own keys — a log has few senders, so each is looked at once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", all_keys(self.keys))
        object.__setattr__(self, "_own", keys_of(self.keys, self.origin))
        object.__setattr__(self, "_senders", {})

    def facts(self, leaf: bytes, hashed: bytes | None = None) -> EntryFacts:
        """Checks 1 and 2 of the module docstring for one entry (``leaf_view.read_leaf`` reads it when it can,
        else the strict parse, which names what is wrong); ``hashed``: its ``leaf_hash``, when the caller has it."""
        read = None if self.recanonicalize else read_leaf(leaf)
        if read is None:
            try:
                read = strict_leaf(leaf, recanonicalize=self.recanonicalize)
            except MalformedEnvelope as error:
                return EntryFacts(f"not a valid signed envelope: {error}")
        return self._checked(leaf, read, leaf_hash(leaf) if hashed is None else hashed)

    def _checked(self, leaf: bytes, read: SignedLeaf, hashed: bytes) -> EntryFacts:
        """The sender's key and the signature of an entry read."""
        node, key = read.sender_node, read.sender_key
        sender = self._senders.get((node, key.raw))
        if sender is None:
            sender = self._senders[(node, key.raw)] = (self._sender_problem(node, key), key in self._own)
        problem, own = sender
        if problem is not None:
            return EntryFacts(problem)
        try:
            key.verify(Purpose.ENVELOPE, read.payload, read.signature)
        except ChannelError as error:
            return EntryFacts(str(error))
        return EntryFacts(
            None,
            hashed,
            hashlib.sha256(leaf).hexdigest(),
            read.id,
            node,
            read.channel,
            read.seq,
            (read.head_size, read.head_root) if own else None,
        )

    def _sender_problem(self, node: str, key: VerifyKey) -> str | None:
        """Why ``key`` may not sign an entry sent by ``node``; None when it may."""
        if key not in self._known:
            return f"signed by {node!r} with key {key.fingerprint}, which is not among the given keys"
        named = self.keys.get(node)
        if named is not None and key != named and key not in keys_of(self.keys, node):
            return f"signed by {node!r} with key {key.fingerprint}, but that node's key is {named.fingerprint}"
        return None

    def facts_of(self, leaves: Iterable[bytes]) -> list[EntryFacts]:
        """``facts`` of every leaf, in order (one task for a worker process)."""
        return [self.facts(leaf) for leaf in leaves]


class _LogChecker:
    """One pass over the entries of one log; keeps only the Merkle tree, a few counters and what receipts need."""

    def __init__(
        self,
        keys: Mapping[str, VerifyKey],
        checkpoints: Sequence[SignedCheckpoint],
        *,
        origin: str | None,
        recanonicalize: bool = False,
        resume: Resume | None = None,
    ) -> None:
        self.recanonicalize = recanonicalize
        self.keys = keys
        self.checkpoints = checkpoints
        self.origin = origin
        self.tree: MerkleTree | Frontier = MerkleTree() if resume is None else resume.frontier
        self.start = self.tree.size
        self.last_seq: dict[tuple[str, str], int] = {} if resume is None else dict(resume.streams)
        self.checked = 0
        self.checkpoints_checked = 0
        self.found: dict[str, tuple[int, EntryFacts]] = {}
        """Index and facts of each entry whose hash a receipt names."""
        self._roots: dict[int, bytes] = {}

    def resume(self) -> Resume:
        """Where a later check can go on from, after these entries."""
        tree = self.tree
        return Resume(Frontier.of(tree) if isinstance(tree, MerkleTree) else tree, dict(self.last_seq))

    def root_at(self, size: int) -> bytes | None:
        """The root of the first ``size`` entries read (remembered: many receipts name the same heads); None for
        a size before the entries read when resuming that no head asked for."""
        root = self._roots.get(size)
        if root is None:
            try:
                root = self._roots[size] = self.tree.root(size)
            except OutOfRange:
                return None
        return root

    def run(
        self,
        entries: Iterable[bytes],
        *,
        positions: Mapping[str, int] | None = None,
        wanted: Collection[str] = frozenset(),
        facts: Iterable[EntryFacts] | None = None,
    ) -> Failure | None:
        failure = self._prepare()
        if failure is not None:
            return failure
        assert self.origin is not None
        if facts is None:
            checker = EntryChecker(self.keys, self.origin, self.recanonicalize)
            facts = (checker.facts(leaf) for leaf in entries)
        by_size = self._by_size
        next_sizes = iter(sorted(by_size))
        pending = next(next_sizes, None)
        matched_size = self.start
        while pending is not None and pending <= self.start:
            if pending == self.start:
                failure = self._check_heads(pending, matched_size)
                if failure is not None:
                    return failure
            pending = next(next_sizes, None)
        last_seq = self.last_seq
        tree = self.tree
        for index, fact in enumerate(facts, start=self.start):
            reason = self._entry_problem(index, fact, last_seq, positions, wanted)
            if reason is not None:
                return Failure("entries", index, reason)
            tree.append_leaf_hash(fact.leaf_hash)
            self.checked = index + 1 - self.start
            while pending is not None and pending == tree.size:
                failure = self._check_heads(pending, matched_size)
                if failure is not None:
                    return failure
                matched_size = pending
                pending = next(next_sizes, None)
        if pending is not None:
            return Failure(
                "entries",
                tree.size,
                f"the log ends after {tree.size} entries but a signed checkpoint covers {max(by_size)}:"
                " entries are missing",
            )
        return None

    def _prepare(self) -> Failure | None:
        origins = {scp.checkpoint.origin for scp in self.checkpoints}
        if self.origin is None:
            if len(origins) != 1:
                return Failure("checkpoints", 0, f"checkpoints of {len(origins)} logs, expected exactly one")
            self.origin = origins.pop()
        for number, scp in enumerate(self.checkpoints):
            if scp.checkpoint.origin != self.origin:
                return Failure("checkpoints", number, f"is of log {scp.checkpoint.origin!r}, not {self.origin!r}")
        if self.origin not in self.keys:
            return Failure("keys", 0, f"no public key for the log's own node {self.origin!r}")
        self._by_size: dict[int, list[tuple[int, SignedCheckpoint]]] = {}
        for number, scp in enumerate(self.checkpoints):
            self._by_size.setdefault(scp.checkpoint.size, []).append((number, scp))
        return None

    def _check_heads(self, size: int, matched_size: int) -> Failure | None:
        assert self.origin is not None
        root = self.tree.root(size)
        heads = self._by_size[size]
        for number, scp in heads:
            try:
                own = keys_of(self.keys, self.origin)
                verify_checkpoint(scp, trusted=scp.signer if scp.signer in own else self.keys[self.origin])
            except ChannelError as error:
                return Failure("checkpoints", number, str(error))
        for number, scp in heads:
            if size == 0 and scp.checkpoint.root != root:
                return Failure("checkpoints", number, "a checkpoint of size 0 must carry the empty tree's root")
            if scp.checkpoint.root != root:
                others = [other for _, other in heads if other.checkpoint.root == root]
                if others:
                    return Failure(
                        "checkpoints",
                        number,
                        f"equivocation: two signed checkpoints of size {size} with different roots",
                    )
                if size - matched_size == 1:
                    reason = f"entry {matched_size} is not the one the signed checkpoint of size {size} covers"
                else:
                    reason = f"entries {matched_size}..{size - 1} do not hash to the root of the signed checkpoint"
                    reason += f" of size {size}"
                return Failure("entries", matched_size, reason)
            self.checkpoints_checked += 1
        return None

    def _entry_problem(
        self,
        index: int,
        fact: EntryFacts,
        last_seq: dict[tuple[str, str], int],
        positions: Mapping[str, int] | None,
        wanted: Collection[str],
    ) -> str | None:
        if fact.problem is not None:
            return fact.problem
        if fact.cites is not None:
            size, root = fact.cites
            if size != index:
                return f"this node's envelope {fact.envelope_id} cites its log at size {size} but sits at index {index}"
            if root != self.tree.root():
                return (
                    f"this node's envelope {fact.envelope_id} cites a root that the {index} entries before it"
                    " do not have: an earlier entry was changed"
                )
        if fact.digest in wanted:
            self.found.setdefault(fact.digest, (index, fact))
        if positions:
            placed = positions.get(fact.digest)
            if placed is not None and placed != index:
                return f"this node's receipt places envelope {fact.envelope_id} at index {placed}, it sits at {index}"
        stream = (fact.sender, fact.channel)
        previous = last_seq.get(stream)
        if previous is not None and fact.seq != previous + 1:
            return (
                f"seq {fact.seq} of {fact.sender!r} on {fact.channel} follows seq {previous}: "
                "an entry is missing, repeated or out of order"
            )
        last_seq[stream] = fact.seq
        return None


def _cosignature_problem(
    cosignature: Cosignature, bundle: Bundle, checker: _LogChecker, memo: SignatureMemo
) -> str | None:
    if cosignature.witness not in all_keys(bundle.keys):
        return f"by witness key {cosignature.witness.fingerprint}, which is not among the bundle's keys"
    try:
        memo.cosignature(cosignature, cosignature.witness)
    except ChannelError as error:
        return str(error)
    return _head_problem(
        cosignature.checkpoint.origin,
        cosignature.checkpoint.size,
        cosignature.checkpoint.root,
        bundle,
        checker,
        "cosigns",
    )


def _head_problem(origin: str, size: int, root: bytes, bundle: Bundle, checker: _LogChecker, verb: str) -> str | None:
    if origin != bundle.origin:
        return f"{verb} log {origin!r}, not this bundle's {bundle.origin!r}"
    if size > checker.tree.size:
        return f"{verb} size {size}, beyond the {checker.tree.size} entries of the bundle"
    known = checker.root_at(size)
    if known is None:
        return f"{verb} size {size}, before the entries checked since the last full check (run it with --full)"
    if known != root:
        return f"{verb} a root for size {size} that the bundle's entries do not have"
    return None


def _receipt_problem(receipt: Receipt, bundle: Bundle, checker: _LogChecker, memo: SignatureMemo) -> str | None:
    receiver_key = receipt.receiver.key
    if receiver_key not in all_keys(bundle.keys):
        return f"by receiver key {receiver_key.fingerprint}, which is not among the bundle's keys"
    found = checker.found.get(receipt.envelope_hash)
    if found is None:
        return f"for envelope {receipt.envelope_id} whose entry is not in the bundle"
    _, fact = found
    subject = ReceiptSubject(fact.envelope_id, fact.digest, fact.channel, fact.leaf_hash)
    try:
        verify_receipt(
            receipt,
            envelope=subject,
            receiver_key=receiver_key,
            sender_checkpoint=receipt.cosignature.checkpoint,
            memo=memo,
        )
    except ChannelError as error:
        return str(error)
    if receiver_key in keys_of(bundle.keys, bundle.origin):
        head = receipt.receiver_checkpoint.checkpoint
        return _head_problem(head.origin, head.size, head.root, bundle, checker, "is under a checkpoint of")
    cosigned = receipt.cosignature.checkpoint
    return _head_problem(cosigned.origin, cosigned.size, cosigned.root, bundle, checker, "cosigns")


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = data[name]
    if not isinstance(value, list):
        raise _Broken(Failure(name, 0, f"{name} must be a list, got {type(value).__name__}"))
    return value


def _entry_bytes(entry: object) -> bytes:
    if not isinstance(entry, str):
        raise MalformedEnvelope(f"an entry is the text of a canonical JSON envelope, got {type(entry).__name__}")
    try:
        return entry.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEnvelope("an entry is not valid UTF-8 text") from None


def _parse(parse: Any, section: str, index: int) -> Any:
    try:
        return parse()
    except MalformedEnvelope as error:
        raise _Broken(Failure(section, index, str(error))) from None
