"""The fixed cost of a scan: the smallest scan and a cached rescan against `pip --version`.

Usage: python bench/startup.py [--repeat 10] [--model-gb 2] [--sovscan "CMD"] [--dir DIR]

Both contenders run as fresh processes of this interpreter, interleaved, ``--repeat`` times:

- ``pip --version``: ``python -m pip --version``, the baseline (pip's own start-up);
- ``smallest scan``: ``sovscan scan DIR --offline -q -o bom.cdx.json`` of a folder holding one
  ``config.json``;
- ``cached rescan``: the same of a folder with a ``--model-gb`` safetensors file, a config and a
  tokenizer config, after one run filled the hash cache (every digest comes from it);
- ``validation``: in a fresh process each, the schema validation of the smallest scan's BOM
  with the library's validator (jsonschema) and with sovscan's compiled one, loaded from its
  disk cache: the time from import to verdict.

Every run uses one cache folder (``SOVSCAN_CACHE_DIR``), filled by two untimed runs, as a
user's is after the first scans (a small BOM's schema validator is compiled on the second).
The package is byte-compiled first (``compileall``), as ``pip install`` does. ``--sovscan``
is the command that starts sovscan (default: this checkout's ``python -m scanner``).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import REPO_ROOT, Run, median, print_runs, run, sovscan_command

VALIDATE = """
import json, sys, time
start = time.perf_counter()
doc = json.loads(open(sys.argv[1]).read())
if sys.argv[2] == "library":
    from scanner.sbom.cdx_validation import _library_problems, _take_urls
    stripped = json.loads(json.dumps(doc))
    problems, shapes = _take_urls(stripped)
    problems += _library_problems(stripped, shapes, doc["specVersion"])
else:
    from pathlib import Path
    from scanner.sbom.cdx_validation import json_schema_problems
    problems = json_schema_problems(doc, doc["specVersion"], Path(sys.argv[3]))
assert problems == [], problems
print(time.perf_counter() - start)
"""


def write_model(folder: Path, size_gb: float) -> None:
    """A safetensors file of ``size_gb`` (one tensor, zero-filled, sparse), config and tokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "model.safetensors"
    values = int(size_gb * 2**30) // 2
    header = json.dumps(
        {"w": {"dtype": "F16", "shape": [values], "data_offsets": [0, 2 * values]}}
    ).encode()
    if not weights.exists():
        with weights.open("wb") as handle:
            handle.write(len(header).to_bytes(8, "little") + header)
            handle.truncate(8 + len(header) + 2 * values)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 2048}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--model-gb", type=float, default=2.0)
    parser.add_argument("--sovscan", help="command that starts sovscan (default: this checkout)")
    parser.add_argument("--dir", type=Path, help="keep the inputs and the cache here")
    args = parser.parse_args()
    compileall.compile_dir(REPO_ROOT / "scanner", quiet=1)
    sovscan = sovscan_command(args.sovscan)
    with tempfile.TemporaryDirectory(prefix="sovscan-startup-") as scratch:
        work = args.dir or Path(scratch)
        small, model, cache = work / "small", work / "model", work / "cache"
        small.mkdir(parents=True, exist_ok=True)
        (small / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
        write_model(model, args.model_gb)
        env = {**os.environ, "SOVSCAN_CACHE_DIR": str(cache)}
        bom = work / "small.cdx.json"
        commands = {
            "pip --version": [sys.executable, "-m", "pip", "--version"],
            "smallest scan": [*sovscan, "scan", str(small), "--offline", "-q", "-o", str(bom)],
            "cached rescan": [
                *sovscan, "scan", str(model), "--offline", "-q", "-o", str(work / "model.cdx.json"),
            ],
        }  # fmt: skip
        for _ in range(2):  # fill the caches, untimed (a small BOM compiles its validator on
            for name, command in commands.items():  # the second run: cdx_validation.py)
                run(command, cwd=work, env=env, check=name != "cached rescan")
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                runs[name].append(run(command, cwd=work, env=env, check=False))
        print_runs(runs, "pip --version", digits=3)
        print()
        for mode in ("library", "compiled"):
            took = [
                float(
                    _output(
                        [sys.executable, "-c", VALIDATE, str(bom), mode, str(cache / "schemas")]
                    )
                )
                for _ in range(max(3, args.repeat // 2))
            ]
            print(f"validate the smallest BOM, {mode:<9} {median(took) * 1000:7.1f} ms (median)")
    return 0


def _output(command: list[str]) -> str:
    return subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout


if __name__ == "__main__":
    raise SystemExit(main())
