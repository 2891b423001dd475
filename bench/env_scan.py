"""Benchmark `sovscan scan --python` against `cyclonedx-py environment` on one environment.

Usage: python bench/env_scan.py [--python PYTHON] [--bench-venv DIR] [--repeat 5]

Creates (or reuses) a bench venv with cyclonedx-bom installed from the package index; the
environment scanned is --python, else that bench venv itself. Both tools run as fresh
processes, interleaved, --repeat times each (cyclonedx-py with and without its schema
validation); sovscan runs --offline without the hash cache (the target is an empty folder, so
the work is the environment). Both BOMs must list the same installed distributions (name,
version), or the script stops. Prints medians and sovscan's ratio to each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BENCH_VENV = Path(tempfile.gettempdir()) / "sovscan-bench-env-venv"
CYCLONEDX_BOM = "cyclonedx-bom"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, help="interpreter whose environment is scanned")
    parser.add_argument("--bench-venv", type=Path, default=DEFAULT_BENCH_VENV)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cyclonedx_py = ensure_bench_venv(args.bench_venv)
    target = args.python or args.bench_venv / "bin" / "python"
    sovscan = [sys.executable, "-m", "scanner"]
    with tempfile.TemporaryDirectory(prefix="sovscan-env-bench-") as scratch:
        work = Path(scratch)
        (work / "project").mkdir()
        runs: dict[str, list[float]] = {
            "cyclonedx-py": [],
            "cyclonedx-py --no-validate": [],
            "sovscan": [],
        }
        peer = [str(cyclonedx_py), "environment", str(target), "--output-format", "JSON"]
        for _ in range(args.repeat):
            runs["cyclonedx-py"].append(
                timed([*peer, "--output-file", str(work / "peer.cdx.json")])
            )
            runs["cyclonedx-py --no-validate"].append(
                timed([*peer, "--no-validate", "--output-file", str(work / "peer-nv.cdx.json")])
            )
            runs["sovscan"].append(
                timed(
                    [
                        *sovscan,
                        "scan",
                        str(work / "project"),
                        "--python",
                        str(target),
                        "--offline",
                        "--no-cache",
                        "-q",
                        "-o",
                        str(work / "sovscan.cdx.json"),
                    ]
                )
            )
        theirs = packages(work / "peer.cdx.json")
        ours = packages(work / "sovscan.cdx.json")
    if theirs != ours:
        print(f"package sets differ: only cyclonedx-py {sorted(theirs - ours)[:10]}, ", end="")
        print(f"only sovscan {sorted(ours - theirs)[:10]}")
        return 1
    ours_median = statistics.median(runs["sovscan"])
    print(f"environment: {target} ({len(ours)} distributions, identical in both BOMs)")
    print(f"{'tool':<28} {'median s':>9} {'fastest s':>10} {'sovscan ratio':>14}")
    for tool, times in runs.items():
        median = statistics.median(times)
        print(f"{tool:<28} {median:>9.2f} {min(times):>10.2f} {ours_median / median:>14.2f}")
    print("sovscan always validates its BOM against the schema (cyclonedx-py does by default).")
    return 0


def ensure_bench_venv(venv: Path) -> Path:
    """The bench venv's cyclonedx-py, installing cyclonedx-bom into it the first time."""
    tool = venv / "bin" / "cyclonedx-py"
    if not tool.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", CYCLONEDX_BOM],
            check=True,
        )
    return tool


def timed(command: list[str]) -> float:
    """Wall seconds of one run; a failing run stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in {0, 3}:  # sovscan: 3 is an UNKNOWN verdict, not a failure
        sys.exit(f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def packages(bom_path: Path) -> set[tuple[str, str]]:
    """(canonical name, version) of every pypi library in a CycloneDX JSON BOM."""
    from packaging.utils import canonicalize_name

    bom = json.loads(bom_path.read_text(encoding="utf-8"))
    found: set[tuple[str, str]] = set()
    for component in bom.get("components", []):
        purl = component.get("purl", "")
        if component.get("type") == "library" and purl.startswith("pkg:pypi/"):
            found.add((str(canonicalize_name(component["name"])), component.get("version", "")))
    return found


if __name__ == "__main__":
    raise SystemExit(main())
