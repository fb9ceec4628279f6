"""schemathesis against a running node's OpenAPI: no input makes it answer 5xx (or break its own schema); the
document describes every body the node takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from riskline.testing.fuzz import fuzz_examples
from riskline.testing.nodes import InProcess, TwoNodeHarness


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    with TwoNodeHarness(tmp_path) as harness:
        url = harness["EE"].url
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from schemathesis.cli import schemathesis; schemathesis()",
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                str(fuzz_examples(25)),
                "--seed",
                "20240611",
                "--generation-database",
                "none",
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=None if fuzz_examples(25) > 25 else 240,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "generated" in result.stdout


def test_the_delivery_endpoints_document_their_bodies_though_the_channel_core_parses_them(pair: InProcess) -> None:
    document = pair.get("EE", "/openapi.json").json()
    for path, model in (("envelopes", "DeliveryModel"), ("batches", "DeliveryBatchModel")):
        body = document["paths"][f"/v1/channels/{{channel}}/{path}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert model in document["components"]["schemas"]
    assert {"EnvelopeModel", "SignedCheckpointModel", "InclusionModel"} <= set(document["components"]["schemas"])
    assert set(_refs(document)) <= {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}


def _refs(value: object) -> list[str]:
    if isinstance(value, dict):
        own = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return own + [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []
