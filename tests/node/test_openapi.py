"""schemathesis against a running node's OpenAPI: no input makes it answer 5xx (or break its own schema)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from riskline.testing.nodes import TwoNodeHarness

pytestmark = pytest.mark.slow


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
                "25",
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
            timeout=240,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "generated" in result.stdout
