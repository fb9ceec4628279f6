"""Mutual TLS between real node processes: pinned peers get in, clients without a pinned CA's certificate do not."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from riskline.channel.errors import KeyChanged
from riskline.channel.messages import MessageType
from riskline.channel.signing import SigningKey
from riskline.node.config import ListenAddress
from riskline.node.local import LocalNode, init_node
from riskline.node.messaging import Outgoing, send
from riskline.node.peers import add_peer
from riskline.node.tls import ca_key, client_context
from riskline.storage import channel_store as store
from riskline.testing.nodes import TwoNodeHarness, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodeHarness]:
    with TwoNodeHarness(tmp_path_factory.mktemp("mtls"), tls=True) as running:
        yield running


def context(root: Path, trusted: Path, *, present: bool) -> ssl.SSLContext:
    return client_context(
        str(root / "tls" / "node.pem"),
        str(root / "tls" / "node.key"),
        (trusted / "tls" / "ca.pem").read_bytes(),
        present_certificate=present,
    )


def test_the_ca_key_of_a_node_is_its_identity_key(harness: TwoNodeHarness) -> None:
    with harness["EE"].open() as ee:
        assert ca_key(ee.paths.ca_cert.read_bytes()) == ee.key


def test_a_pinned_peer_delivers_over_mutual_tls(harness: TwoNodeHarness) -> None:
    with harness["RU"].open() as ru:
        sent = send(ru, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": "over TLS"}))

    def delivered() -> bool:
        with harness["RU"].open() as ru, ru.database.read() as connection:
            return [row.state for row in store.outbox_rows(connection, sent.envelope.id)] == ["delivered"]

    wait_until(delivered, what="delivery over mutual TLS")


def test_a_client_without_a_certificate_may_only_read_the_introduction(harness: TwoNodeHarness) -> None:
    ee, ru = harness["EE"], harness["RU"]
    verify = context(ru.root, ee.root, present=False)
    with httpx.Client(verify=verify) as client:
        assert client.get(f"{ee.url}/v1/node").status_code == 200
        refused = client.post(f"{ee.url}/v1/channels/RU-EE/envelopes", json={})
        log = client.get(f"{ee.url}/v1/log/checkpoint")
        schema = client.get(f"{ee.url}/openapi.json")
        pages = [client.get(f"{ee.url}{path}").status_code for path in ("/docs", "/redoc")]
    assert (refused.status_code, refused.json()["error"]["type"]) == (401, "NotAuthenticated")
    assert (log.status_code, log.json()["error"]["type"]) == (401, "NotAuthenticated")
    assert (schema.status_code, schema.json()["error"]["type"]) == (401, "NotAuthenticated")
    assert pages == [404, 404]
    with ee.open() as node, node.database.read() as connection:
        kinds = [event.kind for event in store.list_security_events(connection)]
    assert kinds[-3:] == ["NotAuthenticated", "NotAuthenticated", "NotAuthenticated"]


def test_a_pinned_peer_certificate_reads_the_log(harness: TwoNodeHarness) -> None:
    ee, ru = harness["EE"], harness["RU"]
    with httpx.Client(verify=context(ru.root, ee.root, present=True)) as client:
        response = client.get(f"{ee.url}/v1/log/checkpoint")
        schema = client.get(f"{ee.url}/openapi.json")
    assert response.status_code == 200
    assert response.json()["checkpoint"]["origin"] == "ee-mod"
    assert schema.status_code == 200
    assert "/v1/channels/{channel}/batches" in schema.json()["paths"]


def test_a_certificate_from_another_ca_fails_the_handshake(harness: TwoNodeHarness, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    init_node(stranger, party="US", name="Stranger", node_id="us-stranger", listen=ListenAddress("127.0.0.1", 0))
    ee = harness["EE"]
    with httpx.Client(verify=context(stranger, ee.root, present=True)) as client, pytest.raises(httpx.TransportError):
        client.get(f"{ee.url}/v1/health")


def test_peer_add_refuses_a_served_key_that_differs_from_the_pinned_one(
    harness: TwoNodeHarness, tmp_path: Path
) -> None:
    root = tmp_path / "newcomer"
    init_node(root, party="US", name="Newcomer", node_id="us-newcomer", listen=ListenAddress("127.0.0.1", 0))
    with LocalNode.open(root) as newcomer:
        wrong = SigningKey.generate().public_key.to_text()
        with pytest.raises(KeyChanged, match="serves key"):
            add_peer(newcomer, "ee", harness["EE"].url, wrong)
        added = add_peer(newcomer, "ee", harness["EE"].url, harness.keys["EE"])
        assert added.peer.ca_pem is not None
        with pytest.raises(KeyChanged, match="PEER KEY HAS CHANGED for ee"):
            add_peer(newcomer, "ee", harness["EE"].url, harness.keys["RU"])
