"""node.toml, the identity key on disk and the node's TLS material."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskline.channel.errors import KeyChanged
from riskline.channel.policy import ChannelPolicy
from riskline.node.config import ListenAddress, parse_config, policy_to_toml
from riskline.node.errors import NodeConfigError, NodeExists, NotLoopback
from riskline.node.keys import load_identity
from riskline.node.local import LocalNode, init_node
from riskline.node.tls import ca_key, check_ca_pins_key
from riskline.testing.nodes import bilateral_channel


def test_a_channel_table_round_trips_through_node_toml(tmp_path: Path) -> None:
    policy = ChannelPolicy.from_config(bilateral_channel({"request_for_clarification": 60.0}, council=True))
    assert ChannelPolicy.from_config(policy_to_toml(policy)) == policy


def test_init_writes_a_config_that_loads_back(tmp_path: Path) -> None:
    result = init_node(
        tmp_path / "n", party="EE", name="EE ops", node_id="ee-mod", listen=ListenAddress("127.0.0.1", 8701)
    )
    with LocalNode.open(tmp_path / "n") as node:
        assert (node.config.id, node.config.party, str(node.config.listen)) == ("ee-mod", "EE", "127.0.0.1:8701")
        assert node.config.public_url == "https://127.0.0.1:8701"
        assert node.key == result.key
        assert ca_key(node.paths.ca_cert.read_bytes()) == node.key


def test_init_refuses_an_existing_node(tmp_path: Path) -> None:
    init_node(tmp_path / "n", party="EE", name="EE ops")
    with pytest.raises(NodeExists, match="already holds a node"):
        init_node(tmp_path / "n", party="EE", name="EE ops")


def test_init_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(NotLoopback, match="plain HTTP is allowed only on loopback"):
        init_node(tmp_path / "n", party="EE", name="x", listen=ListenAddress("0.0.0.0", 8700), tls_enabled=False)


def test_a_typo_in_node_toml_is_a_one_line_error() -> None:
    text = '[node]\nid = "ee-mod"\nname = "EE"\nparty = "EE"\nlisten = "127.0.0.1:8700"\ntsl = true\n'
    with pytest.raises(NodeConfigError, match=r"node\.toml: node\.tsl: Extra inputs are not permitted"):
        parse_config(text)


def test_an_identity_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    init_node(tmp_path / "n", party="EE", name="EE ops")
    identity = tmp_path / "n" / "keys" / "identity.pem"
    os.chmod(identity, 0o644)
    with pytest.raises(NodeConfigError, match=r"accessible by others \(mode 644\); run: chmod 600"):
        load_identity(identity)


def test_a_ca_of_another_key_does_not_pin(tmp_path: Path) -> None:
    ours = init_node(tmp_path / "a", party="EE", name="A")
    theirs = init_node(tmp_path / "b", party="RU", name="B")
    check_ca_pins_key((tmp_path / "a" / "tls" / "ca.pem").read_bytes(), ours.key)
    with pytest.raises(KeyChanged, match="TLS CA key is"):
        check_ca_pins_key((tmp_path / "a" / "tls" / "ca.pem").read_bytes(), theirs.key)
