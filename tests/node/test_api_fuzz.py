"""Fuzzing the node's delivery endpoints in-process (hypothesis): a real batch or delivery with one member
replaced by any JSON value or removed, or its bytes cut or changed, never gets a 5xx; what is refused is refused
with a riskline error document, and the receiver's log still verifies.

Bounded in the suite; ``RISKLINE_FUZZ_EXAMPLES=N`` runs N examples (``riskline.testing.fuzz``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.messages import MessageType
from riskline.channel.protocol import prepare_batch, prepare_delivery
from riskline.node.audit import verify_node
from riskline.node.messaging import Outgoing, send_many
from riskline.storage import channel_store as store
from riskline.testing.clock import FakeClock
from riskline.testing.fuzz import fuzz_examples
from riskline.testing.nodes import InProcess, make_nodes

SETTINGS = settings(
    max_examples=fuzz_examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    pair = make_nodes(tmp_path_factory.mktemp("fuzz"), FakeClock(1_790_000_000.0))
    yield pair
    pair.close()


@pytest.fixture(scope="module")
def bodies(nodes: InProcess) -> dict[str, dict[str, Any]]:
    """A real batch of three envelopes and a real single delivery, from RU for EE (not posted)."""
    ru = nodes["RU"]
    outgoing = [Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"fuzz {n}"}) for n in range(3)]
    ids = [sent.envelope.id for sent in send_many(ru, outgoing)]
    with ru.writing() as connection:
        head = ru.head(connection)
        entries = store.log_entries_by_envelopes(connection, ids)
    envelopes = [(SignedEnvelope.from_leaf(entries[i].data), entries[i].index) for i in ids]
    batch = prepare_batch(envelopes=envelopes, tree=ru.tree, checkpoint=head, cosigned_size=0).to_wire()
    single = prepare_delivery(
        envelope=envelopes[0][0], index=envelopes[0][1], tree=ru.tree, checkpoint=head, cosigned_size=0
    ).to_wire()
    return {"batches": batch, "envelopes": single}


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member's path in a JSON value (keys and list positions), the value itself first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from paths_of(item, (*prefix, position))


def mutated(body: dict[str, Any], path: tuple[Any, ...], replacement: Any, remove: bool) -> Any:
    if not path:
        return replacement
    changed = copy.deepcopy(body)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return changed


def assert_answered_without_a_server_error(nodes: InProcess, endpoint: str, raw: bytes) -> None:
    response = nodes.post("EE", f"/v1/channels/RU-EE/{endpoint}", None, raw=raw)
    assert response.status_code < 500, response.text
    document = response.json()
    if response.status_code == 200:
        assert ("receipts" in document) if endpoint == "batches" else ("signature" in document)
    else:
        assert set(document["error"]) >= {"type", "message", "field"}, document


@SETTINGS
@given(data=st.data(), endpoint=st.sampled_from(["batches", "envelopes"]), replacement=JSON, remove=st.booleans())
def test_a_delivery_with_any_member_replaced_or_removed_gets_no_server_error(
    nodes: InProcess,
    bodies: dict[str, dict[str, Any]],
    data: st.DataObject,
    endpoint: str,
    replacement: Any,
    remove: bool,
) -> None:
    body = bodies[endpoint]
    path = data.draw(st.sampled_from(list(paths_of(body))))
    raw = json.dumps(mutated(body, path, replacement, remove and bool(path))).encode("utf-8")
    assert_answered_without_a_server_error(nodes, endpoint, raw)


@SETTINGS
@given(data=st.data(), endpoint=st.sampled_from(["batches", "envelopes"]), noise=st.binary(min_size=1, max_size=8))
def test_a_delivery_cut_short_or_with_bytes_changed_gets_no_server_error(
    nodes: InProcess, bodies: dict[str, dict[str, Any]], data: st.DataObject, endpoint: str, noise: bytes
) -> None:
    raw = json.dumps(bodies[endpoint]).encode("utf-8")
    at = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.booleans())
    damaged = raw[:at] if cut else raw[:at] + noise + raw[at + len(noise) :]
    assert_answered_without_a_server_error(nodes, endpoint, damaged)


def test_after_the_fuzzing_the_receiver_s_log_still_verifies(nodes: InProcess) -> None:
    assert verify_node(nodes["EE"]).ok
