"""Row seals as the triggers write them and ``log verify`` checks them: the fast ways of making one (the encoder
and keyed HMAC built once, a table's row sealer) give the very bytes of the plain ones (``json``, ``hmac``)."""

from __future__ import annotations

import hmac
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from riskline.storage.seals import Sealer, seal_values

KEY = bytes(range(32))
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(max_size=40),
)


def plain_seal(key: bytes, table: str, row_id: int, values: tuple[Any, ...]) -> str:
    """The seal as the module docstring defines it, by the standard library alone."""
    shown = [{"hex": v.hex()} if isinstance(v, bytes) else v for v in values]
    text = json.dumps(shown, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    message = b"row\x00" + table.encode() + b"\x00" + str(row_id).encode() + b"\x00" + text.encode()
    return f"{hmac.digest(key, message, 'sha256').hex()} {text}"


@given(st.lists(VALUES, max_size=25).map(tuple), st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_a_seal_is_the_hmac_of_the_rows_json_whichever_way_it_is_made(values: tuple[Any, ...], row_id: int) -> None:
    sealer = Sealer(KEY)
    expected = plain_seal(KEY, "messages", row_id, values)
    assert sealer.seal("messages", row_id, *values) == expected
    assert sealer.row_sealer("messages")((row_id, *values)) == expected
    assert seal_values(values) == expected.split(" ", 1)[1]


def test_a_sealer_sent_to_a_worker_process_seals_alike() -> None:
    import pickle

    sealer = pickle.loads(pickle.dumps(Sealer(KEY)))
    assert sealer == Sealer(KEY)
    assert sealer.seal("outbox", 7, "a", 1.5, None) == plain_seal(KEY, "outbox", 7, ("a", 1.5, None))
