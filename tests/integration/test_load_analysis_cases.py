"""The labelled cases of the peer benchmark (bench/load_analysis_cases.py, each with its advisory
or issue thread), scanned as a user would: ``sovscan scan FILE --offline``. Every malicious-high
case is HIGH, every malicious case is flagged, and no benign case is, whatever the peers say.

The benchmark itself (bench/load_analysis_peers.py) also runs picklescan, modelscan and fickling
on the same files; this test keeps sovscan's side of it true on every change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from load_analysis_cases import BENIGN, HIGH, MALICIOUS, Case, build_cases
from load_analysis_payloads import H5_WRITER

#: The rules of the load analysis, and the severities the benchmark counts (as its runner does).
LOAD_RULES = frozenset({f"SEC00{n}" for n in range(1, 8)} | {"SEC100"})
FLAGGED = frozenset({"medium", "high", "critical"})
HIGHEST = frozenset({"high", "critical"})


def write_h5(folder: Path, config: str) -> bytes:
    """HDF5 bytes as bench/load_analysis_peers.py writes them: h5py in another interpreter."""
    target = folder / f"{len(list(folder.iterdir()))}.h5"
    subprocess.run([sys.executable, "-c", H5_WRITER, str(target), config], check=True)
    return target.read_bytes()


@cache
def cases(folder: Path) -> dict[str, Case]:
    return {case.id: case for case in build_cases(lambda config: write_h5(folder, config))}


CASE_IDS = [case.id for case in build_cases(lambda config: b"")]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return cases(tmp_path_factory.mktemp("h5"))


def severities(target: Path, out: Path) -> list[str]:
    """The severity of each load-analysis result of ``sovscan scan TARGET``."""
    report = out / "x.sarif"
    args = ["scan", "-q", str(target), "--offline", "--no-cache", "-o", str(report)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code in (0, 1, 3), result.output
    found = []
    for run in json.loads(report.read_text())["runs"]:
        for item in run["results"]:
            if item["ruleId"] in LOAD_RULES:
                severity = item["properties"]["severity"]
                found.append("critical" if item["ruleId"] == "SEC100" else severity)
    return found


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_each_labelled_case_gets_its_label(
    case_id: str, labelled: dict[str, Case], tmp_path: Path
) -> None:
    case = labelled[case_id]
    assert case.source  # every case names where it comes from
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / case.name).write_bytes(case.data)
    found = set(severities(folder / case.name, tmp_path))
    if case.label == HIGH:
        assert found & HIGHEST, (case.id, found)
    elif case.label == MALICIOUS:
        assert found & FLAGGED, (case.id, found)
    else:
        assert case.label == BENIGN
        assert not found & FLAGGED, (case.id, found)
