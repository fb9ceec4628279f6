"""``MerkleTree.root`` of every size of a tree of some hundred leaves — grown by appends and built from its leaf
hashes — is the root of that prefix computed from scratch (``root_from_leaf_hashes``, the RFC's pairing)."""

from __future__ import annotations

import hashlib

from riskline.channel.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, root_from_leaf_hashes


def test_the_root_of_every_size_is_the_root_of_that_prefix() -> None:
    leaves = [hashlib.sha256(str(number).encode()).digest() for number in range(600)]
    hashes = [leaf_hash(leaf) for leaf in leaves]
    grown = MerkleTree()
    roots = [grown.root()]
    for leaf in leaves:
        grown.append(leaf)
        roots.append(grown.root())
    expected = [root_from_leaf_hashes(hashes[:size]) for size in range(len(hashes) + 1)]
    assert roots == expected
    assert roots[0] == EMPTY_ROOT
    built = MerkleTree.from_leaf_hashes(hashes)
    assert [built.root(size) for size in range(len(hashes) + 1)] == expected
    assert [grown.root(size) for size in range(len(hashes) + 1)] == expected
