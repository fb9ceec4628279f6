"""Signed checkpoints, cosignatures, equivocation proofs and the witness, over a log of real AIS sentences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from riskline.channel.canonical import canonical_json
from riskline.channel.checkpoint import (
    Checkpoint,
    Cosignature,
    EquivocationProof,
    SignedCheckpoint,
    Witness,
    cosign,
    detect_equivocation,
    sign_checkpoint,
    verify_checkpoint,
    verify_cosignature,
)
from riskline.channel.errors import (
    BadSignature,
    ChannelError,
    EquivocationDetected,
    ForeignChannel,
    InvalidProof,
    KeyChanged,
    MalformedEnvelope,
    MalformedKey,
    StaleEnvelope,
)
from riskline.channel.merkle import MerkleTree
from riskline.channel.signing import Purpose, SigningKey

T0 = 1_700_000_000.25  # [s] POSIX
LOG_KEY = SigningKey.from_seed(b"\x01" * 32)
WITNESS_KEY = SigningKey.from_seed(b"\x02" * 32)
INTRUDER_KEY = SigningKey.from_seed(b"\x03" * 32)
ORIGIN = f"EE-node/{LOG_KEY.public_key.fingerprint}"


@pytest.fixture(scope="module")
def ais_lines(data_dir: Path) -> list[bytes]:
    """Real AIS sentences (pyais sample) as the log's entries."""
    return (data_dir / "ais" / "pyais_nmea_data_sample.txt").read_bytes().splitlines()


@pytest.fixture(scope="module")
def log(ais_lines: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    for line in ais_lines[:100]:
        tree.append(line)
    return tree


@pytest.fixture(scope="module")
def forked_log(ais_lines: list[bytes]) -> MerkleTree:
    """The same log with entry 40 rewritten: the history a dishonest node would like to show."""
    tree = MerkleTree()
    for index, line in enumerate(ais_lines[:100]):
        tree.append(b"!AIVDM,rewritten" if index == 40 else line)
    return tree


def head(tree: MerkleTree, size: int, t: float = T0, key: SigningKey = LOG_KEY) -> SignedCheckpoint:
    return sign_checkpoint(key, Checkpoint(ORIGIN, size, tree.root(size), t))


def roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    """Through JSON text, as a dict form travels."""
    parsed: dict[str, Any] = json.loads(json.dumps(value))
    return parsed


def test_a_signed_checkpoint_verifies_and_survives_its_dict_form(log: MerkleTree) -> None:
    signed = head(log, 64)
    verify_checkpoint(signed)
    verify_checkpoint(signed, trusted=LOG_KEY.public_key)
    again = SignedCheckpoint.from_dict(roundtrip(signed.to_dict()))
    assert again == signed
    assert again.to_dict() == signed.to_dict()
    verify_checkpoint(again, trusted=LOG_KEY.public_key)


def test_the_checkpoint_payload_is_its_canonical_json() -> None:
    checkpoint = Checkpoint("EE-node", 3, bytes(range(32)), 1_700_000_000.0)
    assert checkpoint.to_dict() == {
        "origin": "EE-node",
        "size": 3,
        "root": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "timestamp": 1_700_000_000.0,
    }
    assert checkpoint.payload() == (
        b'{"origin":"EE-node","root":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",'
        b'"size":3,"timestamp":1700000000}'
    )
    assert Checkpoint.from_dict(json.loads(checkpoint.payload())) == checkpoint


def test_signed_checkpoint_dict_uses_key_text_and_base64(log: MerkleTree) -> None:
    signed = head(log, 5)
    as_dict = signed.to_dict()
    assert as_dict["signer"] == LOG_KEY.public_key.to_text()
    assert len(as_dict["signature"]) == 88
    assert as_dict["checkpoint"]["root"] == log.root(5).hex()


def test_a_checkpoint_signed_by_another_key_than_the_pinned_one_is_a_key_change(log: MerkleTree) -> None:
    signed = head(log, 10, key=INTRUDER_KEY)
    verify_checkpoint(signed)
    with pytest.raises(KeyChanged) as caught:
        verify_checkpoint(signed, trusted=LOG_KEY.public_key)
    assert str(caught.value) == (
        f"checkpoint of {ORIGIN!r} is signed by {INTRUDER_KEY.public_key.fingerprint}, "
        f"the pinned key is {LOG_KEY.public_key.fingerprint}"
    )
    assert caught.value.http_status == 403


def test_an_altered_checkpoint_fails_its_signature(log: MerkleTree) -> None:
    signed = head(log, 10)
    altered = SignedCheckpoint(Checkpoint(ORIGIN, 11, log.root(11), T0), signed.signer, signed.signature)
    with pytest.raises(BadSignature):
        verify_checkpoint(altered)
    later = SignedCheckpoint(Checkpoint(ORIGIN, 10, log.root(10), T0 + 1), signed.signer, signed.signature)
    with pytest.raises(BadSignature):
        verify_checkpoint(later)


def test_a_checkpoint_signature_is_not_valid_for_any_other_purpose(log: MerkleTree) -> None:
    signed = head(log, 10)
    with pytest.raises(BadSignature):
        LOG_KEY.public_key.verify(Purpose.COSIGNATURE, signed.checkpoint.payload(), signed.signature)
    with pytest.raises(BadSignature):
        LOG_KEY.public_key.verify(Purpose.ENVELOPE, signed.checkpoint.payload(), signed.signature)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"origin": ""}, "checkpoint origin must be non-empty text"),
        ({"size": -1}, "checkpoint size must be a whole number from 0 to 2**53-1, got -1"),
        ({"size": True}, "checkpoint size must be a whole number from 0 to 2**53-1, got True"),
        ({"size": 2**53}, "checkpoint size must be a whole number from 0 to 2**53-1, got 9007199254740992"),
        ({"root": b"\x00" * 31}, "checkpoint root must be 32 bytes"),
        ({"timestamp": float("nan")}, "checkpoint timestamp must be a finite number of seconds, got nan"),
        ({"timestamp": "2024-01-01"}, "checkpoint timestamp must be a finite number of seconds, got '2024-01-01'"),
    ],
)
def test_a_checkpoint_refuses_impossible_fields(fields: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"origin": ORIGIN, "size": 1, "root": b"\x00" * 32, "timestamp": T0} | fields
    with pytest.raises(MalformedEnvelope) as caught:
        Checkpoint(**values)
    assert str(caught.value) == message


