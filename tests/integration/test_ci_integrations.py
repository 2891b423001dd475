"""The GitHub Action and the pre-commit hook, run as GitHub and pre-commit would run them.

The Action's shell steps run here under bash with the variables a runner sets
(``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_ACTION_PATH``) and the installed
``sovscan`` on ``PATH``: the scan writes the BOM, the SARIF and the job summary with the lineage
graph, the outputs carry the verdict, and the gate fails the job on it. Every flag the Action
and the hook pass must be one ``sovscan scan`` accepts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from scanner.cli import cli
from tests.conftest import EXAMPLES

REPO = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())


def scan_options() -> set[str]:
    """Every option ``sovscan scan`` accepts."""
    command = cli.commands["scan"]
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def step(step_id_or_name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = ACTION["runs"]["steps"]
    return next(s for s in steps if step_id_or_name in (s.get("id"), s.get("name")))


def test_every_input_the_action_uses_is_declared_and_every_flag_exists() -> None:
    text = (REPO / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    # The lines that build sovscan's command line (``args=(…)``, ``args+=(…)``, the call).
    script = "\n".join(
        line
        for line in step("scan")["run"].splitlines()
        if ("args" in line or "sovscan scan" in line) and not line.lstrip().startswith("#")
    )
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-o|-q)(?=[\s\"')])", script))
    assert {"--policy", "--jurisdiction", "--offline", "--format", "-o"} <= flags
    assert flags <= scan_options(), flags - scan_options()
    assert {"verdict", "exit-code", "bom", "sarif"} <= set(ACTION["outputs"])


def test_the_pre_commit_hook_runs_sovscan_with_flags_it_accepts() -> None:
    (hook,) = HOOKS
    assert hook["entry"] == "sovscan scan"
    assert hook["pass_filenames"] is False
    flags = {arg for arg in hook["args"] if arg.startswith("-")}
    assert flags <= scan_options()
    assert re.search(hook["files"], "model.SAFETENSORS")
    assert re.search(hook["files"], "poetry.lock")
    assert not re.search(hook["files"], "photo.png")


def run_step(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = step(name)["run"]
    full = {**os.environ, **env}
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full['PATH']}"
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="the Action's steps are bash")
@pytest.mark.parametrize(
    ("policy", "fail_on", "verdict", "gate"),
    [("sovereign", "FAIL,UNKNOWN", "FAIL", 1), ("sovereign", "UNKNOWN", "FAIL", 0)],
)
def test_the_action_scans_summarises_and_gates(
    tmp_path: Path, policy: str, fail_on: str, verdict: str, gate: int
) -> None:
    if shutil.which("sovscan", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("sovscan is not installed beside this interpreter")
    workspace = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "ru-chat-lora", workspace / "ru-chat-lora")
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("")
    summary.write_text("")
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update(target="ru-chat-lora", policy=policy, offline="true")
    env = {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "TARGET": inputs["target"],
        "POLICY": inputs["policy"],
        "JURISDICTION": inputs["jurisdiction"],
        "DENY": inputs["deny"],
        "OFFLINE": inputs["offline"],
        "BOM": inputs["bom"],
        "SARIF": inputs["sarif"],
        "SUMMARY": inputs["summary"],
    }
    scanned = run_step("scan", env, workspace)
    assert scanned.returncode == 0, scanned.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs == {"exit-code": "1", "verdict": verdict}
    assert (workspace / "sovscan.cdx.json").is_file()
    assert (workspace / "sovscan.sarif").is_file()
    report = summary.read_text()
    assert report.startswith("# sovscan report: ru-chat-lora")
    assert "```mermaid" in report
    gated = run_step(
        "Gate",
        {"CODE": outputs["exit-code"], "VERDICT": outputs["verdict"], "FAIL_ON": fail_on},
        workspace,
    )
    assert gated.returncode == gate, gated.stdout + gated.stderr
    # A scan that could not finish fails the job whatever fail-on says.
    broken = run_step("Gate", {"CODE": "2", "VERDICT": "ERROR", "FAIL_ON": "FAIL"}, workspace)
    assert broken.returncode == 2


def test_markdown_goes_to_a_path_without_a_suffix_with_format(tmp_path: Path) -> None:
    """``--format markdown -o "$GITHUB_STEP_SUMMARY"``: the runner's summary file has no
    suffix; the format says what to write there."""
    summary = tmp_path / "step_summary_0a1b"
    summary.write_text("")
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            str(EXAMPLES / "ru-chat-lora"),
            "--offline",
            "-q",
            "--format",
            "markdown",
            "-o",
            str(summary),
        ],
    )
    assert result.exit_code == 0, result.output
    assert summary.read_text().startswith("# sovscan report: ru-chat-lora")
