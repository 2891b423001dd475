"""Benchmark `sovscan scan` on 2,000 pinned requirements against `cyclonedx-py requirements`.

Usage: python bench/requirements_scan.py [--table ../shared/reference/pypi-top2000.tsv]
                                         [--bench-venv DIR] [--repeat 5] [--sovscan "CMD"]

Writes a ``requirements.txt`` with one line per row of the table (a public download ranking:
rank, name, version), ``name==version`` where the table has a version and the bare name where
it has none, into a folder of its own. Then runs, as fresh processes, interleaved, ``--repeat``
times each: ``cyclonedx-py requirements FILE`` (its default validation on) and ``sovscan scan
FOLDER --offline -o bom.cdx.json`` (sovscan always validates; it also attributes every package
and evaluates the policies). The first run creates a bench venv with cyclonedx-bom from the
package index (see env_scan.py). Both BOMs must list the same (name, version) pairs, or the
script stops. Prints the median and fastest wall times and sovscan's ratio; the target is 0.5.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env_scan import DEFAULT_BENCH_VENV, ensure_bench_venv, packages
from measure import REPO_ROOT, Run, print_runs, run, sovscan_command

DEFAULT_TABLE = REPO_ROOT.parent / "shared" / "reference" / "pypi-top2000.tsv"


def write_requirements(table: Path, folder: Path) -> tuple[Path, int, int]:
    """The requirements file, and how many lines are pinned and unpinned."""
    pinned = unpinned = 0
    lines = []
    with table.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name, version = row["name"].strip(), (row.get("version") or "").strip()
            if not name:
                continue
            if version:
                lines.append(f"{name}=={version}")
                pinned += 1
            else:
                lines.append(name)
                unpinned += 1
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "requirements.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, pinned, unpinned


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--bench-venv", type=Path, default=DEFAULT_BENCH_VENV)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sovscan", help="command that starts sovscan (default: this checkout)")
    args = parser.parse_args()
    peer = ensure_bench_venv(args.bench_venv)
    sovscan = sovscan_command(args.sovscan)
    with tempfile.TemporaryDirectory(prefix="sovscan-requirements-") as scratch:
        work = Path(scratch)
        requirements, pinned, unpinned = write_requirements(args.table, work / "project")
        env = {**os.environ, "SOVSCAN_CACHE_DIR": str(work / "cache")}
        theirs_bom, ours_bom = work / "peer.cdx.json", work / "sovscan.cdx.json"
        commands = {
            "cyclonedx-py requirements": [
                str(peer), "requirements", str(requirements), "--output-format", "JSON",
                "--output-file", str(theirs_bom),
            ],
            "sovscan scan": [
                *sovscan, "scan", str(requirements.parent), "--offline", "-q", "-o", str(ours_bom),
            ],
        }  # fmt: skip
        run(commands["sovscan scan"], cwd=work, env=env, check=False)  # fills the parsed-data cache
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                finished = run(command, cwd=work, env=env, check=False)
                if finished.returncode not in {0, 3}:  # sovscan: 3 is UNKNOWN, not a failure
                    sys.exit(f"{name} failed with exit {finished.returncode}")
                runs[name].append(finished)
        theirs, ours = packages(theirs_bom), packages(ours_bom)
    if theirs != ours:
        print(f"package sets differ: only cyclonedx-py {sorted(theirs - ours)[:10]}, ", end="")
        print(f"only sovscan {sorted(ours - theirs)[:10]}")
        return 1
    print(
        f"{pinned} pinned and {unpinned} unpinned requirements; {len(ours)} packages in both BOMs"
    )
    print_runs(runs, "cyclonedx-py requirements")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