def test_a_whole_number_timestamp_is_kept_as_float() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, b"\x00" * 32, 1_700_000_000)
    assert isinstance(checkpoint.timestamp, float)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("size"), "checkpoint lacks size"),
        (lambda d: d.update(extra=1), "checkpoint has unexpected fields: extra"),
        (lambda d: d.update(root=d["root"].upper()), "checkpoint root must be lower-case hex"),
        (lambda d: d.update(root=d["root"][:-2]), "checkpoint root must be 32 bytes, got 31"),
    ],
)
def test_checkpoint_from_dict_names_the_problem(log: MerkleTree, mutate: Any, message: str) -> None:
    as_dict = Checkpoint(ORIGIN, 4, log.root(4), T0).to_dict()
    mutate(as_dict)
    with pytest.raises(MalformedEnvelope) as caught:
        Checkpoint.from_dict(as_dict)
    assert str(caught.value) == message


def test_signed_checkpoint_from_dict_names_the_problem(log: MerkleTree) -> None:
    as_dict = head(log, 4).to_dict()
    with pytest.raises(MalformedEnvelope, match=r"^signed checkpoint must be a JSON object, got list$"):
        SignedCheckpoint.from_dict([as_dict])
    with pytest.raises(MalformedEnvelope, match=r"^checkpoint signature is not valid base64$"):
        SignedCheckpoint.from_dict(as_dict | {"signature": "not base64!"})
    with pytest.raises(MalformedKey, match=r"^a verify key starts with 'ed25519:', got 'rsa:AAAA'$"):
        SignedCheckpoint.from_dict(as_dict | {"signer": "rsa:AAAA"})
    with pytest.raises(MalformedEnvelope, match=r"^checkpoint signer must be key text like 'ed25519:<base64>', got"):
        SignedCheckpoint.from_dict(as_dict | {"signer": None})


def test_a_cosignature_binds_the_checkpoint_and_the_witness_time(log: MerkleTree) -> None:
    checkpoint = head(log, 30).checkpoint
    cosignature = cosign(WITNESS_KEY, checkpoint, T0 + 2.5)
    assert cosignature.witness == WITNESS_KEY.public_key
    assert cosignature.timestamp == T0 + 2.5
    assert cosignature.payload() == canonical_json({"checkpoint": checkpoint.to_dict(), "timestamp": T0 + 2.5})
    verify_cosignature(cosignature)
    verify_cosignature(cosignature, trusted=WITNESS_KEY.public_key)
    for forged in (
        Cosignature(checkpoint, cosignature.witness, cosignature.signature, T0 + 3),
        Cosignature(head(log, 31).checkpoint, cosignature.witness, cosignature.signature, T0 + 2.5),
    ):
        with pytest.raises(BadSignature):
            verify_cosignature(forged)
    with pytest.raises(KeyChanged):
        verify_cosignature(cosignature, trusted=LOG_KEY.public_key)


