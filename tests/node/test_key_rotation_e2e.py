"""Keys over time between two real node processes: RU rotates its key and EE follows; the compromised-key drill
end to end; a rotation not signed by the current key is refused and nothing is stored (docs/audit.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskline.channel.key_history import KeyRotation, rotate
from riskline.channel.messages import MessageType
from riskline.channel.signing import SigningKey
from riskline.cli.main import app
from riskline.node import keys
from riskline.node.audit import verify_node
from riskline.node.key_rotation import own_history, peer_histories, revoke_key, rotate_key
from riskline.node.layout import NodePaths
from riskline.node.messaging import Outgoing, Sent, send
from riskline.storage import channel_store as store
from riskline.testing.nodes import NodeProcess, TwoNodeHarness, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[TwoNodeHarness]:
    with TwoNodeHarness(tmp_path) as running:
        yield running


def outbox(process: NodeProcess, envelope_id: str) -> store.OutboxRow:
    with process.open() as node, node.database.read() as connection:
        rows = store.outbox_rows(connection, envelope_id)
    assert len(rows) == 1
    return rows[0]


def delivered(process: NodeProcess, envelope_id: str) -> bool:
    return outbox(process, envelope_id).state == "delivered"


def refused(process: NodeProcess, envelope_id: str) -> bool:
    return outbox(process, envelope_id).last_error is not None


def stored_at(process: NodeProcess, envelope_id: str) -> bool:
    with process.open() as node, node.database.read() as connection:
        return store.message(connection, envelope_id) is not None


def free_text(process: NodeProcess, text: str) -> Sent:
    with process.open() as node:
        sent = send(node, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": text}))
    return sent


def riskline(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_ru_rotates_and_ee_accepts_its_new_key_and_still_verifies_the_old(harness: TwoNodeHarness) -> None:
    ru_node, ee_node = harness["RU"], harness["EE"]
    before = free_text(ru_node, "signed with the first key")
    wait_until(lambda: delivered(ru_node, before.envelope.id), what="the first message to be delivered")
    with ru_node.open() as ru:
        first_key = ru.key
        announced = rotate_key(ru)
        assert ru.key == announced.statement.new_key != first_key  # type: ignore[union-attr]
    (announcement,) = announced.messages
    assert announcement.envelope.envelope.sender.key == first_key  # announced with the key the peer trusts
    wait_until(lambda: delivered(ru_node, announcement.envelope.id), what="the rotation to be delivered")
    after = free_text(ru_node, "signed with the new key")
    assert after.envelope.envelope.sender.key == announced.statement.new_key  # type: ignore[union-attr]
    wait_until(lambda: delivered(ru_node, after.envelope.id), what="the new-key message to be delivered")
    assert stored_at(ee_node, before.envelope.id)
    assert stored_at(ee_node, after.envelope.id)
    with ee_node.open() as ee, ee.database.read() as connection:
        history = peer_histories(connection, store.list_peers(connection))["ru-nmdc"]
        assert [p.key for p in history.periods] == [first_key, announced.statement.new_key]  # type: ignore[union-attr]
        assert history.periods[0].end == announced.statement.effective  # type: ignore[union-attr]
        result = verify_node(ee)
        assert result.ok, result.problems
    with ru_node.open() as ru:
        assert verify_node(ru).ok  # our own checkpoints under both keys
    listing = riskline("key", "list", "--node", str(ee_node.root), "--peer", "ru-nmdc")
    assert listing.exit_code == 0, listing.output
    assert first_key.fingerprint in listing.stdout
    assert "rotated out" in listing.stdout
    assert "current" in listing.stdout


def test_the_compromised_key_drill_end_to_end(harness: TwoNodeHarness) -> None:
    ru_node, ee_node = harness["RU"], harness["EE"]
    early = free_text(ru_node, "before the compromise")
    wait_until(lambda: delivered(ru_node, early.envelope.id), what="the early message to be delivered")
    with ru_node.open() as ru:
        stolen = ru.key
        rotate_key(ru)
        since = ru.clock()  # the last moment the first key is known to have been safe
        revocation = revoke_key(ru, stolen.fingerprint, since, "key file copied from the duty laptop")
    (announcement,) = revocation.messages
    wait_until(lambda: delivered(ru_node, announcement.envelope.id), what="the revocation to be delivered")
    # The thief signs with the stolen key: the node's own directory pointed back at its first key.
    paths = NodePaths(ru_node.root)
    keys.point_current(paths, paths.identity)
    forged = free_text(ru_node, "signed with the stolen key after its revocation")
    assert forged.envelope.envelope.sender.key == stolen
    wait_until(lambda: refused(ru_node, forged.envelope.id), what="the forgery to be refused")
    error = outbox(ru_node, forged.envelope.id).last_error or ""
    assert error.startswith("403 KeyRevoked: "), error
    assert f"signed by ru-nmdc's key {stolen.fingerprint}, revoked as compromised since" in error
    assert not stored_at(ee_node, forged.envelope.id)
    assert stored_at(ee_node, early.envelope.id)
    with ee_node.open() as ee:
        assert verify_node(ee).ok  # the history signed before the compromise still verifies
    listing = riskline("key", "list", "--node", str(ee_node.root), "--peer", "ru-nmdc", "--json")
    assert listing.exit_code == 0, listing.output
    assert '"revoked_since": null' in listing.stdout
    assert '"revoked_since": "20' in listing.stdout


def test_a_rotation_not_signed_by_the_current_key_is_refused_and_nothing_stored(harness: TwoNodeHarness) -> None:
    ru_node, ee_node = harness["RU"], harness["EE"]
    stranger, target = SigningKey.from_seed(b"\x05" * 32), SigningKey.from_seed(b"\x06" * 32)
    with ru_node.open() as ru:
        bad: KeyRotation = rotate("ru-nmdc", stranger, target, ru.clock())
        sent = send(ru, Outgoing(type=MessageType.KEY_ROTATION, channel="RU-EE", body=bad.to_dict()))
    wait_until(lambda: refused(ru_node, sent.envelope.id), what="the rotation to be refused")
    error = outbox(ru_node, sent.envelope.id).last_error or ""
    assert error.startswith("403 KeyChanged: "), error
    assert f"ru-nmdc's rotation is signed by {stranger.public_key.fingerprint}, not its current key" in error
    assert not stored_at(ee_node, sent.envelope.id)
    with ee_node.open() as ee, ee.database.read() as connection:
        history = peer_histories(connection, store.list_peers(connection))["ru-nmdc"]
        assert len(history.periods) == 1
    with ru_node.open() as ru, ru.database.read() as connection:
        assert own_history(ru, connection).current == ru.key
