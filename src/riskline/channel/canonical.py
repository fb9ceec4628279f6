"""Canonical bytes for anything a node signs or hashes: RFC 8785 JSON Canonicalization Scheme (JCS).

Two nodes must produce the very same bytes for the same value, or signatures and Merkle leaves would not
match. JCS fixes key order (UTF-16 code units), number formatting (ECMAScript shortest round-trip, so
``4.50`` is ``4.5`` and ``1E30`` is ``1e+30``), string escaping and whitespace. The work is done by the
``rfc8785`` package; this module only maps its errors onto the channel's tree: a value that JCS cannot
represent (NaN, ±inf, an integer beyond ±(2**53 - 1), a non-string key, a lone surrogate, an unsupported
type) raises ``MalformedEnvelope`` with a one-line reason.

Bytes inside JSON travel as lower-case hex (hashes) or standard padded base64 (signatures); the strict
decoders here accept only the canonical spelling, so every dict form round-trips exactly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import rfc8785

from riskline.channel.errors import MalformedEnvelope


def canonical_json(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON-like value (dict, list, tuple, str, int, float, bool, None)."""
    candidate: Any = value
    try:
        return rfc8785.dumps(candidate)
    except rfc8785.CanonicalizationError as error:
        raise MalformedEnvelope(f"cannot canonicalise: {error}") from None


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data`` (64 characters)."""
    return hashlib.sha256(data).hexdigest()


def encode_base64(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4), the form every riskline dict uses for signatures."""
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: object, what: str) -> bytes:
    """Strict inverse of ``encode_base64``: only the canonical encoding is accepted, so dict forms round-trip.

    Raises ``MalformedEnvelope`` naming ``what`` otherwise.
    """
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{what} must be base64 text, got {type(text).__name__}")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEnvelope(f"{what} is not valid base64") from None
    if encode_base64(data) != text:
        raise MalformedEnvelope(f"{what} is not canonical base64")
    return data


def decode_hex(text: object, what: str, size: int | None = None) -> bytes:
    """Lower-case hex to bytes (``size`` bytes when given); raises ``MalformedEnvelope`` naming ``what`` otherwise."""
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{what} must be hex text, got {type(text).__name__}")
    if text != text.lower():
        raise MalformedEnvelope(f"{what} must be lower-case hex")
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise MalformedEnvelope(f"{what} is not valid hex") from None
    if data.hex() != text:
        raise MalformedEnvelope(f"{what} is not canonical hex")
    if size is not None and len(data) != size:
        raise MalformedEnvelope(f"{what} must be {size} bytes, got {len(data)}")
    return data
