"""Bodies of the ``key_rotation`` and ``key_revocation`` messages: a ``KeyRotation`` or ``KeyRevocation``
(``key_history.py``) as JSON, announced on every channel a node is a member of (docs/audit.md, "Keys over time").

The schema is checked like every body (``messages.validate_body``); the signatures inside are checked by the
receiver against the sender's key history before anything is stored (``protocol.check_batch``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskline.channel.key_history import KeyRevocation, KeyRotation

_KeyText = Annotated[str, Field(min_length=10, max_length=200, pattern=r"^ed25519:")]
_Signature = Annotated[str, Field(min_length=1, max_length=200)]
_Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class KeyRotationBody(_Body):
    type: Literal["key_rotation"]
    node: _Name
    old_key: _KeyText
    new_key: _KeyText
    effective: float  # [s] POSIX, the node's clock
    old_signature: _Signature
    new_signature: _Signature


class KeyRevocationBody(_Body):
    type: Literal["key_revocation"]
    node: _Name
    revoked: _KeyText
    since: float  # [s] POSIX
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    signer: _KeyText
    signature: _Signature


KEY_BODIES: dict[str, type[BaseModel]] = {"key_rotation": KeyRotationBody, "key_revocation": KeyRevocationBody}
"""Registered in ``messages.BODY_MODELS``."""

KEY_MESSAGE_TYPES = frozenset(KEY_BODIES)


def statement_of(msg_type: str, body: object) -> KeyRotation | KeyRevocation:
    """The statement a key message carries (``MalformedEnvelope`` when it is not one)."""
    if msg_type == "key_rotation":
        return KeyRotation.from_dict(body)
    return KeyRevocation.from_dict(body)
