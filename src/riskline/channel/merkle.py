"""An append-only Merkle tree with inclusion and consistency proofs, exactly as RFC 9162 §2.1 defines them.

Hashes (SHA-256, RFC 9162 §2.1.1): a leaf is ``H(0x00 || data)``, an inner node ``H(0x01 || left || right)``,
the empty tree ``H("")``. The tree over ``n`` leaves splits at ``k``, the largest power of two below ``n``;
so the tree of the first ``m`` entries is a fixed part of every later tree, which is what lets a consistency
proof show that a log only grew.

Design: ``MerkleTree`` keeps, for every level ``j``, the hashes of all *complete* aligned subtrees of ``2**j``
leaves, packed side by side in one ``bytearray`` (level 0 holds the leaf hashes). An append adds one leaf
hash and completes at most ``log2 n`` (amortised: one) parent nodes. Any subtree hash the RFC recursion asks
for is either one stored node or the right edge of a tree, which splits into at most ``log2 n`` stored
nodes; so ``root(size)`` for any historical size costs O(log n) hashes and a proof O(log² n) at worst.

Memory: the levels hold ``n + n/2 + n/4 + … < 2n`` hashes of 32 bytes, without any per-hash Python object:
under 64 bytes per entry, i.e. about 64 MB for 1,000,000 entries (plus ``bytearray`` over-allocation of up
to about an eighth).

The verifiers follow RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step and raise
``InvalidProof`` with a one-line reason; they need no tree, only hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from riskline.channel.errors import InvalidProof, MalformedEnvelope, OutOfRange

HASH_SIZE = 32  # [bytes] SHA-256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()
"""The root of the tree of no leaves, SHA-256 of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one log entry."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an inner node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The ``k`` of RFC 9162 §2.1.1: the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _pair_up(level: bytes | bytearray) -> bytes:
    """The parents of every complete pair of adjacent hashes in a packed level; an odd last hash is dropped."""
    pair = 2 * HASH_SIZE
    pairs_end = (len(level) // pair) * pair
    return b"".join([_sha256(_NODE_PREFIX + level[i : i + pair]).digest() for i in range(0, pairs_end, pair)])


def _packed(hashes: Iterable[bytes], what: str) -> bytes:
    collected = list(hashes)
    for position, value in enumerate(collected):
        if len(value) != HASH_SIZE:
            raise MalformedEnvelope(f"{what} {position} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")
    return b"".join(collected)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 root of a whole list of leaf hashes, level by level (about n hashes, no tree kept).

    Pairing bottom-up and promoting an odd last node unchanged gives the same root as the RFC's
    split-at-the-largest-power-of-two recursion.
    """
    if not hashes:
        return EMPTY_ROOT
    level = _packed(hashes, "leaf hash")
    while len(level) > HASH_SIZE:
        parents = _pair_up(level)
        if (len(level) // HASH_SIZE) % 2:
            parents += level[-HASH_SIZE:]
        level = parents
    return level


class MerkleTree:
    """An append-only RFC 9162 Merkle tree that answers roots and proofs for every size it has had."""

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        """``_levels[j]`` packs the hashes of the complete subtrees of ``2**j`` leaves, left to right."""

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MerkleTree:
        """A tree holding these leaf hashes in order, built level by level (faster than appending one by one)."""
        tree = cls()
        level = _packed(hashes, "leaf hash")
        tree._levels = [bytearray(level)]
        while len(level) >= 2 * HASH_SIZE:
            level = _pair_up(level)
            tree._levels.append(bytearray(level))
        return tree

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return len(self._levels[0]) // HASH_SIZE

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> int:
        """Add one entry; returns its leaf index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, h: bytes) -> int:
        """Add one leaf by its hash (``leaf_hash(data)``); returns its leaf index."""
        if len(h) != HASH_SIZE:
            raise MalformedEnvelope(f"a leaf hash is {HASH_SIZE} bytes, got {len(h)}")
        levels = self._levels
        index = len(levels[0]) // HASH_SIZE
        levels[0] += h
        depth = 0
        count = index + 1
        while count % 2 == 0:
            below = levels[depth]
            if depth + 1 == len(levels):
                levels.append(bytearray())
            levels[depth + 1] += _sha256(_NODE_PREFIX + below[-2 * HASH_SIZE :]).digest()
            depth += 1
            count //= 2
        return index

    def leaf_hash_at(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        if not 0 <= index < self.size:
            raise OutOfRange(f"leaf index {index} is outside a log of {self.size} entries")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first ``size`` leaves (default: all of them)."""
        size = self._checked_size(size)
        if size == 0:
            return EMPTY_ROOT
        # MTH splits at the largest power of two below the size, so the root folds the perfect subtrees of
        # the size's binary digits from the right: one stored node each, popcount(size) - 1 hashes. The subtree
        # of digit ``depth`` is the last whole node of that level within the size, (size >> depth) - 1.
        levels = self._levels
        root = b""
        depth = 0
        rest = size
        while rest:
            if rest & 1:
                start = (rest - 1) * HASH_SIZE
                node = levels[depth][start : start + HASH_SIZE]
                root = _sha256(_NODE_PREFIX + node + root).digest() if root else bytes(node)
            rest >>= 1
            depth += 1
        return root

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 §2.1.3.1 audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
        size = self._checked_size(size)
        if not 0 <= index < size:
            raise OutOfRange(f"leaf index {index} is outside a tree of size {size}")
        path: list[bytes] = []
        low, high = 0, size
        while high - low > 1:
            split = low + _largest_power_of_two_below(high - low)
            if index < split:
                path.append(self._subtree(split, high))
                high = split
            else:
                path.append(self._subtree(low, split))
                low = split
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The RFC 9162 §2.1.4.1 proof that the tree of ``old_size`` leaves is a prefix of that of ``new_size``.

        Empty when ``old_size`` is 0 or equals ``new_size``: nothing needs proving.
        """
        new_size = self._checked_size(new_size)
        if not 0 <= old_size <= new_size:
            raise OutOfRange(f"old size {old_size} is not between 0 and the new size {new_size}")
        if old_size in (0, new_size):
            return []
        path: list[bytes] = []
        low, high = 0, new_size
        remaining = old_size  # the old tree's leaves inside [low, high)
        old_subtree_is_whole = True  # RFC 9162's flag b: the old tree is exactly the current subtree so far
        while remaining != high - low:
            split = _largest_power_of_two_below(high - low)
            if remaining <= split:
                path.append(self._subtree(low + split, high))
                high = low + split
            else:
                path.append(self._subtree(low, low + split))
                low += split
                remaining -= split
                old_subtree_is_whole = False
        if not old_subtree_is_whole:
            path.append(self._subtree(low, high))
        path.reverse()
        return path

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise OutOfRange(f"tree size {size} is outside a log of {self.size} entries")
        return size

    def _node(self, depth: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[depth][start : start + HASH_SIZE])

    def _subtree(self, low: int, high: int) -> bytes:
        """MTH(D[low:high]) for ``0 <= low < high <= size``: one stored node when aligned, else split per RFC."""
        width = high - low
        if width & (width - 1) == 0 and low % width == 0:
            depth = width.bit_length() - 1
            return self._node(depth, low >> depth)
        split = low + _largest_power_of_two_below(width)
        return node_hash(self._subtree(low, split), self._subtree(split, high))


class Frontier:
    """The right edge of a log's Merkle tree: the roots of the perfect subtrees that make up its first ``size``
    leaves (one per 1-bit of ``size``, largest first; a compact range from 0). Enough to append and to give the
    root at the current size — and, for sizes asked for in advance (``remember``), at the sizes it passed —
    without the leaves before: what an incremental ``log verify`` resumes from.
    """

    __slots__ = ("_nodes", "_remembered", "_wanted", "size")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(nodes) != size.bit_count():
            raise MalformedEnvelope(f"a frontier of size {size} has {size.bit_count()} nodes, got {len(nodes)}")
        for position, node in enumerate(nodes):
            _check_hash(node, f"frontier node {position}")
        self.size = size
        self._nodes = [bytes(node) for node in nodes]
        self._wanted: frozenset[int] = frozenset()
        self._remembered: dict[int, bytes] = {}

    @classmethod
    def of(cls, tree: MerkleTree, size: int | None = None) -> Frontier:
        """The frontier of ``tree`` at ``size`` (default: its size)."""
        size = tree.size if size is None else size
        nodes: list[bytes] = []
        low = 0
        for depth in range(size.bit_length() - 1, -1, -1):
            if size >> depth & 1:
                nodes.append(tree._subtree(low, low + (1 << depth)))
                low += 1 << depth
        return cls(size, nodes)

    @property
    def nodes(self) -> tuple[bytes, ...]:
        return tuple(self._nodes)

    def remember(self, sizes: Iterable[int]) -> None:
        """Keep the root at each of ``sizes`` when the frontier passes it (and now, for the current size)."""
        self._wanted = frozenset(sizes)
        if self.size in self._wanted:
            self._remembered[self.size] = self.root()

    def append_leaf_hash(self, h: bytes) -> int:
        _check_hash(h, "leaf hash")
        index = self.size
        nodes = self._nodes
        nodes.append(bytes(h))
        self.size += 1
        count = self.size
        while count % 2 == 0:
            right = nodes.pop()
            nodes.append(node_hash(nodes.pop(), right))
            count //= 2
        if self.size in self._wanted:
            self._remembered[self.size] = self.root()
        return index

    def root(self, size: int | None = None) -> bytes:
        """The root at the current size, or at a size passed that ``remember`` asked for."""
        if size is not None and size != self.size:
            remembered = self._remembered.get(size)
            if remembered is None:
                raise OutOfRange(f"the frontier of size {self.size} does not know the root at size {size}")
            return remembered
        if not self._nodes:
            return EMPTY_ROOT
        nodes = list(self._nodes)
        root = nodes.pop()
        while nodes:
            root = node_hash(nodes.pop(), root)
        return root


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Return quietly when ``proof`` shows leaf ``index`` with this hash in the tree of ``size`` (RFC 9162 §2.1.3.2)."""
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    for position, element in enumerate(proof):
        _check_hash(element, f"inclusion proof element {position}")
    if not 0 <= index < size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise InvalidProof(f"inclusion proof has more than the elements a tree of size {size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof(f"inclusion proof has fewer than the elements a tree of size {size} needs")
    if r != root:
        raise InvalidProof(f"inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Return quietly when ``proof`` shows the tree of ``old_size`` is a prefix of the tree of ``new_size``.

    RFC 9162 §2.1.4.2, plus the two cases it leaves aside: equal sizes need equal roots and an empty proof;
    the empty tree (size 0) is a prefix of every tree, with an empty proof.
    """
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for position, element in enumerate(proof):
        _check_hash(element, f"consistency proof element {position}")
    if not 0 <= old_size <= new_size:
        raise InvalidProof(f"a log cannot go from size {old_size} to size {new_size}")
    if old_size == new_size:
        if proof:
            raise InvalidProof(f"consistency proof between equal sizes {old_size} must be empty, has {len(proof)}")
        if old_root != new_root:
            raise InvalidProof(f"two different roots for the same size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise InvalidProof(f"consistency proof from the empty tree must be empty, has {len(proof)}")
        if old_root != EMPTY_ROOT:
            raise InvalidProof("old root of size 0 is not the empty-tree root")
        return
    if not proof:
        raise InvalidProof(f"consistency proof from size {old_size} to {new_size} is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof(f"consistency proof has more than the elements {old_size}→{new_size} needs")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof(f"consistency proof has fewer than the elements {old_size}→{new_size} needs")
    if fr != old_root:
        raise InvalidProof(f"consistency proof does not lead to the old root of size {old_size}")
    if sr != new_root:
        raise InvalidProof(f"consistency proof does not lead to the new root of size {new_size}")
