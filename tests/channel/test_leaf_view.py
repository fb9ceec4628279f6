"""``leaf_view.read_leaf`` against its oracle ``SignedEnvelope.from_leaf``: whatever it reads, the strict parse reads
the same; every entry broken in any member, in any way, still fails the log check with the very same reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from channel_builders import Node, questions_and_answers

from riskline.channel import bundle
from riskline.channel.bundle import EntryChecker, EntryFacts
from riskline.channel.canonical import canonical_json
from riskline.channel.errors import MalformedEnvelope
from riskline.channel.leaf_view import SignedLeaf, read_leaf, strict_leaf

ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    1.0,
    1.5,
    -0.0,
    2**53 - 1,
    2**53,
    2**70,
    1e308,
    "",
    "x",
    "EE",
    "duty_officer",
    "free_text",
    "a" * 32,
    "A" * 32,
    "0" * 64,
    "0" * 63,
    "G" * 64,
    "ed25519:AAAA",
    [],
    ["EE"],
    ["RU", "RU"],
    [""],
    {},
    {"text": "hi"},
)
"""What a broken member is replaced by: every JSON kind, at the edges of each check."""


@cache
def leaves() -> tuple[bytes, ...]:
    """A short conversation as EE logs it: received and sent entries, replies, peer heads."""
    _, ee = questions_and_answers(4, answer_after_s=2.5)
    return tuple(ee.leaves)


def checker() -> EntryChecker:
    ru, ee = Node("ru-nmdc", "RU"), Node("ee-mod", "EE")
    return EntryChecker({"ee-mod": ee.key.public_key, "ru-nmdc": ru.key.public_key}, "ee-mod")


def strict(leaf: bytes) -> SignedLeaf | str:
    """What the strict parse reads of ``leaf``, or the first line of why it refuses it."""
    try:
        return strict_leaf(leaf)
    except MalformedEnvelope as error:
        return str(error)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replaced(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(data))
    if not path:
        return value
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


def _serialised(data: Any) -> bytes:
    try:
        return canonical_json(data)
    except MalformedEnvelope:  # NaN, huge integers: still JSON to Python's parser
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def broken_leaves() -> Iterator[bytes]:
    """Each entry with every member (at any depth) replaced by each odd value, removed, or joined by an extra
    one; and the text itself broken: re-spaced, a member twice, cut short, not UTF-8."""
    for leaf in leaves()[:3]:
        data = json.loads(leaf)
        for path in _paths(data):
            for value in ODD_VALUES:
                yield _serialised(_replaced(data, path, value))
            if path and isinstance(path[-1], str):
                parent = json.loads(json.dumps(data))
                target = parent
                for part in path[:-1]:
                    target = target[part]
                del target[path[-1]]
                yield _serialised(parent)
                target[path[-1]] = None
                target["zz_extra"] = 1
                yield _serialised(parent)
        yield json.dumps(data, sort_keys=True).encode()
        yield leaf.replace(b'{"attachments"', b'{"v":1,"attachments"', 1)
        yield leaf.replace(b',"v":1}', b',"v":1,"v":1}')
        yield leaf[:-1]
        yield leaf + b" "
        yield b"\xff" + leaf
        yield leaf.replace(b'"channel":"RU-EE"', b'"channel":"RU-\\u0045E"')


def test_every_entry_of_a_real_conversation_is_read_as_the_strict_parse_reads_it() -> None:
    for leaf in leaves():
        read = read_leaf(leaf)
        assert read is not None
        assert read == strict(leaf)


def test_whatever_is_read_of_a_broken_entry_is_what_the_strict_parse_reads() -> None:
    read = refused = 0
    for leaf in broken_leaves():
        fast = read_leaf(leaf)
        if fast is None:
            refused += 1
        else:
            read += 1
            assert fast == strict(leaf), leaf
    assert read > 100  # both ways taken: odd values the envelope allows,
    assert refused > 1000  # and broken ones


def test_the_log_check_of_every_broken_entry_fails_with_the_same_reason_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = list(broken_leaves())
    fast = [checker().facts(leaf) for leaf in broken]
    monkeypatch.setattr(bundle, "read_leaf", lambda _leaf: None)
    slow = [checker().facts(leaf) for leaf in broken]
    assert fast == slow
    assert sum(fact.problem is not None for fact in fast) > 1000
    assert len({fact.problem for fact in fast}) > 50


def test_the_facts_of_sound_entries_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [checker().facts(leaf) for leaf in leaves()]
    monkeypatch.setattr(bundle, "read_leaf", lambda _leaf: None)
    assert fast == [checker().facts(leaf) for leaf in leaves()]
    assert all(isinstance(fact, EntryFacts) and fact.problem is None for fact in fast)
    assert sum(fact.cites is not None for fact in fast) == len(fast) // 2  # EE's own: every other entry
