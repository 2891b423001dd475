"""sovscan's SARIF through Microsoft's SARIF multitool (``Sarif.Multitool validate``), the
validator behind GitHub's own SARIF checks: no error and no warning but the one about the
tool's home page. It runs where ``SOVSCAN_SARIF_MULTITOOL`` names the binary (``.ci/run``
installs the npm package ``@microsoft/sarif-multitool`` when npm is there), else skips."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from tests.conftest import EXAMPLES

MULTITOOL = os.environ.get("SOVSCAN_SARIF_MULTITOOL", "")

pytestmark = pytest.mark.skipif(
    not MULTITOOL or not Path(MULTITOOL).is_file(),
    reason="SOVSCAN_SARIF_MULTITOOL does not name Microsoft's SARIF multitool",
)


def validate(log: Path, out: Path) -> list[tuple[str, str]]:
    """(rule id, level) of what the multitool reports at error and warning level."""
    subprocess.run(
        [
            MULTITOOL,
            "validate",
            str(log),
            "--level",
            "Error;Warning",
            "--output",
            str(out),
            "--log",
            "ForceOverwrite",
        ],
        capture_output=True,
        timeout=300,
        check=True,
    )
    report: dict[str, Any] = json.loads(out.read_text())
    return [(r["ruleId"], r.get("level", "warning")) for r in report["runs"][0]["results"]]


@pytest.mark.parametrize("example", ["ru-chat-lora", "ru-legal-8b", "ru-legal-8b-gguf"])
def test_the_multitool_finds_nothing_to_fix(tmp_path: Path, example: str) -> None:
    log = tmp_path / "scan.sarif"
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            str(EXAMPLES / example),
            "--offline",
            "-q",
            "--policy",
            "sovereign",
            "-o",
            str(log),
        ],
    )
    assert result.exit_code in (0, 1, 3), result.output
    found = validate(log, tmp_path / "report.sarif")
    # SARIF2005: the driver has no informationUri (the project has no home page to name).
    assert [rule for rule, _ in found if rule != "SARIF2005"] == []


def test_the_check_is_not_vacuous(tmp_path: Path) -> None:
    log = tmp_path / "scan.sarif"
    CliRunner().invoke(
        cli, ["scan", str(EXAMPLES / "ru-chat-lora"), "--offline", "-q", "-o", str(log)]
    )
    doc = json.loads(log.read_text())
    location = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    location["artifactLocation"]["uri"] = "file:///abs/path/README.md"
    location["artifactLocation"]["uriBaseId"] = "TARGET1"
    log.write_text(json.dumps(doc))
    assert ("SARIF1004", "error") in validate(log, tmp_path / "report.sarif")