def test_a_cosignature_survives_its_dict_form(log: MerkleTree) -> None:
    cosignature = cosign(WITNESS_KEY, head(log, 30).checkpoint, T0 + 2.5)
    as_dict = cosignature.to_dict()
    assert set(as_dict) == {"checkpoint", "witness", "signature", "timestamp"}
    again = Cosignature.from_dict(roundtrip(as_dict))
    assert again == cosignature
    assert again.to_dict() == as_dict
    verify_cosignature(again)


def test_a_checkpoint_signature_cannot_pass_as_a_cosignature(log: MerkleTree) -> None:
    signed = head(log, 30, key=WITNESS_KEY)
    with pytest.raises(BadSignature):
        verify_cosignature(Cosignature(signed.checkpoint, WITNESS_KEY.public_key, signed.signature, T0))


def test_two_roots_for_one_size_are_equivocation_provable_from_the_dict_alone(
    log: MerkleTree, forked_log: MerkleTree
) -> None:
    honest, forked = head(log, 50), head(forked_log, 50, t=T0 + 60)
    proof = detect_equivocation(honest, forked)
    assert proof is not None
    assert proof == detect_equivocation(forked, honest)
    assert (proof.origin, proof.signer, proof.size) == (ORIGIN, LOG_KEY.public_key, 50)
    assert proof.first.checkpoint.root < proof.second.checkpoint.root
    proof.verify()

    evidence = json.dumps(proof.to_dict())
    received = EquivocationProof.from_dict(json.loads(evidence))
    assert received == proof
    received.verify()


def test_heads_that_agree_or_differ_in_log_or_size_are_no_equivocation(log: MerkleTree, forked_log: MerkleTree) -> None:
    honest = head(log, 50)
    assert detect_equivocation(honest, head(log, 50, t=T0 + 5)) is None
    assert detect_equivocation(honest, head(forked_log, 51)) is None
    assert detect_equivocation(honest, head(forked_log, 50, key=INTRUDER_KEY)) is None
    other_log = sign_checkpoint(LOG_KEY, Checkpoint("LV-node", 50, forked_log.root(50), T0))
    assert detect_equivocation(honest, other_log) is None


def test_a_forged_head_is_no_evidence_of_equivocation(log: MerkleTree, forked_log: MerkleTree) -> None:
    honest = head(log, 50)
    forged = SignedCheckpoint(Checkpoint(ORIGIN, 50, forked_log.root(50), T0), honest.signer, honest.signature)
    with pytest.raises(BadSignature):
        detect_equivocation(honest, forged)
    with pytest.raises(InvalidProof) as caught:
        EquivocationProof(honest, forged).verify()
    assert str(caught.value).startswith("not equivocation: the second checkpoint's signature fails: ")


def test_an_equivocation_proof_that_is_not_one_says_why(log: MerkleTree, forked_log: MerkleTree) -> None:
    honest = head(log, 50)
    cases = [
        (head(log, 50, t=T0 + 1), "not equivocation: both checkpoints have the same root at size 50"),
        (head(forked_log, 49), "not equivocation: different sizes (50, 49)"),
        (
            head(forked_log, 50, key=INTRUDER_KEY),
            f"not equivocation: two signers ({LOG_KEY.public_key.fingerprint}, {INTRUDER_KEY.public_key.fingerprint})",
        ),
        (
            sign_checkpoint(LOG_KEY, Checkpoint("LV-node", 50, forked_log.root(50), T0)),
            f"not equivocation: two logs ({ORIGIN!r}, 'LV-node')",
        ),
    ]
    for other, message in cases:
        with pytest.raises(InvalidProof) as caught:
            EquivocationProof(honest, other).verify()
        assert str(caught.value) == message


def test_a_witness_cosigns_a_log_that_only_grows(log: MerkleTree) -> None:
    witness = Witness(ORIGIN, LOG_KEY.public_key)
    witness.observe(head(log, 10), [])
    first = witness.cosign(WITNESS_KEY, T0 + 1)
    verify_cosignature(first, trusted=WITNESS_KEY.public_key)
    assert first.checkpoint == head(log, 10).checkpoint
    assert witness.cosigned == head(log, 10)
    assert witness.observed is None

    for size in (10, 11, 37, 64, 100):
        assert witness.cosigned is not None
        old_size = witness.cosigned.checkpoint.size
        witness.observe(head(log, size), log.consistency_proof(old_size, size))
        cosignature = witness.cosign(WITNESS_KEY, T0 + size)
        assert (cosignature.checkpoint.size, cosignature.timestamp) == (size, T0 + size)
        verify_cosignature(cosignature)


