"""How long the fuzzers run: a bounded number of examples in the suite, as many as you like on demand.

``RISKLINE_FUZZ_EXAMPLES=5000 ./run test tests/ingest/test_properties.py tests/node/test_api_fuzz.py
tests/node/test_openapi.py`` runs the ingest decoders' and the node API's fuzzers (hypothesis, schemathesis)
with 5,000 examples each instead of their default.
"""

from __future__ import annotations

import os

FUZZ_EXAMPLES = "RISKLINE_FUZZ_EXAMPLES"
"""The environment variable that sets how many examples each fuzzer runs."""


def fuzz_examples(default: int) -> int:
    """``$RISKLINE_FUZZ_EXAMPLES`` when set (a positive integer), else ``default``."""
    text = os.environ.get(FUZZ_EXAMPLES, "").strip()
    if not text:
        return default
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{FUZZ_EXAMPLES} must be a positive integer, got {text!r}") from None
    if count < 1:
        raise ValueError(f"{FUZZ_EXAMPLES} must be a positive integer, got {text!r}")
    return count
