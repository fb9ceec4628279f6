"""Ed25519 keys and purpose-bound signatures (RFC 8032 via ``cryptography``).

Domain separation: what is signed is never the bare payload but

    b"riskline/v1/" + purpose + b"\\x00" + payload

so a signature made for one purpose (say a receipt) can never be replayed as another (say a checkpoint),
the habit datasette's ``sign(value, namespace=...)`` teaches. No purpose value contains a NUL byte, so the
prefix is unambiguous.

Key text is ``ed25519:<standard base64 of the 32 raw public-key bytes>``. A fingerprint is SSH *style*,
``SHA256:<unpadded base64 of SHA-256(raw 32 bytes)>``; it hashes the raw key, not the SSH wire blob, so it
differs from ``ssh-keygen -l`` for the same key.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from riskline.channel.canonical import decode_base64, encode_base64
from riskline.channel.errors import BadSignature, MalformedEnvelope, MalformedKey

KEY_PREFIX = "ed25519:"
RAW_KEY_SIZE = 32  # [bytes] an Ed25519 public key or seed
SIGNATURE_SIZE = 64  # [bytes] an Ed25519 signature
_DOMAIN = b"riskline/v1/"


class Purpose(StrEnum):
    """What a signature is for; part of the signed bytes, so signatures do not cross purposes."""

    ENVELOPE = "envelope"
    RECEIPT = "receipt"
    CHECKPOINT = "checkpoint"
    COSIGNATURE = "cosignature"
    BUNDLE = "bundle"
    ROW_SEAL = "row-seal"
    """Never a signature anyone sees: the node derives its row-seal key from it (``storage/seals.py``)."""
    KEY_ROTATION = "key-rotation"


def signed_bytes(purpose: Purpose, payload: bytes) -> bytes:
    """The exact bytes an Ed25519 signature covers for ``purpose`` and ``payload``."""
    return _DOMAIN + purpose.encode() + b"\x00" + payload


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """An Ed25519 public key; equal and hashed by its 32 raw bytes."""

    raw: bytes
    """The 32 raw public-key bytes (RFC 8032 §5.1.5 encoding)."""

    def __post_init__(self) -> None:
        if isinstance(self.raw, bytearray | memoryview):
            object.__setattr__(self, "raw", bytes(self.raw))
        if not isinstance(self.raw, bytes):
            raise MalformedKey(f"an Ed25519 public key is {RAW_KEY_SIZE} bytes, got {type(self.raw).__name__}")
        if len(self.raw) != RAW_KEY_SIZE:
            raise MalformedKey(f"an Ed25519 public key is {RAW_KEY_SIZE} bytes, got {len(self.raw)}")

    @classmethod
    def from_text(cls, text: str) -> VerifyKey:
        """Parse ``ed25519:<base64 of the 32 raw bytes>``; raises ``MalformedKey`` naming the problem."""
        if not isinstance(text, str):
            raise MalformedKey(f"a verify key is text like 'ed25519:<base64>', got {type(text).__name__}")
        if not text.startswith(KEY_PREFIX):
            raise MalformedKey(f"a verify key starts with 'ed25519:', got {_shorten(text)!r}")
        try:
            raw = decode_base64(text[len(KEY_PREFIX) :], "verify key")
        except MalformedEnvelope:
            raise MalformedKey(f"verify key is not valid base64 after 'ed25519:': {_shorten(text)!r}") from None
        if len(raw) != RAW_KEY_SIZE:
            raise MalformedKey(f"verify key {_shorten(text)!r} holds {len(raw)} bytes, an Ed25519 key has 32")
        return cls(raw)

    def to_text(self) -> str:
        return KEY_PREFIX + encode_base64(self.raw)

    @property
    def fingerprint(self) -> str:
        """SSH-style ``SHA256:<unpadded base64>`` of SHA-256 over the raw key bytes."""
        digest = hashlib.sha256(self.raw).digest()
        return "SHA256:" + encode_base64(digest).rstrip("=")

    def verify(self, purpose: Purpose, payload: bytes, signature: bytes) -> None:
        """Return quietly when ``signature`` is this key's over ``payload`` for ``purpose``, else raise BadSignature."""
        if len(signature) != SIGNATURE_SIZE:
            raise BadSignature(
                f"{purpose} signature by {self.fingerprint} is {len(signature)} bytes, Ed25519 signatures are 64"
            )
        try:
            _public_key(self.raw).verify(signature, signed_bytes(purpose, payload))
        except InvalidSignature:
            raise BadSignature(f"{purpose} signature does not verify with key {self.fingerprint}") from None

    def __str__(self) -> str:
        return self.to_text()


class SigningKey:
    """An Ed25519 private key; its ``repr`` shows only the public half."""

    __slots__ = ("_private", "_public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._public = VerifyKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """The key whose RFC 8032 private seed is these 32 bytes (deterministic: for tests and fixtures)."""
        if len(seed) != RAW_KEY_SIZE:
            raise MalformedKey(f"an Ed25519 seed is {RAW_KEY_SIZE} bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, data: bytes) -> SigningKey:
        """Load an unencrypted PKCS#8 PEM Ed25519 private key; raises ``MalformedKey`` otherwise."""
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            raise MalformedKey("private key PEM is encrypted; riskline expects an unencrypted PKCS#8 key") from None
        except UnsupportedAlgorithm:
            raise MalformedKey("private key PEM holds an unsupported key type, riskline needs Ed25519") from None
        except ValueError:
            raise MalformedKey("not a PEM private key (expected '-----BEGIN PRIVATE KEY-----', PKCS#8)") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise MalformedKey(f"private key PEM is not Ed25519 but {type(private).__name__}; riskline needs Ed25519")
        return cls(private)

    def to_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted: protect the file with permissions, not a passphrase."""
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_key(self) -> VerifyKey:
        return self._public

    def sign(self, purpose: Purpose, payload: bytes) -> bytes:
        """The 64-byte Ed25519 signature over ``signed_bytes(purpose, payload)``."""
        return self._private.sign(signed_bytes(purpose, payload))

    def __repr__(self) -> str:
        return f"SigningKey(public={self._public.to_text()!r}, secret=<hidden>)"


@functools.lru_cache(maxsize=256)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    """The ``cryptography`` key object of ``raw`` (kept: loading it costs a third of a verification)."""
    return Ed25519PublicKey.from_public_bytes(raw)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