def test_a_witness_rejects_a_rewritten_history_and_keeps_its_state(log: MerkleTree, forked_log: MerkleTree) -> None:
    witness = Witness(ORIGIN, LOG_KEY.public_key)
    witness.observe(head(log, 45), [])
    witness.cosign(WITNESS_KEY, T0)
    with pytest.raises(InvalidProof) as caught:
        witness.observe(head(forked_log, 60), forked_log.consistency_proof(45, 60))
    assert str(caught.value) == "consistency proof does not lead to the old root of size 45"
    assert witness.cosigned == head(log, 45)
    assert witness.observed is None


def test_a_witness_rejects_a_log_that_shrank(log: MerkleTree) -> None:
    witness = Witness(ORIGIN, LOG_KEY.public_key, cosigned=head(log, 45))
    with pytest.raises(StaleEnvelope) as caught:
        witness.observe(head(log, 44), [])
    assert str(caught.value) == f"checkpoint of {ORIGIN!r} has size 44, smaller than the cosigned 45"
    assert caught.value.http_status == 400


def test_a_witness_catches_equivocation_and_attaches_portable_proof(log: MerkleTree, forked_log: MerkleTree) -> None:
    witness = Witness(ORIGIN, LOG_KEY.public_key)
    witness.observe(head(log, 70), [])
    witness.cosign(WITNESS_KEY, T0)
    with pytest.raises(EquivocationDetected) as caught:
        witness.observe(head(forked_log, 70, t=T0 + 9), [])
    assert str(caught.value) == f"log {ORIGIN!r} signed two different roots for size 70"
    assert caught.value.http_status == 409
    proof = caught.value.proof
    assert proof is not None
    EquivocationProof.from_dict(roundtrip(proof.to_dict())).verify()


def test_a_witness_catches_equivocation_against_a_head_it_has_not_cosigned_yet(
    log: MerkleTree, forked_log: MerkleTree
) -> None:
    witness = Witness(ORIGIN, LOG_KEY.public_key, cosigned=head(log, 20))
    witness.observe(head(log, 80), log.consistency_proof(20, 80))
    with pytest.raises(EquivocationDetected) as caught:
        witness.observe(head(forked_log, 80), forked_log.consistency_proof(20, 80))
    assert caught.value.proof is not None
    assert {caught.value.proof.first, caught.value.proof.second} == {head(log, 80), head(forked_log, 80)}


def test_a_witness_accepts_only_its_peer_log_signed_by_the_pinned_key(log: MerkleTree) -> None:
    witness = Witness(ORIGIN, LOG_KEY.public_key)
    with pytest.raises(ForeignChannel) as foreign:
        witness.observe(sign_checkpoint(LOG_KEY, Checkpoint("LV-node", 3, log.root(3), T0)), [])
    assert str(foreign.value) == f"checkpoint is for log 'LV-node', this witness follows {ORIGIN!r}"
    with pytest.raises(KeyChanged):
        witness.observe(head(log, 3, key=INTRUDER_KEY), [])
    signed = head(log, 3)
    with pytest.raises(BadSignature):
        witness.observe(SignedCheckpoint(signed.checkpoint, signed.signer, bytes(64)), [])
    assert witness.observed is None


def test_a_witness_with_nothing_observed_cannot_cosign_but_can_recosign_its_last_head(log: MerkleTree) -> None:
    with pytest.raises(ChannelError) as caught:
        Witness(ORIGIN, LOG_KEY.public_key).cosign(WITNESS_KEY, T0)
    assert str(caught.value) == f"witness of {ORIGIN!r} has observed no checkpoint to cosign yet"
    restored = Witness(ORIGIN, LOG_KEY.public_key, cosigned=head(log, 33))
    again = restored.cosign(WITNESS_KEY, T0 + 3600)
    assert (again.checkpoint, again.timestamp) == (head(log, 33).checkpoint, T0 + 3600)


def test_a_witness_refuses_to_restore_a_checkpoint_with_a_bad_signature(log: MerkleTree) -> None:
    signed = head(log, 33)
    with pytest.raises(BadSignature):
        Witness(ORIGIN, LOG_KEY.public_key, cosigned=SignedCheckpoint(signed.checkpoint, signed.signer, bytes(64)))
