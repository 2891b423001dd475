"""Compare sovscan's load analysis with picklescan, modelscan and fickling on labelled cases.

Usage: python bench/load_analysis_peers.py [--peers-dir DIR] [--timeout 60] [--json FILE]
                                           [--case SUBSTRING] [--tools sovscan,picklescan,...]

Writes the labelled cases of bench/load_analysis_cases.py (hand-written bytes, never a pickled
live object, nothing ever loaded) into a temporary folder, one folder per case, and runs every
tool on each case's file, one case and one tool at a time, as a fresh process with a timeout:

- sovscan: the CLI, ``python -m scanner scan FILE --offline --no-cache -o out.sarif``; its
  load-analysis results (rules SEC001-SEC007 and SEC100) are read from the SARIF;
- picklescan, modelscan, fickling: installed from PyPI (pinned below) into one virtualenv each
  under --peers-dir the first time, then run through their documented CLIs.

Each run becomes: caught (flagged at all), HIGH (the tool's most severe level), error (a crash,
a traceback or the tool's own error exit) and wall seconds. Prints one summary row per tool and
the per-case matrix; --json writes the matrix with each run's exit code and first output lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_analysis_cases import BENIGN, HIGH, MALICIOUS, Case, build_cases
from load_analysis_payloads import H5_WRITER

if TYPE_CHECKING:
    from collections.abc import Callable

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_PEERS_DIR: Final = Path(tempfile.gettempdir()) / "sovscan-bench-peers"
#: The peers, pinned to the versions whose CLIs and levels this bench reads, with the extras
#: their READMEs name for the formats here: picklescan's ``7z`` extra (py7zr) and numpy (which it
#: imports for .npy/.npz without declaring it), modelscan's ``h5py`` and ``tensorflow`` extras
#: (its Keras and HDF5 scanners refuse to run without them), and typing_extensions for fickling
#: (0.1.12 declares no dependency, yet its CLI cannot start without it).
PEER_VERSIONS: Final = {"picklescan": "1.0.5", "modelscan": "0.8.8", "fickling": "0.1.12"}
PEER_REQUIREMENTS: Final = {
    "picklescan": ("picklescan[7z]==1.0.5", "numpy"),
    "modelscan": ("modelscan[h5py,tensorflow]==0.8.8",),
    "fickling": ("fickling==0.1.12", "typing_extensions"),
}
#: A venv that only writes the legacy Keras .h5 cases (h5py never reads a scanned file).
H5_WRITER_REQUIREMENTS: Final = ("h5py",)
TOOLS: Final = ("sovscan", "picklescan", "modelscan", "fickling")
#: sovscan's load-analysis rules (SEC008 is an INFO note about training state).
SOVSCAN_LOAD_RULES: Final = frozenset(
    {"SEC001", "SEC002", "SEC003", "SEC004", "SEC005", "SEC006", "SEC007", "SEC100"}
)
#: fickling's two top levels (OVERTLY_MALICIOUS is kept for a few exact shapes; every
#: os.system-style import is LIKELY_OVERTLY_MALICIOUS).
FICKLING_HIGH: Final = frozenset({"LIKELY_OVERTLY_MALICIOUS", "OVERTLY_MALICIOUS"})
FIRST_LINES: Final = 4


@dataclass(slots=True)
class Outcome:
    """What one tool said about one case."""

    caught: bool
    high: bool
    error: bool
    seconds: float
    exit_code: int | None
    first_lines: list[str]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """One finished process."""

    exit_code: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float
    report: str  # the tool's report file, if it wrote one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-dir", type=Path, default=DEFAULT_PEERS_DIR)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="write the per-case matrix to this file")
    parser.add_argument("--case", default="", help="only cases whose id contains this")
    parser.add_argument("--tools", default=",".join(TOOLS))
    args = parser.parse_args()
    tools = [tool for tool in args.tools.split(",") if tool]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}")
    versions = {"sovscan": sovscan_version()}
    executables: dict[str, Path] = {}
    for peer in PEER_VERSIONS:
        if peer in tools:
            executables[peer], versions[peer] = ensure_peer(args.peers_dir, peer)
    writer = ensure_venv(args.peers_dir / "h5-writer", H5_WRITER_REQUIREMENTS)
    cases = [case for case in build_cases(partial(write_h5, writer)) if args.case in case.id]
    print("tools: " + ", ".join(f"{tool} {versions[tool]}" for tool in tools))
    print("sovscan runs as its CLI: python -m scanner scan FILE --offline --no-cache -o x.sarif")
    matrix: dict[str, dict[str, Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="sovscan-peers-") as scratch:
        work = Path(scratch)
        for case in cases:
            folder = work / "cases" / case.id
            folder.mkdir(parents=True)
            target = folder / case.name
            target.write_bytes(case.data)
            matrix[case.id] = {}
            for tool in tools:
                out = work / "out" / case.id / tool
                out.mkdir(parents=True)
                matrix[case.id][tool] = RUNNERS[tool](target, out, executables, args.timeout)
    print_summary(cases, tools, matrix)
    print_matrix(cases, tools, matrix)
    if args.json is not None:
        write_json(args.json, cases, tools, versions, matrix)
    return 0


# --- installing and running the tools ----------------------------------------------------------


def ensure_peer(peers_dir: Path, peer: str) -> tuple[Path, str]:
    """The peer's CLI in its own venv (created and pip-installed the first time), and its
    installed version."""
    venv = peers_dir / peer
    tool = venv / "bin" / peer
    python = ensure_venv(venv, PEER_REQUIREMENTS[peer])
    version = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({peer!r}))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return tool, version


def ensure_venv(venv: Path, requirements: tuple[str, ...]) -> Path:
    """The venv's python, creating the venv and pip-installing ``requirements`` into it unless
    a previous run did (a marker file lists what was installed)."""
    python = venv / "bin" / "python"
    marker = venv / "bench-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if not python.exists() or not marker.is_file() or marker.read_text() != wanted:
        print(f"installing {' '.join(requirements)} into {venv} (needs PyPI)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements], check=True)
        marker.write_text(wanted)
    return python


def write_h5(python: Path, model_config: str) -> bytes:
    """The bytes of an HDF5 file written by h5py in the writer venv (see ``H5_WRITER``)."""
    with tempfile.TemporaryDirectory(prefix="sovscan-h5-") as scratch:
        path = Path(scratch) / "model.h5"
        subprocess.run([str(python), "-c", H5_WRITER, str(path), model_config], check=True)
        return path.read_bytes()


def sovscan_version() -> str:
    from importlib.metadata import version

    return version("sovscan")


def run(command: list[str], cwd: Path, timeout: float, report: Path | None = None) -> Run:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            cwd=cwd,
            timeout=timeout,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired as expired:
        return Run(None, _text(expired.stdout), _text(expired.stderr), timeout, "")
    seconds = time.perf_counter() - start
    text = report.read_text(encoding="utf-8") if report is not None and report.is_file() else ""
    return Run(done.returncode, done.stdout, done.stderr, seconds, text)


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else raw.decode(errors="replace")


def first_lines(done: Run) -> list[str]:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines[:FIRST_LINES]


def crashed(done: Run) -> bool:
    return done.exit_code is None or "Traceback (most recent call last)" in (
        done.stdout + done.stderr
    )


def run_sovscan(target: Path, out: Path, _: dict[str, Path], timeout: float) -> Outcome:
    report = out / "sovscan.sarif"
    command = [sys.executable, "-m", "scanner", "scan", str(target), "--offline", "--no-cache"]
    done = run([*command, "-o", str(report)], out, timeout, report)
    severities = []
    if done.report:
        for sarif_run in json.loads(done.report).get("runs", []):
            for result in sarif_run.get("results", []):
                if result.get("ruleId") in SOVSCAN_LOAD_RULES:
                    severity = result.get("properties", {}).get("severity", "")
                    severities.append("critical" if result["ruleId"] == "SEC100" else severity)
    # Exit 2 with "nothing to scan": the CLI refuses a file it does not take for a model (a
    # refusal, like modelscan's exit 3, not a crash).
    refused = done.exit_code == 2 and "nothing to scan" in done.stderr
    return Outcome(
        caught=any(s in {"medium", "high", "critical"} for s in severities),
        high=any(s in {"high", "critical"} for s in severities),
        error=crashed(done) or not (done.report or refused),
        seconds=done.seconds,
        exit_code=done.exit_code,
        first_lines=first_lines(done),
        note="refused: not a model file (exit 2)" if refused else "",
    )


def run_picklescan(target: Path, out: Path, tools: dict[str, Path], timeout: float) -> Outcome:
    """``picklescan -p FILE -g``: exit 1 when a *dangerous* global is found (its top level),
    2 on a scan error; ``-g`` lists every global with its level (suspicious ones too)."""
    done = run([str(tools["picklescan"]), "-p", str(target), "-g"], out, timeout)
    text = done.stdout + done.stderr
    dangerous = re.search(r"Dangerous globals: (\d+)", text)
    high = done.exit_code == 1 or (dangerous is not None and int(dangerous.group(1)) > 0)
    caught = high or re.search(r" - (suspicious|dangerous)\s*$", text, re.MULTILINE) is not None
    return Outcome(
        caught=caught,
        high=high,
        error=crashed(done) or done.exit_code not in {0, 1},
        seconds=done.seconds,
        exit_code=done.exit_code,
        first_lines=first_lines(done),
    )


def run_modelscan(target: Path, out: Path, tools: dict[str, Path], timeout: float) -> Outcome:
    """``modelscan scan -p FILE -r json -o REPORT``: exit 0 clean, 1 issues, 2 scan errors,
    3 no supported file; issue severities LOW < MEDIUM < HIGH < CRITICAL."""
    report = out / "modelscan.json"
    command = [str(tools["modelscan"]), "scan", "-p", str(target), "-r", "json"]
    done = run([*command, "-o", str(report)], out, timeout, report)
    severities: list[str] = []
    errors: list[object] = []
    if done.report:
        parsed = json.loads(done.report)
        severities = [str(issue.get("severity", "")) for issue in parsed.get("issues", [])]
        errors = list(parsed.get("errors", []))
    note = "no supported file (exit 3)" if done.exit_code == 3 else ""
    return Outcome(
        caught=bool(severities) or done.exit_code == 1,
        high="CRITICAL" in severities,
        error=crashed(done) or done.exit_code == 2 or bool(errors),
        seconds=done.seconds,
        exit_code=done.exit_code,
        first_lines=first_lines(done),
        note=note,
    )


def run_fickling(target: Path, out: Path, tools: dict[str, Path], timeout: float) -> Outcome:
    """``fickling --check-safety -p FILE --json-output REPORT``: exit 0 clean, 1 unsafe (any
    level above LIKELY_SAFE), 2 on a parse error; the report holds one severity per stacked
    pickle. The CLI reads raw (stacked) pickles only: its zip and 7z readers are library calls
    (``fickling.loader.scan_zip_archive``, ``fickling.polyglot``) that the CLI does not use."""
    report = out / "fickling.json"
    command = [str(tools["fickling"]), "--check-safety", "-p", str(target), "--json-output"]
    done = run([*command, str(report)], out, timeout, report)
    levels = re.findall(r'"severity":\s*"(\w+)"', done.report)
    return Outcome(
        caught=any(level != "LIKELY_SAFE" for level in levels)
        or (done.exit_code == 1 and not crashed(done)),
        high=any(level in FICKLING_HIGH for level in levels),
        error=crashed(done) or done.exit_code not in {0, 1},
        seconds=done.seconds,
        exit_code=done.exit_code,
        first_lines=first_lines(done),
    )


RUNNERS: Final[dict[str, Callable[[Path, Path, dict[str, Path], float], Outcome]]] = {
    "sovscan": run_sovscan,
    "picklescan": run_picklescan,
    "modelscan": run_modelscan,
    "fickling": run_fickling,
}


# --- reporting ---------------------------------------------------------------------------------


def print_summary(
    cases: list[Case], tools: list[str], matrix: dict[str, dict[str, Outcome]]
) -> None:
    malicious = [case for case in cases if case.label in {HIGH, MALICIOUS}]
    high_cases = [case for case in cases if case.label == HIGH]
    benign = [case for case in cases if case.label == BENIGN]
    print()
    print(
        f"{'tool':<11} {'caught':>9} {'high→HIGH':>10} {'benign flag':>12} "
        f"{'benign HIGH':>12} {'errors':>7} {'median s':>9} {'max s':>7}"
    )
    for tool in tools:
        outcomes = [matrix[case.id][tool] for case in cases]
        seconds = [outcome.seconds for outcome in outcomes]
        caught = sum(matrix[case.id][tool].caught for case in malicious)
        rated = sum(matrix[case.id][tool].high for case in high_cases)
        flagged = sum(matrix[case.id][tool].caught for case in benign)
        false_high = sum(matrix[case.id][tool].high for case in benign)
        errors = sum(outcome.error for outcome in outcomes)
        print(
            f"{tool:<11} {caught:>4}/{len(malicious):<4} {rated:>5}/{len(high_cases):<4} "
            f"{flagged:>7}/{len(benign):<4} {false_high:>7}/{len(benign):<4} "
            f"{errors:>3}/{len(cases):<3} {statistics.median(seconds):>9.2f} {max(seconds):>7.2f}"
        )
    print(
        "caught: malicious cases flagged at any level; high→HIGH: malicious-high cases at the "
        "tool's top level; errors: crashes, tracebacks, timeouts or error exits over all cases."
    )


def cell(outcome: Outcome) -> str:
    text = "HIGH" if outcome.high else "flag" if outcome.caught else "-"
    if outcome.exit_code is None:
        return text + " T"
    return text + (" E" if outcome.error else "")


def print_matrix(
    cases: list[Case], tools: list[str], matrix: dict[str, dict[str, Outcome]]
) -> None:
    width = max(len(case.id) for case in cases)
    print()
    print(f"{'case':<{width}} {'label':<15}" + "".join(f" {tool:<11}" for tool in tools))
    for case in cases:
        row = "".join(f" {cell(matrix[case.id][tool]):<11}" for tool in tools)
        print(f"{case.id:<{width}} {case.label:<15}{row}")
    print(
        "HIGH: the tool's top level; flag: a lower level; -: nothing; E: error (crash, "
        "traceback or error exit, with whatever it reported before); T: timed out."
    )


def write_json(
    path: Path,
    cases: list[Case],
    tools: list[str],
    versions: dict[str, str],
    matrix: dict[str, dict[str, Outcome]],
) -> None:
    document = {
        "versions": {tool: versions[tool] for tool in tools},
        "cases": [
            {
                "id": case.id,
                "file": case.name,
                "label": case.label,
                "source": case.source,
                "note": case.note,
                "results": {tool: asdict(matrix[case.id][tool]) for tool in tools},
            }
            for case in cases
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
