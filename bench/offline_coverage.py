"""What an offline scan knows of popular Python packages: stewards and licences.

Usage: python bench/offline_coverage.py [--table ../shared/reference/pypi-top2000.tsv]
                                        [--top 1000] [--corpus ../shared/corpus]
                                        [--sovscan "CMD"]

Writes a ``requirements.txt`` of the first ``--top`` rows of the download ranking
(``name==version``, the bare name where the table has no version) and scans it with
``sovscan scan DIR --offline --no-cache``; then each lockfile and requirements file of the
corpus's Python projects. For every library component of each BOM it counts a known steward
(``sovscan:origin:steward`` other than ``unknown``), a known country, and a licence. No
network: what the knowledge base and the files say, nothing else.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import REPO_ROOT, sovscan_command

#: The corpus's Python dependency files, relative to ``corpus/python``.
CORPUS_FILES = (
    "fickling/uv.lock",
    "modelscan/poetry.lock",
    "DMalakhov1-PROJECT_LORA/requirements.txt",
    "rupersonaagent-0.2.0/RAG_LLM_dialogue/requirements.txt",
)


def coverage(sovscan: list[str], folder: Path) -> tuple[int, int, int, int]:
    """(libraries, with a known steward, with a country, with a licence) of an offline scan."""
    bom = folder / "bom.cdx.json"
    subprocess.run(
        [*sovscan, "scan", str(folder), "--offline", "--no-cache", "-q", "-o", str(bom)],
        check=True,
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    doc = json.loads(bom.read_text())
    libraries = [c for c in doc.get("components", []) if c.get("type") == "library"]
    steward = country = licensed = 0
    for component in libraries:
        properties = {p["name"]: p["value"] for p in component.get("properties", [])}
        steward += properties.get("sovscan:origin:steward", "unknown") != "unknown"
        country += "sovscan:origin:country" in properties
        licensed += bool(component.get("licenses"))
    return len(libraries), steward, country, licensed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--table", type=Path, default=REPO_ROOT.parent / "shared/reference/pypi-top2000.tsv"
    )
    parser.add_argument("--top", type=int, default=1000)
    parser.add_argument("--corpus", type=Path, default=REPO_ROOT.parent / "shared/corpus")
    parser.add_argument("--sovscan", help="command that starts sovscan (default: this checkout)")
    args = parser.parse_args()
    sovscan = sovscan_command(args.sovscan)
    print(f"{'input':<58}{'libraries':>10}{'steward':>9}{'country':>9}{'licence':>9}")
    with tempfile.TemporaryDirectory() as work:
        rows = list(csv.DictReader(args.table.open(encoding="utf-8"), delimiter="\t"))
        folder = Path(work) / "top"
        folder.mkdir()
        lines = [
            f"{row['name']}=={row['version']}" if row.get("version") else row["name"]
            for row in rows[: args.top]
        ]
        (folder / "requirements.txt").write_text("\n".join(lines) + "\n")
        report(f"top {args.top} of {args.table.name}", coverage(sovscan, folder))
        for relative in CORPUS_FILES:
            source = args.corpus / "python" / relative
            if not source.is_file():
                continue
            folder = Path(work) / relative.replace("/", "_")
            folder.mkdir()
            shutil.copy(source, folder / source.name)
            report(relative, coverage(sovscan, folder))
    return 0


def report(label: str, counts: tuple[int, int, int, int]) -> None:
    total, steward, country, licensed = counts
    print(f"{label:<58}{total:>10}{steward:>9}{country:>9}{licensed:>9}")


if __name__ == "__main__":
    sys.exit(main())
