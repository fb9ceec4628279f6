"""Keys over time: a node's identity key rotated, announced on the channel and signed by the old key; revoked
when compromised; and the history that says which key signed what, when.

A pinned key cannot stay forever: keys are rotated on schedule and revoked when lost. Either must be provable
to the other parties with what they already trust, so:

* a ``KeyRotation`` names the node, the old and the new key and the moment it takes effect; it is signed by
  the **old** key (the peers trust it) and countersigned by the **new** one (proof of possession: nobody can
  rotate a node to a key they do not hold); purpose ``key-rotation``, so it cannot be replayed as anything
  else (``signing.Purpose``);
* a ``KeyRevocation`` says a key of the node is compromised since a moment; it is signed by a later key of
  the same node (the one it rotated to): a thief holding only the old key cannot revoke the new one, nor
  "un-revoke" their own;
* a ``KeyHistory`` is the pinned key followed by the statements, checked in order; it answers which key was
  the node's at a moment, and whether an envelope signed by a key at a moment is acceptable.

The compromised-key drill (``tests/channel/test_key_history.py``): after a revocation "compromised since T",
envelopes signed with that key and dated at or after T are refused (``KeyRevoked``), while the history signed
with it before T still verifies. Dates are the signer's (``created``) — a thief could backdate, which is why
the receiving node also refuses what arrives after the compromise whatever its date (``check(received=…)``),
and why revocation dates should be taken conservatively (the last moment the key is known to have been safe).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskline.channel.canonical import canonical_json, decode_base64, encode_base64
from riskline.channel.errors import KeyChanged, MalformedEnvelope, UnknownKey
from riskline.channel.signing import Purpose, SigningKey, VerifyKey


class KeyRevoked(UnknownKey):
    """Signed by a key its node revoked for that moment (whose fault: whoever holds the compromised key)."""


def _seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedEnvelope(f"{what} must be a finite number of seconds, got {value!r}")
    return float(value)


def _fields(data: object, names: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedEnvelope(f"{what} must be a JSON object, got {type(data).__name__}")
    missing = [name for name in names if name not in data]
    if missing:
        raise MalformedEnvelope(f"{what} lacks {', '.join(missing)}")
    extra = sorted(str(name) for name in data if name not in names)
    if extra:
        raise MalformedEnvelope(f"{what} has unexpected fields: {', '.join(extra)}")
    return data


def _key(value: object, what: str) -> VerifyKey:
    if not isinstance(value, str):
        raise MalformedEnvelope(f"{what} must be key text like 'ed25519:<base64>'")
    return VerifyKey.from_text(value)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedEnvelope(f"{what} must be non-empty text")
    return value


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """``node`` signs with ``new_key`` instead of ``old_key`` from ``effective`` on."""

    node: str
    old_key: VerifyKey
    new_key: VerifyKey
    effective: float  # [s] POSIX, the node's clock
    old_signature: bytes = b""
    new_signature: bytes = b""

    _FIELDS = ("type", "node", "old_key", "new_key", "effective", "old_signature", "new_signature")

    def payload(self) -> bytes:
        return canonical_json(
            {
                "type": "key_rotation",
                "node": self.node,
                "old_key": self.old_key.to_text(),
                "new_key": self.new_key.to_text(),
                "effective": self.effective,
            }
        )

    def verify(self) -> None:
        """Both signatures hold: the old key announces, the new key proves it is held."""
        if self.old_key == self.new_key:
            raise MalformedEnvelope(f"a key rotation of {self.node} must change the key")
        self.old_key.verify(Purpose.KEY_ROTATION, self.payload(), self.old_signature)
        self.new_key.verify(Purpose.KEY_ROTATION, self.payload(), self.new_signature)

    def to_dict(self) -> dict[str, Any]:
        return {
            **_json(self.payload()),
            "old_signature": encode_base64(self.old_signature),
            "new_signature": encode_base64(self.new_signature),
        }

    @classmethod
    def from_dict(cls, data: object) -> KeyRotation:
        fields = _fields(data, cls._FIELDS, "key rotation")
        if fields["type"] != "key_rotation":
            raise MalformedEnvelope(f"not a key rotation: type {fields['type']!r}")
        return cls(
            node=_text(fields["node"], "key rotation node"),
            old_key=_key(fields["old_key"], "key rotation old_key"),
            new_key=_key(fields["new_key"], "key rotation new_key"),
            effective=_seconds(fields["effective"], "key rotation effective"),
            old_signature=decode_base64(fields["old_signature"], "key rotation old_signature"),
            new_signature=decode_base64(fields["new_signature"], "key rotation new_signature"),
        )


def rotate(node: str, old: SigningKey, new: SigningKey, effective: float) -> KeyRotation:
    """The rotation statement of ``node`` from ``old`` to ``new``, signed by both."""
    unsigned = KeyRotation(node, old.public_key, new.public_key, _seconds(effective, "effective"))
    payload = unsigned.payload()
    return KeyRotation(
        node,
        old.public_key,
        new.public_key,
        unsigned.effective,
        old.sign(Purpose.KEY_ROTATION, payload),
        new.sign(Purpose.KEY_ROTATION, payload),
    )


@dataclass(frozen=True, slots=True)
class KeyRevocation:
    """``revoked`` (a key ``node`` held) is compromised since ``since``; signed by ``signer``, a later key."""

    node: str
    revoked: VerifyKey
    since: float  # [s] POSIX: the last moment the key is known to have been safe
    reason: str
    signer: VerifyKey
    signature: bytes = b""

    _FIELDS = ("type", "node", "revoked", "since", "reason", "signer", "signature")

    def payload(self) -> bytes:
        return canonical_json(
            {
                "type": "key_revocation",
                "node": self.node,
                "revoked": self.revoked.to_text(),
                "since": self.since,
                "reason": self.reason,
                "signer": self.signer.to_text(),
            }
        )

    def verify(self) -> None:
        if self.signer == self.revoked:
            raise MalformedEnvelope("a key cannot revoke itself: the holder of a stolen key could forge that too")
        self.signer.verify(Purpose.KEY_ROTATION, self.payload(), self.signature)

    def to_dict(self) -> dict[str, Any]:
        return {**_json(self.payload()), "signature": encode_base64(self.signature)}

    @classmethod
    def from_dict(cls, data: object) -> KeyRevocation:
        fields = _fields(data, cls._FIELDS, "key revocation")
        if fields["type"] != "key_revocation":
            raise MalformedEnvelope(f"not a key revocation: type {fields['type']!r}")
        return cls(
            node=_text(fields["node"], "key revocation node"),
            revoked=_key(fields["revoked"], "key revocation revoked"),
            since=_seconds(fields["since"], "key revocation since"),
            reason=_text(fields["reason"], "key revocation reason"),
            signer=_key(fields["signer"], "key revocation signer"),
            signature=decode_base64(fields["signature"], "key revocation signature"),
        )


def revoke(node: str, revoked: VerifyKey, since: float, reason: str, signer: SigningKey) -> KeyRevocation:
    unsigned = KeyRevocation(node, revoked, _seconds(since, "since"), reason, signer.public_key)
    return KeyRevocation(
        node, revoked, unsigned.since, reason, signer.public_key, signer.sign(Purpose.KEY_ROTATION, unsigned.payload())
    )


def _json(payload: bytes) -> dict[str, Any]:
    value = json.loads(payload)
    assert isinstance(value, dict)
    return value


@dataclass(frozen=True, slots=True)
class KeyPeriod:
    """``key`` was the node's from ``start`` (None: since it was pinned) until ``end`` (None: still is);
    ``revoked_since``: compromised from then on."""

    key: VerifyKey
    start: float | None
    end: float | None
    revoked_since: float | None = None


class KeyHistory:
    """The keys of one node over time, from the key pinned for it and its statements, checked in order."""

    __slots__ = ("_periods", "node")

    def __init__(self, node: str, pinned: VerifyKey) -> None:
        self.node = node
        self._periods: list[KeyPeriod] = [KeyPeriod(pinned, None, None)]

    @classmethod
    def of(cls, node: str, pinned: VerifyKey, statements: Sequence[KeyRotation | KeyRevocation]) -> KeyHistory:
        history = cls(node, pinned)
        for statement in statements:
            history.apply(statement)
        return history

    @property
    def current(self) -> VerifyKey:
        return self._periods[-1].key

    @property
    def periods(self) -> tuple[KeyPeriod, ...]:
        return tuple(self._periods)

    def keys(self) -> frozenset[VerifyKey]:
        return frozenset(period.key for period in self._periods)

    def apply(self, statement: KeyRotation | KeyRevocation) -> None:
        """Take a verified statement into the history; raises (and changes nothing) when it does not hold."""
        if statement.node != self.node:
            raise MalformedEnvelope(f"a key statement of {statement.node!r} given for {self.node!r}")
        statement.verify()
        if isinstance(statement, KeyRotation):
            last = self._periods[-1]
            if statement.old_key != last.key:
                raise KeyChanged(
                    f"{self.node}'s rotation is signed by {statement.old_key.fingerprint}, not its current key"
                    f" {last.key.fingerprint}"
                )
            if last.revoked_since is not None:
                raise KeyRevoked(f"{self.node}'s key {last.key.fingerprint} is revoked: it cannot rotate")
            if last.start is not None and statement.effective < last.start:
                raise MalformedEnvelope(f"{self.node}'s rotation takes effect before the key it replaces")
            if statement.new_key in self.keys():
                raise MalformedEnvelope(f"{self.node} rotates back to a key it held before")
            self._periods[-1] = KeyPeriod(last.key, last.start, statement.effective, last.revoked_since)
            self._periods.append(KeyPeriod(statement.new_key, statement.effective, None))
            return
        positions = {period.key: number for number, period in enumerate(self._periods)}
        revoked, signer = positions.get(statement.revoked), positions.get(statement.signer)
        if revoked is None:
            raise UnknownKey(f"{self.node} revokes {statement.revoked.fingerprint}, a key it never held")
        if signer is None or signer <= revoked:
            raise KeyChanged(f"{self.node}'s revocation must be signed by a key it rotated to after the revoked one")
        if self._periods[signer].revoked_since is not None:
            raise KeyRevoked(f"{self.node}'s revocation is signed by a key revoked itself")
        period = self._periods[revoked]
        since = statement.since if period.revoked_since is None else min(period.revoked_since, statement.since)
        self._periods[revoked] = KeyPeriod(period.key, period.start, period.end, since)

    def key_at(self, moment: float) -> VerifyKey:
        """The node's key at ``moment`` (the pinned one before the first rotation)."""
        for period in reversed(self._periods):
            if period.start is None or period.start <= moment:
                return period.key
        return self._periods[0].key

    def check(self, key: VerifyKey, signed_at: float, *, received: float | None = None) -> None:
        """Whether something ``key`` signed at ``signed_at`` (the signer's clock) is acceptable: the key was
        the node's then and was not compromised by then; with ``received`` (our clock), a revoked key's
        signatures arriving at or after the compromise are refused whatever date they carry (a thief backdates)."""
        for period in self._periods:
            if period.key != key:
                continue
            if period.revoked_since is not None and (
                signed_at >= period.revoked_since or (received is not None and received >= period.revoked_since)
            ):
                raise KeyRevoked(
                    f"signed by {self.node}'s key {key.fingerprint}, revoked as compromised since"
                    f" {period.revoked_since:.0f}"
                )
            if period.start is not None and signed_at < period.start:
                raise KeyChanged(f"signed by {self.node}'s key {key.fingerprint} before it was the node's key")
            if period.end is not None and signed_at >= period.end:
                raise KeyChanged(
                    f"signed by {self.node}'s key {key.fingerprint} after it was rotated out (at {period.end:.0f})"
                )
            return
        raise UnknownKey(f"signed by {key.fingerprint}, never a key of {self.node}")
