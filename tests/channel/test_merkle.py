"""RFC 9162 Merkle tree: published vectors, a from-the-definition reference, and tamper properties."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.errors import InvalidProof, MalformedEnvelope, OutOfRange
from riskline.channel.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


@pytest.fixture(scope="module")
def vectors(domain_dir: Path) -> tuple[list[bytes], list[bytes]]:
    """The leaf inputs and the roots of sizes 0..8 from shared/domain/merkle-vectors.json."""
    document = json.loads((domain_dir / "merkle-vectors.json").read_text())
    leaves = [bytes.fromhex(text) for text in document["leaf_inputs_hex"]]
    roots = [bytes.fromhex(text) for text in document["roots_by_size_hex"]]
    return leaves, roots


@pytest.fixture(scope="module")
def vector_tree(vectors: tuple[list[bytes], list[bytes]]) -> MerkleTree:
    tree = MerkleTree()
    for data in vectors[0]:
        tree.append(data)
    return tree


# The RFC 9162 §2.1 definitions written out recursively, as independent as possible of merkle.py.


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_root(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


def reference_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return [*reference_path(m, hashes[:k]), reference_root(hashes[k:])]
    return [*reference_path(m - k, hashes[k:]), reference_root(hashes[:k])]


def reference_subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [reference_root(hashes)]
    k = _split(n)
    if m <= k:
        return [*reference_subproof(m, hashes[:k], whole), reference_root(hashes[k:])]
    return [*reference_subproof(m - k, hashes[k:], False), reference_root(hashes[:k])]


def flip_bit(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_the_empty_tree_root_is_the_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleTree().root() == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert node_hash(b"a" * 32, b"b" * 32) != leaf_hash(b"a" * 32 + b"b" * 32)


def test_roots_of_every_size_match_the_published_vectors(vectors: tuple[list[bytes], list[bytes]]) -> None:
    leaves, roots = vectors
    assert len(roots) == 9
    growing = MerkleTree()
    for size in range(9):
        hashes = [leaf_hash(data) for data in leaves[:size]]
        assert growing.root() == roots[size]
        assert root_from_leaf_hashes(hashes) == roots[size]
        assert MerkleTree.from_leaf_hashes(hashes).root() == roots[size]
        assert reference_root(hashes) == roots[size]
        if size < 8:
            assert growing.append(leaves[size]) == size


def test_a_full_tree_answers_the_root_of_every_historical_size(
    vector_tree: MerkleTree, vectors: tuple[list[bytes], list[bytes]]
) -> None:
    assert [vector_tree.root(size) for size in range(9)] == vectors[1]


def test_every_inclusion_proof_in_trees_of_size_1_to_8_verifies(
    vector_tree: MerkleTree, vectors: tuple[list[bytes], list[bytes]]
) -> None:
    leaves, roots = vectors
    for size in range(1, 9):
        for index in range(size):
            proof = vector_tree.inclusion_proof(index, size)
            assert proof == reference_path(index, [leaf_hash(data) for data in leaves[:size]])
            verify_inclusion(leaf_hash(leaves[index]), index, size, proof, roots[size])


def test_every_consistency_proof_between_sizes_up_to_8_verifies(
    vector_tree: MerkleTree, vectors: tuple[list[bytes], list[bytes]]
) -> None:
    leaves, roots = vectors
    for new_size in range(1, 9):
        hashes = [leaf_hash(data) for data in leaves[:new_size]]
        for old_size in range(1, new_size + 1):
            proof = vector_tree.consistency_proof(old_size, new_size)
            assert proof == reference_subproof(old_size, hashes, True)
            verify_consistency(old_size, new_size, roots[old_size], roots[new_size], proof)


# Proofs published with the transparency-dev/merkle (ex-Trillian, CT) reference tests for these same leaves.
REFERENCE_INCLUSION = [
    (0, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (5, 8, ["bc1a0643", "ca854ea1", "d37ee418"]),
    (2, 3, ["fac54203"]),
    (1, 5, ["6e340b9c", "5f083f0a", "bc1a0643"]),
]
REFERENCE_CONSISTENCY = [
    (1, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (6, 8, ["0ebc5d34", "ca854ea1", "d37ee418"]),
    (2, 5, ["5f083f0a", "bc1a0643"]),
]


@pytest.mark.parametrize(("index", "size", "prefixes"), REFERENCE_INCLUSION)
def test_inclusion_proofs_equal_the_reference_implementations(
    vector_tree: MerkleTree, index: int, size: int, prefixes: list[str]
) -> None:
    assert [h.hex()[:8] for h in vector_tree.inclusion_proof(index, size)] == prefixes


@pytest.mark.parametrize(("old_size", "new_size", "prefixes"), REFERENCE_CONSISTENCY)
def test_consistency_proofs_equal_the_reference_implementations(
    vector_tree: MerkleTree, old_size: int, new_size: int, prefixes: list[str]
) -> None:
    assert [h.hex()[:8] for h in vector_tree.consistency_proof(old_size, new_size)] == prefixes


def test_every_bit_flipped_in_an_inclusion_proof_makes_it_fail(
    vector_tree: MerkleTree, vectors: tuple[list[bytes], list[bytes]]
) -> None:
    leaves, roots = vectors
    proof = vector_tree.inclusion_proof(5, 7)
    for position, element in enumerate(proof):
        for bit in range(256):
            tampered = [*proof[:position], flip_bit(element, bit), *proof[position + 1 :]]
            with pytest.raises(InvalidProof):
                verify_inclusion(leaf_hash(leaves[5]), 5, 7, tampered, roots[7])


def test_the_empty_tree_is_consistent_with_every_tree_by_an_empty_proof(
    vector_tree: MerkleTree, vectors: tuple[list[bytes], list[bytes]]
) -> None:
    roots = vectors[1]
    for size in range(9):
        assert vector_tree.consistency_proof(0, size) == []
        verify_consistency(0, size, EMPTY_ROOT, roots[size], [])
    with pytest.raises(InvalidProof) as caught:
        verify_consistency(0, 3, roots[1], roots[3], [])
    assert str(caught.value) == "old root of size 0 is not the empty-tree root"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0, 0, "root0", []), "leaf index 0 is outside a tree of size 0"),
        ((8, 8, "root8", []), "leaf index 8 is outside a tree of size 8"),
        ((-1, 8, "root8", []), "leaf index -1 is outside a tree of size 8"),
        ((0, 1, "root1", ["root1"]), "inclusion proof has more than the elements a tree of size 1 needs"),
        ((0, 2, "root2", []), "inclusion proof has fewer than the elements a tree of size 2 needs"),
        ((0, 2, "root3", ["leaf1"]), "inclusion proof of leaf 0 does not lead to the root of size 2"),
        ((0, 2, "short", ["leaf1"]), "root is 31 bytes, a SHA-256 hash is 32"),
        ((0, 2, "root2", [b"\x00"]), "inclusion proof element 0 is 1 bytes, a SHA-256 hash is 32"),
    ],
)
def test_verify_inclusion_says_why_in_one_line(
    vectors: tuple[list[bytes], list[bytes]], arguments: tuple[int, int, str, list[str | bytes]], message: str
) -> None:
    leaves, roots = vectors
    named = {f"root{size}": root for size, root in enumerate(roots)} | {"short": roots[2][:31]}
    named |= {f"leaf{index}": leaf_hash(data) for index, data in enumerate(leaves)}
    index, size, root_name, proof_names = arguments
    proof = [named[item] if isinstance(item, str) else item for item in proof_names]
    with pytest.raises(InvalidProof) as caught:
        verify_inclusion(leaf_hash(leaves[0]), index, size, proof, named[root_name])
    assert str(caught.value) == message


def test_verify_consistency_says_why_in_one_line(
    vector_tree: MerkleTree, vectors: tuple[list[bytes], list[bytes]]
) -> None:
    roots = vectors[1]
    proof = vector_tree.consistency_proof(3, 7)
    cases = [
        ((5, 4, roots[5], roots[4], []), "a log cannot go from size 5 to size 4"),
        ((4, 4, roots[4], roots[4], [roots[1]]), "consistency proof between equal sizes 4 must be empty, has 1"),
        ((4, 4, roots[4], roots[5], []), "two different roots for the same size 4"),
        ((0, 4, EMPTY_ROOT, roots[4], [roots[1]]), "consistency proof from the empty tree must be empty, has 1"),
        ((3, 7, roots[3], roots[7], []), "consistency proof from size 3 to 7 is empty"),
        ((3, 7, roots[3], roots[7], [*proof, roots[1]]), "consistency proof has more than the elements 3→7 needs"),
        ((3, 7, roots[3], roots[7], proof[:-1]), "consistency proof has fewer than the elements 3→7 needs"),
        ((3, 7, roots[2], roots[7], proof), "consistency proof does not lead to the old root of size 3"),
        ((3, 7, roots[3], roots[6], proof), "consistency proof does not lead to the new root of size 7"),
        ((3, 7, roots[3][:5], roots[7], proof), "old root is 5 bytes, a SHA-256 hash is 32"),
    ]
    for (old_size, new_size, old_root, new_root, path), message in cases:
        with pytest.raises(InvalidProof) as caught:
            verify_consistency(old_size, new_size, old_root, new_root, path)
        assert str(caught.value) == message


def test_asking_a_tree_for_what_it_does_not_have_is_out_of_range(vector_tree: MerkleTree) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: vector_tree.root(9), "tree size 9 is outside a log of 8 entries"),
        (lambda: vector_tree.root(-1), "tree size -1 is outside a log of 8 entries"),
        (lambda: vector_tree.inclusion_proof(8), "leaf index 8 is outside a tree of size 8"),
        (lambda: vector_tree.inclusion_proof(3, 3), "leaf index 3 is outside a tree of size 3"),
        (lambda: vector_tree.consistency_proof(5, 4), "old size 5 is not between 0 and the new size 4"),
        (lambda: vector_tree.consistency_proof(1, 10), "tree size 10 is outside a log of 8 entries"),
        (lambda: vector_tree.leaf_hash_at(8), "leaf index 8 is outside a log of 8 entries"),
    ]
    for call, message in cases:
        with pytest.raises(OutOfRange) as caught:
            call()
        assert str(caught.value) == message
        assert caught.value.http_status == 404
        assert isinstance(caught.value, IndexError)


def test_leaf_hashes_are_kept_and_bad_ones_refused(vectors: tuple[list[bytes], list[bytes]]) -> None:
    tree = MerkleTree()
    assert tree.append_leaf_hash(leaf_hash(vectors[0][0])) == 0
    assert tree.leaf_hash_at(0) == leaf_hash(vectors[0][0])
    assert len(tree) == tree.size == 1
    with pytest.raises(MalformedEnvelope, match=r"^a leaf hash is 32 bytes, got 33$"):
        tree.append_leaf_hash(b"\x00" * 33)
    with pytest.raises(MalformedEnvelope, match=r"^leaf hash 1 is 3 bytes, a SHA-256 hash is 32$"):
        MerkleTree.from_leaf_hashes([EMPTY_ROOT, b"abc"])
    with pytest.raises(MalformedEnvelope, match=r"^leaf hash 0 is 0 bytes, a SHA-256 hash is 32$"):
        root_from_leaf_hashes([b""])
    assert tree.size == 1


# Distinct leaves (a repeated leaf really is at two indices, so "wrong index" would not be wrong); the count is
# drawn uniformly so that trees of 100-200 leaves are as common as small ones.
distinct_leaves = st.one_of(
    st.lists(st.binary(max_size=12), min_size=1, max_size=20, unique=True),
    st.tuples(st.integers(1, 200), st.binary(max_size=4)).map(
        lambda count_salt: [count_salt[1] + i.to_bytes(2, "big") for i in range(count_salt[0])]
    ),
)


def test_every_proof_in_a_tree_of_70_leaves_matches_the_rfc_definition() -> None:
    hashes = [leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    tree = MerkleTree.from_leaf_hashes(hashes)
    roots = [reference_root(hashes[:size]) for size in range(71)]
    assert [tree.root(size) for size in range(71)] == roots
    for new_size in range(1, 71):
        for old_size in range(1, new_size + 1):
            proof = tree.consistency_proof(old_size, new_size)
            assert proof == reference_subproof(old_size, hashes[:new_size], True)
            verify_consistency(old_size, new_size, roots[old_size], roots[new_size], proof)
        for index in range(new_size):
            proof = tree.inclusion_proof(index, new_size)
            assert proof == reference_path(index, hashes[:new_size])
            verify_inclusion(hashes[index], index, new_size, proof, roots[new_size])


@settings(max_examples=60, deadline=None)
@given(leaves=distinct_leaves, data=st.data())
def test_random_inclusion_proofs_verify_and_any_tampering_fails(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree()
    for item in leaves:
        tree.append(item)
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root = tree.root(size)
    proof = tree.inclusion_proof(index, size)
    hashed = leaf_hash(leaves[index])
    verify_inclusion(hashed, index, size, proof, root)

    with pytest.raises(InvalidProof):
        verify_inclusion(flip_bit(hashed, data.draw(st.integers(0, 255), label="leaf bit")), index, size, proof, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(hashed, index, size, proof, flip_bit(root, data.draw(st.integers(0, 255), label="root bit")))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="proof element")
        bit = data.draw(st.integers(0, 255), label="proof bit")
        tampered = [*proof[:position], flip_bit(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(InvalidProof):
            verify_inclusion(hashed, index, size, tampered, root)
    if size > 1:
        wrong_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="wrong index")
        with pytest.raises(InvalidProof):
            verify_inclusion(hashed, wrong_index, size, proof, root)


@settings(max_examples=60, deadline=None)
@given(leaves=distinct_leaves, data=st.data())
def test_random_consistency_proofs_verify_and_any_tampering_fails(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_leaf_hashes(leaf_hash(item) for item in leaves)
    new_size = data.draw(st.integers(1, len(leaves)), label="new size")
    old_size = data.draw(st.integers(1, new_size), label="old size")
    old_root, new_root = tree.root(old_size), tree.root(new_size)
    proof = tree.consistency_proof(old_size, new_size)
    hashes = [leaf_hash(item) for item in leaves]
    assert proof == reference_subproof(old_size, hashes[:new_size], True)
    verify_consistency(old_size, new_size, old_root, new_root, proof)

    old_bit, new_bit = data.draw(st.integers(0, 255), label="old bit"), data.draw(st.integers(0, 255), label="new bit")
    with pytest.raises(InvalidProof):
        verify_consistency(old_size, new_size, flip_bit(old_root, old_bit), new_root, proof)
    with pytest.raises(InvalidProof):
        verify_consistency(old_size, new_size, old_root, flip_bit(new_root, new_bit), proof)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="proof element")
        bit = data.draw(st.integers(0, 255), label="proof bit")
        tampered = [*proof[:position], flip_bit(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(InvalidProof):
            verify_consistency(old_size, new_size, old_root, new_root, tampered)
    if old_size < new_size:
        rewritten = [*hashes[: old_size - 1], leaf_hash(b"rewritten " + leaves[old_size - 1]), *hashes[old_size:]]
        forged_new_root = root_from_leaf_hashes(rewritten[:new_size])
        with pytest.raises(InvalidProof):
            verify_consistency(old_size, new_size, old_root, forged_new_root, proof)


@settings(max_examples=40, deadline=None)
@given(leaves=st.one_of(st.lists(st.binary(max_size=8), max_size=20), distinct_leaves))
def test_incremental_roots_equal_roots_computed_from_scratch(leaves: list[bytes]) -> None:
    tree = MerkleTree()
    hashes: list[bytes] = []
    for item in leaves:
        tree.append(item)
        hashes.append(leaf_hash(item))
        assert tree.root() == root_from_leaf_hashes(hashes)
    assert tree.root() == reference_root(hashes)
    rebuilt = MerkleTree.from_leaf_hashes(hashes)
    assert [rebuilt.root(size) for size in range(len(hashes) + 1)] == [
        reference_root(hashes[:size]) for size in range(len(hashes) + 1)
    ]
    rebuilt.append(b"one more")
    tree.append(b"one more")
    assert rebuilt.root() == tree.root()
