"""End to end: `sovscan scan DIR --no-cache -o bom.cdx.json` against parallel `openssl dgst`.

Usage: python bench/hash_end_to_end.py [--sizes 1G,1G] [--repeat 3] [--jobs N] [--dir DIR]
                                       [--sovscan "CMD"]

Writes one safetensors file per size in ``--sizes`` (a valid header, then random bytes: real
weights, as far as every reader is concerned) unless ``--dir`` already holds them, then times,
``--repeat`` times each, interleaved, each run preceded by reading every file once (warm page
cache for both, so the comparison is CPU against CPU):

- ``openssl dgst -sha256`` over the files, ``--jobs`` processes at a time (``xargs -P``);
- the whole scan, as a fresh process: walk, headers, load analysis, hashing, attribution,
  policy, and the validated CycloneDX BOM (no hash cache).

Every file's SHA-256 in the BOM must equal openssl's, or the script stops. Prints the median
and fastest wall times, sovscan's ratio to openssl (target 1.1) and its peak resident memory
(target 150 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hash_throughput import warm_up
from measure import Run, print_runs, run, sovscan_command

MIB = 1024 * 1024
WRITE_CHUNK = 16 * MIB


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def write_weights(path: Path, size: int) -> None:
    """A safetensors file of exactly ``size`` bytes: one U8 tensor of random bytes."""
    if path.is_file() and path.stat().st_size == size:
        return
    header = b""
    for _ in range(3):  # the header's length depends on the data size written in it
        data = size - 8 - len(header)
        header = json.dumps(
            {"weight": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}}
        ).encode()
        header += b" " * (-len(header) % 8)
    print(f"writing {path.name} ({size / MIB:.0f} MiB)", file=sys.stderr)
    with path.open("wb") as stream:
        stream.write(len(header).to_bytes(8, "little") + header)
        left = size - 8 - len(header)
        while left:
            chunk = os.urandom(min(WRITE_CHUNK, left))
            stream.write(chunk)
            left -= len(chunk)


def openssl_digests(paths: list[Path]) -> dict[str, str]:
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-r", *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
    )
    digests = {}
    for line in done.stdout.splitlines():
        digest, name = line.split(" ", 1)
        digests[Path(name.lstrip("*")).name] = digest
    return digests


def bom_digests(bom: Path) -> dict[str, str]:
    doc = json.loads(bom.read_text())
    found = {}
    for component in doc.get("components", []):
        for digest in component.get("hashes", []):
            if component.get("type") == "file" and digest["alg"] == "SHA-256":
                found[component["name"]] = digest["content"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1G,1G")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=min(8, len(os.sched_getaffinity(0))))
    parser.add_argument("--dir", type=Path, help="reuse or create the weights here (kept)")
    parser.add_argument("--sovscan", help="command that starts sovscan (default: this checkout)")
    args = parser.parse_args()
    sizes = [parse_size(part) for part in args.sizes.split(",")]
    sovscan = sovscan_command(args.sovscan)
    with tempfile.TemporaryDirectory(prefix="sovscan-hash-") as scratch:
        work = Path(scratch)
        folder = args.dir or work / "model"
        folder.mkdir(parents=True, exist_ok=True)
        paths = [
            folder / f"model-{index + 1:05d}-of-{len(sizes):05d}.safetensors"
            for index in range(len(sizes))
        ]
        for path, size in zip(paths, sizes, strict=True):
            write_weights(path, size)
        env = {**os.environ, "SOVSCAN_CACHE_DIR": str(work / "cache")}
        bom = work / "bom.cdx.json"
        openssl = [
            "sh", "-c", f'printf "%s\\0" "$@" | xargs -0 -n 1 -P {args.jobs} openssl dgst -sha256',
            "sh", *map(str, paths),
        ]  # fmt: skip
        scan = [*sovscan, "scan", str(folder), "--no-cache", "--offline", "-q", "-o", str(bom)]
        for _ in range(2):  # parsed data and the validator (compiled on the second), untimed
            run(scan, cwd=work, env=env, check=False)
        runs: dict[str, list[Run]] = {"openssl": [], "sovscan": []}
        for _ in range(args.repeat):
            warm_up(paths)
            runs["openssl"].append(run(openssl, cwd=work))
            warm_up(paths)
            runs["sovscan"].append(run(scan, cwd=work, env=env, check=False))
        expected = openssl_digests(paths)
        if bom_digests(bom) != expected:
            print("the BOM's digests differ from openssl's")
            return 1
    total = sum(sizes)
    print(f"{len(sizes)} files, {total / 2**30:.2f} GiB, jobs={args.jobs}, page cache warm")
    print_runs(runs, "openssl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
