"""Proof bundles and log verification: a 200-entry log made here, checked offline, then broken in every way."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from channel_builders import RU_EE, T0, Node, questions_and_answers, text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskline.channel.bundle import Bundle, Failure, verify_bundle, verify_log
from riskline.channel.checkpoint import Checkpoint, cosign, sign_checkpoint
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.messages import MessageType
from riskline.channel.signing import VerifyKey

ROUNDS = 100  # RU writes, EE answers: EE's log has 200 entries, received at even and sent at odd indexes


@cache
def conversation() -> tuple[Node, Node]:
    return questions_and_answers(ROUNDS)


def keys() -> dict[str, VerifyKey]:
    ru, ee = conversation()
    return {"ee-mod": ee.key.public_key, "ru-nmdc": ru.key.public_key}


@cache
def _bundle() -> str:
    _, ee = conversation()
    built = Bundle.build(
        ee.leaves, ee.heads, ee.cosignatures_received, ee.receipts_issued + ee.receipts_received, keys()
    )
    return json.dumps(built)


def bundle() -> dict[str, Any]:
    """A fresh copy of the exported bundle, as read back from its JSON file."""
    data: dict[str, Any] = json.loads(_bundle())
    return data


def failure_of(data: dict[str, Any]) -> Failure:
    report = verify_bundle(data)
    assert not report.ok
    assert report.failure is not None
    return report.failure


def text_of(envelope: SignedEnvelope) -> str:
    return str(envelope.envelope.body["text"])


def test_the_log_made_here_has_200_entries_half_sent_half_received() -> None:
    ee = conversation()[1]
    assert len(ee.leaves) == 200
    assert text_of(SignedEnvelope.from_leaf(ee.leaves[0])) == "question 0"
    assert text_of(SignedEnvelope.from_leaf(ee.leaves[1])) == "answer 0"


def test_a_bundle_of_the_whole_log_verifies_offline() -> None:
    report = verify_bundle(bundle())
    assert report.failure is None
    assert report.ok
    assert report.origin == "ee-mod"
    assert report.entries_checked == 200
    assert report.checkpoints_checked == 200
    assert report.cosignatures_checked == 100
    assert report.receipts_checked == 200
    assert report.root == conversation()[1].tree.root()


def test_the_bundle_holds_exactly_its_parts() -> None:
    data = bundle()
    assert set(data) == {"kind", "v", "origin", "keys", "entries", "checkpoints", "cosignatures", "receipts"}
    assert data["kind"] == "riskline-proof-bundle"
    assert data["keys"] == {name: key.to_text() for name, key in sorted(keys().items())}
    assert data["entries"][0].encode() == conversation()[1].leaves[0]


def test_the_whole_log_verifies() -> None:
    ee = conversation()[1]
    report = verify_log(ee.leaves, ee.heads, keys())
    assert report.ok
    assert report.entries_checked == 200
    assert report.checkpoints_checked == 200
    assert report.root == ee.tree.root()
    assert verify_log(iter(ee.leaves), ee.heads[-1:], keys(), recanonicalize=True).ok


def test_a_flipped_letter_in_an_entry_is_named_by_its_index() -> None:
    data = bundle()
    data["entries"][57] = data["entries"][57].replace("answer 28", "answer 29")
    ee_key = conversation()[1].key.public_key
    assert failure_of(data) == Failure(
        "entries", 57, f"envelope signature does not verify with key {ee_key.fingerprint}"
    )


def test_a_flipped_byte_that_breaks_the_json_is_named_by_its_index() -> None:
    data = bundle()
    data["entries"][120] = "[" + data["entries"][120][1:]
    failure = failure_of(data)
    assert (failure.section, failure.index) == ("entries", 120)
    assert failure.reason.startswith("not a valid signed envelope: entry is not JSON:")


def test_a_deleted_entry_is_named_by_its_index() -> None:
    ee = conversation()[1]
    data = bundle()
    moved_up = SignedEnvelope.from_leaf(ee.leaves[58])
    del data["entries"][57]
    assert failure_of(data) == Failure(
        "entries",
        57,
        f"this node's receipt places envelope {moved_up.id} at index 58, it sits at 57",
    )


def test_a_deleted_received_entry_is_named_by_its_index() -> None:
    ee = conversation()[1]
    data = bundle()
    moved_up = SignedEnvelope.from_leaf(ee.leaves[59])
    del data["entries"][58]
    assert failure_of(data) == Failure(
        "entries", 58, f"this node's envelope {moved_up.id} cites its log at size 59 but sits at index 58"
    )


def test_reordered_entries_are_named_by_the_first_index_out_of_place() -> None:
    ee = conversation()[1]
    data = bundle()
    entries = data["entries"]
    entries[100], entries[102] = entries[102], entries[100]
    moved = SignedEnvelope.from_leaf(ee.leaves[102])
    assert failure_of(data) == Failure(
        "entries", 100, f"this node's receipt places envelope {moved.id} at index 102, it sits at 100"
    )


def test_reordered_entries_in_a_log_without_receipts_are_caught_by_sequence_numbers() -> None:
    ee = conversation()[1]
    leaves = list(ee.leaves)
    leaves[100], leaves[102] = leaves[102], leaves[100]
    report = verify_log(leaves, ee.heads, keys())
    assert report.failure == Failure(
        "entries", 100, "seq 52 of 'ru-nmdc' on RU-EE follows seq 50: an entry is missing, repeated or out of order"
    )
    assert report.entries_checked == 100
    assert report.first_failing_entry == 100


def test_a_validly_signed_but_substituted_entry_is_caught_by_the_signed_checkpoints() -> None:
    ru, ee = conversation()
    original = SignedEnvelope.from_leaf(ee.leaves[40])
    substitute = ru.compose(
        RU_EE, MessageType.FREE_TEXT, text("a different question 20"), created=T0, seq=original.envelope.seq, log=False
    )
    leaves = list(ee.leaves)
    leaves[40] = substitute.leaf_data()
    assert verify_log(leaves, ee.heads, keys()).failure == Failure(
        "entries", 40, "entry 40 is not the one the signed checkpoint of size 41 covers"
    )
    sparse = verify_log(leaves, [ee.heads[29], ee.heads[-1]], keys())
    answer = SignedEnvelope.from_leaf(ee.leaves[41])
    assert sparse.failure == Failure(
        "entries",
        41,
        f"this node's envelope {answer.id} cites a root that the 41 entries before it do not have:"
        " an earlier entry was changed",
    )
    up_to_it = verify_log(leaves[:41], [ee.heads[29], ee.heads[40]], keys())
    assert up_to_it.failure == Failure(
        "entries", 30, "entries 30..40 do not hash to the root of the signed checkpoint of size 41"
    )


def test_a_truncated_log_says_entries_are_missing() -> None:
    ee = conversation()[1]
    report = verify_log(ee.leaves[:-1], ee.heads, keys())
    assert report.failure == Failure(
        "entries", 199, "the log ends after 199 entries but a signed checkpoint covers 200: entries are missing"
    )


def test_two_signed_heads_of_one_size_are_reported_as_equivocation() -> None:
    ee = conversation()[1]
    forged = sign_checkpoint(ee.key, Checkpoint("ee-mod", 50, bytes(32), T0))
    report = verify_log(ee.leaves, [*ee.heads, forged], keys())
    assert report.failure == Failure(
        "checkpoints", 200, "equivocation: two signed checkpoints of size 50 with different roots"
    )


def test_a_checkpoint_with_a_bad_signature_is_named() -> None:
    data = bundle()
    signature = data["checkpoints"][9]["signature"]
    data["checkpoints"][9]["signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    ee_key = conversation()[1].key.public_key
    assert failure_of(data) == Failure(
        "checkpoints", 9, f"checkpoint signature does not verify with key {ee_key.fingerprint}"
    )


def test_an_entry_by_a_key_not_in_the_bundle_is_named() -> None:
    ru = conversation()[0]
    data = bundle()
    del data["keys"]["ru-nmdc"]
    assert failure_of(data) == Failure(
        "entries",
        0,
        f"signed by 'ru-nmdc' with key {ru.key.public_key.fingerprint}, which is not among the given keys",
    )


def test_a_bundle_without_the_log_s_own_key_cannot_be_checked() -> None:
    data = bundle()
    del data["keys"]["ee-mod"]
    assert failure_of(data) == Failure("keys", 0, "no public key for the log's own node 'ee-mod'")


def test_an_altered_receipt_is_named() -> None:
    data = bundle()
    data["receipts"][3]["received"] += 1.0
    ee_key = conversation()[1].key.public_key
    assert failure_of(data) == Failure(
        "receipts", 3, f"receipt signature does not verify with key {ee_key.fingerprint}"
    )


def test_a_cosignature_of_a_head_the_log_never_had_is_named() -> None:
    ru = conversation()[0]
    data = bundle()
    fake = cosign(ru.key, Checkpoint("ee-mod", 20, bytes(32), T0), T0)
    data["cosignatures"][5] = fake.to_dict()
    assert failure_of(data) == Failure(
        "cosignatures", 5, "cosigns a root for size 20 that the bundle's entries do not have"
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda d: d.clear(),
            Failure("bundle", 0, "lacks kind, v, origin, keys, entries, checkpoints, cosignatures, receipts"),
        ),
        (lambda d: d.update(kind="zip"), Failure("bundle", 0, "not a riskline-proof-bundle version 1")),
        (lambda d: d.update(entries={}), Failure("entries", 0, "entries must be a list, got dict")),
        (
            lambda d: d["entries"].__setitem__(4, 17),
            Failure("entries", 4, "an entry is the text of a canonical JSON envelope, got int"),
        ),
        (lambda d: d["receipts"][2].pop("cosignature"), Failure("receipts", 2, "cosignature: missing")),
        (
            lambda d: d["keys"].update({"us-eucom": "ed25519:"}),
            Failure("keys", 2, "keys.us-eucom: verify key 'ed25519:' holds 0 bytes, an Ed25519 key has 32"),
        ),
    ],
)  # fmt: skip
def test_a_malformed_bundle_is_reported_not_raised(damage: Any, expected: Failure) -> None:
    data = bundle()
    damage(data)
    assert failure_of(data) == expected


def test_a_bundle_that_is_not_an_object_is_reported() -> None:
    report = verify_bundle([])  # type: ignore[arg-type]
    assert report.failure == Failure("bundle", 0, "a bundle is a JSON object, got list")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_changed_character_of_any_entry_is_named_by_its_index(data: st.DataObject) -> None:
    bundle_data = copy.deepcopy(bundle())
    index = data.draw(st.integers(0, 199), label="entry")
    entry = bundle_data["entries"][index]
    position = data.draw(st.integers(0, len(entry) - 1), label="position")
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != entry[position]), label="character")
    bundle_data["entries"][index] = entry[:position] + replacement + entry[position + 1 :]
    failure = failure_of(bundle_data)
    assert (failure.section, failure.index) == ("entries", index)
