"""Keys over time: rotation signed by the old key and proved by the new, revocation by a later key, and the
compromised-key drill on real signed envelopes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.channel.envelope import Author, LogHead, Sender, SignedEnvelope, new_envelope, sign_envelope
from riskline.channel.errors import BadSignature, KeyChanged, MalformedEnvelope, UnknownKey
from riskline.channel.key_history import KeyHistory, KeyRevocation, KeyRevoked, KeyRotation, revoke, rotate
from riskline.channel.merkle import EMPTY_ROOT
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import SigningKey
from riskline.testing.nodes import bilateral_channel

T0 = 1_790_000_000.0  # [s]
OLD = SigningKey.from_seed(b"\x01" * 32)
NEW = SigningKey.from_seed(b"\x02" * 32)
THIEF_TARGET = SigningKey.from_seed(b"\x03" * 32)


def envelope(key: SigningKey, created: float, seq: int) -> SignedEnvelope:
    policy = ChannelPolicy.from_config(bilateral_channel())
    unsigned = new_envelope(
        channel=policy,
        msg_type=MessageType.FREE_TEXT,
        body={"text": f"message {seq}"},
        sender=Sender("ru-nmdc", "RU", key.public_key),
        author=Author("Lt Cdr A. Ivanov", "duty_officer"),
        level=ContactLevel.DUTY_OFFICER,
        language="en",
        seq=seq,
        created=created,
        sender_checkpoint=LogHead(0, EMPTY_ROOT),
        peer_checkpoint=None,
    )
    return sign_envelope(unsigned, key)


def accepted(history: KeyHistory, signed: SignedEnvelope, *, received: float | None = None) -> bool:
    """What a verifier does: the signature with the key it names, then whether that key was valid then."""
    key = signed.envelope.sender.key
    signed.verify(key)
    try:
        history.check(key, signed.envelope.created, received=received)
    except (KeyRevoked, KeyChanged, UnknownKey):
        return False
    return True


def test_a_rotation_is_signed_by_the_old_key_and_proved_by_the_new_and_survives_json() -> None:
    statement = rotate("ru-nmdc", OLD, NEW, T0 + 100)
    statement.verify()
    again = KeyRotation.from_dict(statement.to_dict())
    assert again == statement
    history = KeyHistory.of("ru-nmdc", OLD.public_key, [again])
    assert (history.current, history.key_at(T0), history.key_at(T0 + 100)) == (
        NEW.public_key,
        OLD.public_key,
        NEW.public_key,
    )


def test_a_rotation_without_the_new_keys_proof_or_by_another_key_is_refused() -> None:
    statement = rotate("ru-nmdc", OLD, NEW, T0 + 100)
    unproved = KeyRotation(
        statement.node, statement.old_key, THIEF_TARGET.public_key, statement.effective, statement.old_signature, b""
    )
    with pytest.raises(BadSignature):
        unproved.verify()
    by_stranger = rotate("ru-nmdc", THIEF_TARGET, NEW, T0 + 100)
    with pytest.raises(KeyChanged, match="not its current key"):
        KeyHistory.of("ru-nmdc", OLD.public_key, [by_stranger])


def test_the_compromised_key_drill() -> None:
    """RU rotates OLD → NEW at T0+100, then learns OLD was stolen at T0+50 and revokes it, signed by NEW."""
    before = envelope(OLD, T0 + 10, 1)
    stolen_window = envelope(OLD, T0 + 60, 2)
    after_rotation = envelope(NEW, T0 + 150, 3)
    forged_late = envelope(OLD, T0 + 200, 4)  # the thief signs with the stolen key
    history = KeyHistory.of("ru-nmdc", OLD.public_key, [rotate("ru-nmdc", OLD, NEW, T0 + 100)])
    assert [accepted(history, e) for e in (before, stolen_window, after_rotation, forged_late)] == [
        True,
        True,
        True,
        False,  # rotated out already
    ]
    revocation = revoke("ru-nmdc", OLD.public_key, T0 + 50, "key file copied from the duty laptop", NEW)
    history.apply(KeyRevocation.from_dict(revocation.to_dict()))
    # History before the compromise still verifies; everything signed with the key since is refused.
    assert [accepted(history, e) for e in (before, stolen_window, after_rotation, forged_late)] == [
        True,
        False,
        True,
        False,
    ]
    # A backdated forgery that arrives after the compromise is refused by the receiver's clock.
    backdated = envelope(OLD, T0 + 10, 5)
    assert accepted(history, backdated) is True  # in an offline audit the date is all there is
    assert accepted(history, backdated, received=T0 + 300) is False
    with pytest.raises(KeyRevoked, match="revoked as compromised since 1790000050"):
        history.check(OLD.public_key, T0 + 60)


def test_a_revocation_cannot_be_signed_by_the_revoked_key_or_an_earlier_one() -> None:
    history = KeyHistory.of("ru-nmdc", OLD.public_key, [rotate("ru-nmdc", OLD, NEW, T0 + 100)])
    with pytest.raises(MalformedEnvelope, match="cannot revoke itself"):
        history.apply(revoke("ru-nmdc", OLD.public_key, T0, "self", OLD))
    with pytest.raises(KeyChanged, match="rotated to after the revoked one"):
        history.apply(revoke("ru-nmdc", NEW.public_key, T0, "the thief revokes the new key", OLD))
    with pytest.raises(UnknownKey, match="never held"):
        history.apply(revoke("ru-nmdc", THIEF_TARGET.public_key, T0, "unknown", NEW))
    assert history.current == NEW.public_key
    assert all(period.revoked_since is None for period in history.periods)


def test_a_revoked_key_cannot_rotate_to_a_key_of_the_thiefs_choosing() -> None:
    middle = SigningKey.from_seed(b"\x04" * 32)
    history = KeyHistory.of("ru-nmdc", OLD.public_key, [rotate("ru-nmdc", OLD, middle, T0 + 100)])
    history.apply(rotate("ru-nmdc", middle, NEW, T0 + 200))
    history.apply(revoke("ru-nmdc", middle.public_key, T0 + 150, "stolen", NEW))
    assert history.periods[1].revoked_since == T0 + 150
    with pytest.raises(KeyChanged):
        history.apply(rotate("ru-nmdc", middle, THIEF_TARGET, T0 + 300))


@given(effective=st.floats(min_value=T0, max_value=T0 + 1e6), offset=st.floats(min_value=0, max_value=1e6))
def test_exactly_one_key_is_valid_at_any_moment(effective: float, offset: float) -> None:
    history = KeyHistory.of("ru-nmdc", OLD.public_key, [rotate("ru-nmdc", OLD, NEW, effective)])
    moment = T0 + offset
    valid = []
    for key in (OLD.public_key, NEW.public_key):
        try:
            history.check(key, moment)
            valid.append(key)
        except (KeyChanged, KeyRevoked):
            pass
    assert valid == [history.key_at(moment)]
