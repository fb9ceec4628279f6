"""Ed25519 keys with purpose-bound signatures: round trips, domain separation, key text and fingerprints."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from riskline.channel.errors import BadSignature, ChannelError, MalformedKey
from riskline.channel.signing import Purpose, SigningKey, VerifyKey, signed_bytes

RFC8032_TEST1_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_TEST1_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


@pytest.fixture
def fixed_key() -> SigningKey:
    """The private key of RFC 8032 §7.1 TEST 1, built the way ``cryptography`` builds any seed."""
    return SigningKey(Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED))


def test_a_key_from_the_rfc_8032_seed_has_the_rfc_public_key(fixed_key: SigningKey) -> None:
    assert fixed_key.public_key.raw == RFC8032_TEST1_PUBLIC
    assert SigningKey.from_seed(RFC8032_TEST1_SEED).public_key == fixed_key.public_key


def test_key_text_and_fingerprint_of_a_fixed_key_are_exact(fixed_key: SigningKey) -> None:
    public = fixed_key.public_key
    assert public.to_text() == "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    assert public.fingerprint == "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk"
    assert str(public) == public.to_text()


def test_the_signature_covers_the_domain_prefix_the_purpose_a_nul_and_the_payload(fixed_key: SigningKey) -> None:
    assert signed_bytes(Purpose.CHECKPOINT, b"abc") == b"riskline/v1/checkpoint\x00abc"
    signature = fixed_key.sign(Purpose.CHECKPOINT, b"abc")
    expected = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED).sign(b"riskline/v1/checkpoint\x00abc")
    assert signature == expected
    assert signature.hex() == (
        "be53fd0644040a22e4471214dfc274c45a66e7f85ac8b96165f19fa8cb39a010"
        "dec2e69d03e42cfffb6462ac7bc58e14f3012cd9dde08c03700f8c2d56b5420c"
    )


@given(payload=st.binary(max_size=256), purpose=st.sampled_from(Purpose))
def test_a_signature_verifies_for_its_own_purpose_and_payload(payload: bytes, purpose: Purpose) -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    key.public_key.verify(purpose, payload, key.sign(purpose, payload))


@pytest.mark.parametrize("signed_for", list(Purpose))
def test_a_signature_never_verifies_for_another_purpose(fixed_key: SigningKey, signed_for: Purpose) -> None:
    signature = fixed_key.sign(signed_for, b"payload")
    for other in Purpose:
        if other is signed_for:
            continue
        with pytest.raises(BadSignature) as caught:
            fixed_key.public_key.verify(other, b"payload", signature)
        assert str(caught.value) == (
            f"{other} signature does not verify with key SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk"
        )


def test_a_signature_fails_for_another_payload_another_key_or_a_flipped_bit(fixed_key: SigningKey) -> None:
    signature = fixed_key.sign(Purpose.RECEIPT, b"payload")
    with pytest.raises(BadSignature):
        fixed_key.public_key.verify(Purpose.RECEIPT, b"payloaD", signature)
    with pytest.raises(BadSignature):
        SigningKey.from_seed(bytes(32)).public_key.verify(Purpose.RECEIPT, b"payload", signature)
    for bit in range(len(signature) * 8):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BadSignature):
            fixed_key.public_key.verify(Purpose.RECEIPT, b"payload", bytes(flipped))


def test_a_signature_of_the_wrong_length_is_a_bad_signature_with_status_401(fixed_key: SigningKey) -> None:
    with pytest.raises(BadSignature) as caught:
        fixed_key.public_key.verify(Purpose.ENVELOPE, b"x", b"\x00" * 63)
    assert str(caught.value) == (
        "envelope signature by SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk is 63 bytes, "
        "Ed25519 signatures are 64"
    )
    assert caught.value.http_status == 401


def test_pem_round_trips_as_unencrypted_pkcs8(fixed_key: SigningKey) -> None:
    pem = fixed_key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    again = SigningKey.from_pem(pem)
    assert again.public_key == fixed_key.public_key
    assert again.sign(Purpose.BUNDLE, b"x") == fixed_key.sign(Purpose.BUNDLE, b"x")


def test_generated_keys_differ_and_sign_verifiably() -> None:
    one, two = SigningKey.generate(), SigningKey.generate()
    assert one.public_key != two.public_key
    one.public_key.verify(Purpose.ENVELOPE, b"m", one.sign(Purpose.ENVELOPE, b"m"))


def test_from_pem_names_what_is_wrong_with_the_file(fixed_key: SigningKey) -> None:
    encrypted = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    ecdsa = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cases = {
        encrypted: "private key PEM is encrypted; riskline expects an unencrypted PKCS#8 key",
        b"not a key": "not a PEM private key (expected '-----BEGIN PRIVATE KEY-----', PKCS#8)",
    }
    for data, message in cases.items():
        with pytest.raises(MalformedKey) as caught:
            SigningKey.from_pem(data)
        assert str(caught.value) == message
    with pytest.raises(MalformedKey, match=r"^private key PEM is not Ed25519 but \w+; riskline needs Ed25519$"):
        SigningKey.from_pem(ecdsa)


def test_repr_of_a_signing_key_hides_the_secret(fixed_key: SigningKey) -> None:
    shown = repr(fixed_key)
    assert shown == "SigningKey(public='ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=', secret=<hidden>)"
    assert RFC8032_TEST1_SEED.hex() not in shown
    pem_body = b"".join(fixed_key.to_pem().splitlines()[1:-1]).decode()
    assert pem_body not in shown
    assert str(fixed_key) == shown


def test_verify_keys_compare_and_hash_by_their_raw_bytes(fixed_key: SigningKey) -> None:
    parsed = VerifyKey.from_text("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    assert parsed == fixed_key.public_key
    assert parsed == VerifyKey(RFC8032_TEST1_PUBLIC)
    assert len({parsed, fixed_key.public_key, VerifyKey(RFC8032_TEST1_PUBLIC)}) == 1
    assert parsed != SigningKey.from_seed(bytes(32)).public_key


@given(st.binary(min_size=32, max_size=32))
def test_key_text_round_trips(raw: bytes) -> None:
    key = VerifyKey(raw)
    assert VerifyKey.from_text(key.to_text()) == key
    assert VerifyKey.from_text(key.to_text()).to_text() == key.to_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a verify key starts with 'ed25519:', got ''"),
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0",
            "a verify key starts with 'ed25519:', got 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0'",
        ),
        (
            "ED25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "a verify key starts with 'ed25519:', got 'ED25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='",
        ),
        ("ed25519:11qYAYKx!rfVS", "verify key is not valid base64 after 'ed25519:': 'ed25519:11qYAYKx!rfVS'"),
        (
            "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "verify key is not valid base64 after 'ed25519:': 'ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo'",
        ),
        ("ed25519:AAAA", "verify key 'ed25519:AAAA' holds 3 bytes, an Ed25519 key has 32"),
        (
            "ed25519:" + "A" * 80,
            "verify key 'ed25519:" + "A" * 51 + "…' holds 60 bytes, an Ed25519 key has 32",
        ),
    ],
)
def test_from_text_names_the_problem_in_one_line(text: str, message: str) -> None:
    with pytest.raises(MalformedKey) as caught:
        VerifyKey.from_text(text)
    assert str(caught.value) == message
    assert "\n" not in message


def test_a_malformed_key_is_a_channel_error_with_status_422() -> None:
    with pytest.raises(ChannelError) as caught:
        VerifyKey(b"\x01" * 31)
    assert str(caught.value) == "an Ed25519 public key is 32 bytes, got 31"
    assert caught.value.http_status == 422


def test_a_seed_must_be_32_bytes() -> None:
    with pytest.raises(MalformedKey, match=r"^an Ed25519 seed is 32 bytes, got 16$"):
        SigningKey.from_seed(bytes(16))


def test_a_verify_key_from_a_bytearray_holds_bytes_and_equals_the_same_key() -> None:
    key = VerifyKey(bytearray(RFC8032_TEST1_PUBLIC))  # type: ignore[arg-type]
    assert type(key.raw) is bytes
    assert key == VerifyKey(RFC8032_TEST1_PUBLIC)
    with pytest.raises(MalformedKey, match=r"^an Ed25519 public key is 32 bytes, got str$"):
        VerifyKey("d75a98")  # type: ignore[arg-type]
