"""RFC 8785 canonical JSON, with the RFC's own examples, and the strict byte codecs beside it."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.channel.canonical import canonical_json, decode_base64, decode_hex, encode_base64, sha256_hex
from riskline.channel.errors import MalformedEnvelope


def test_the_rfc_8785_section_3_2_2_example_is_canonicalised_byte_for_byte() -> None:
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    expected += '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_object_keys_are_sorted_by_utf16_code_units_as_in_rfc_8785_section_3_2_3() -> None:
    source = r"""{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"""
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("ieee754_hex", "expected"),
    [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ],
)
def test_numbers_are_formatted_as_in_rfc_8785_appendix_b(ieee754_hex: str, expected: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(ieee754_hex))
    assert canonical_json(number) == expected.encode("ascii")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_rejected_as_malformed(number: float) -> None:
    with pytest.raises(MalformedEnvelope, match=r"^cannot canonicalise: .* is not representable in JCS$"):
        canonical_json({"t": [1, number]})


def test_integers_beyond_the_ieee754_safe_range_are_rejected() -> None:
    with pytest.raises(MalformedEnvelope) as caught:
        canonical_json({"size": 2**53})
    assert str(caught.value) == "cannot canonicalise: 9007199254740992 exceeds safe integer domain for JSON floats"


def test_bytes_and_non_string_keys_are_rejected() -> None:
    with pytest.raises(MalformedEnvelope, match="unsupported type"):
        canonical_json({"root": b"\x00"})
    with pytest.raises(MalformedEnvelope, match="object keys must be strings"):
        canonical_json({1: "one"})


def test_a_malformed_envelope_is_also_a_value_error_with_status_422() -> None:
    with pytest.raises(ValueError) as caught:
        canonical_json(float("nan"))
    assert isinstance(caught.value, MalformedEnvelope)
    assert caught.value.http_status == 422


# Floats stay below 2**53 in size: a larger whole float prints as an integer, which reads back as a Python int
# that rfc8785 refuses (beyond the safe integer range), so such values do not survive a parse round trip.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(-(2.0**53) + 1, 2.0**53 - 1, allow_nan=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_a_fixed_point_of_parsing(value: object) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once


def test_sha256_hex_matches_the_known_digest_of_abc() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@given(st.binary(max_size=64))
def test_base64_and_hex_round_trip(data: bytes) -> None:
    assert decode_base64(encode_base64(data), "x") == data
    assert decode_hex(data.hex(), "x") == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"AAAA", "signature must be base64 text, got bytes"),
        ("AA=A", "signature is not valid base64"),
        ("AB==", "signature is not canonical base64"),
        ("A A=", "signature is not valid base64"),
    ],
)
def test_decode_base64_accepts_only_the_canonical_spelling(text: object, message: str) -> None:
    with pytest.raises(MalformedEnvelope) as caught:
        decode_base64(text, "signature")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (7, "root must be hex text, got int"),
        ("AB", "root must be lower-case hex"),
        ("abc", "root is not valid hex"),
        ("ab cd", "root is not canonical hex"),
        ("abcd", "root must be 3 bytes, got 2"),
    ],
)
def test_decode_hex_accepts_only_lower_case_hex_of_the_right_size(text: object, message: str) -> None:
    with pytest.raises(MalformedEnvelope) as caught:
        decode_hex(text, "root", 3)
    assert str(caught.value) == message
