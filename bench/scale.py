"""How sovscan's time and memory grow with the size of what it scans.

Usage: python bench/scale.py [--case files|hf-cache|lock|all] [--files 100000]
                             [--snapshots 500] [--packages 5000] [--repeat 1]
                             [--sovscan "CMD"] [--dir DIR]

Cases, each a fresh process timed from start to exit with its peak resident memory:

- ``files``: a folder of ``--files`` small files (1-4 KiB of random bytes, 100 per subfolder),
  scanned with ``sovscan scan DIR --offline --no-cache -q -o bom.cdx.json -o bom.cdx.xml``
  (a BOM with one component per file, written as JSON and XML). Baseline: a bare Python walk
  that hashes every file with SHA-256 and writes the list as JSON. The BOM must list every file.
- ``hf-cache``: a Hugging Face cache of ``--snapshots`` snapshots (5 per repo, a config.json
  and a small safetensors file each, blobs shared as the Hub's cache shares them), scanned as
  ``hf-cache:DIR``. Baseline: huggingface_hub's own ``scan_cache_dir`` dumped as JSON.
- ``lock``: a ``uv.lock`` of ``--packages`` packages (each with a wheel and its hash), scanned
  offline. Baseline: ``tomllib`` reading the lock and writing its packages as JSON.

The baseline runs once, untimed, before the timed runs, so that both read from a warm page
cache. Every case also runs at a tenth of its size, so the per-item cost shows whether time grows
linearly. ``--sovscan`` is the command that starts sovscan (default: this checkout's
``python -m scanner``), e.g. another checkout's for a before/after comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Run, median, run, sovscan_command

BARE_WALK = """
import hashlib, json, os, sys
rows = []
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        path = os.path.join(folder, name)
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        rows.append({"path": path, "size": os.path.getsize(path), "sha256": digest})
with open(sys.argv[2], "w") as out:
    json.dump(rows, out)
"""

HF_SCAN = """
import json, sys
from huggingface_hub import scan_cache_dir
info = scan_cache_dir(sys.argv[1])
rows = [
    {"repo": repo.repo_id, "commit": rev.commit_hash,
     "files": [{"name": f.file_name, "blob": str(f.blob_path), "size": f.size_on_disk}
               for f in rev.files]}
    for repo in info.repos for rev in repo.revisions
]
with open(sys.argv[2], "w") as out:
    json.dump(rows, out)
"""

TOML_READ = """
import json, sys, tomllib
with open(sys.argv[1] + "/uv.lock", "rb") as handle:
    lock = tomllib.load(handle)
rows = [{"name": p["name"], "version": p["version"], "wheels": p.get("wheels", [])}
        for p in lock["package"]]
with open(sys.argv[2], "w") as out:
    json.dump(rows, out)
"""


def make_files(root: Path, count: int) -> Path:
    """``count`` files of 1-4 KiB of random bytes, 100 per folder."""
    target = root / f"files-{count}"
    if target.is_dir():
        return target
    rng = random.Random(count)
    for index in range(count):
        folder = target / f"part{index // 100:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:06d}.bin").write_bytes(rng.randbytes(rng.randint(1024, 4096)))
    return target


def safetensors(values: int) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}
    ).encode()
    return len(header).to_bytes(8, "little") + header + b"\1" * (4 * values)


def make_hf_cache(root: Path, snapshots: int) -> Path:
    """A hub cache of ``snapshots`` snapshots, 5 per repo, laid out as huggingface_hub writes it."""
    target = root / f"hf-cache-{snapshots}"
    if target.is_dir():
        return target
    for snapshot in range(snapshots):
        repo = target / f"models--org{snapshot // 5:04d}--model"
        commit = hashlib.sha1(f"{snapshot}".encode(), usedforsecurity=False).hexdigest()
        config = {"model_type": "llama", "hidden_size": 64 + snapshot}
        files = {
            "config.json": json.dumps(config).encode(),
            "model.safetensors": safetensors(16 + snapshot % 5),
        }
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
        folder = repo / "snapshots" / commit
        folder.mkdir(parents=True)
        (repo / "blobs").mkdir(exist_ok=True)
        for name, data in files.items():
            if name.endswith(".safetensors"):
                blob = hashlib.sha256(data).hexdigest()
            else:
                git_blob = b"blob %d\0" % len(data) + data
                blob = hashlib.sha1(git_blob, usedforsecurity=False).hexdigest()
            (repo / "blobs" / blob).write_bytes(data)
            (folder / name).symlink_to(f"../../blobs/{blob}")
    return target


def make_lock(root: Path, packages: int) -> Path:
    """A folder with a ``uv.lock`` of ``packages`` packages, each with one wheel."""
    target = root / f"lock-{packages}"
    if target.is_dir():
        return target
    target.mkdir(parents=True)
    lines = ["version = 1", 'requires-python = ">=3.11"', ""]
    for index in range(packages):
        name = f"package-{index:05d}"
        digest = hashlib.sha256(name.encode()).hexdigest()
        lines += [
            "[[package]]",
            f'name = "{name}"',
            'version = "1.0.0"',
            'source = { registry = "https://pypi.org/simple" }',
            "wheels = [",
            f'    {{ url = "https://files.pythonhosted.org/packages/{name}-1.0.0-py3-none-any.whl",'
            f' hash = "sha256:{digest}", size = 1000 }},',
            "]",
            "",
        ]
    (target / "uv.lock").write_text("\n".join(lines))
    return target


def count_components(bom: Path) -> int:
    return len(json.loads(bom.read_text()).get("components", []))


def measure_case(
    label: str,
    sovscan: list[str],
    target: str,
    baseline: list[str],
    work: Path,
    repeat: int,
    extra_outputs: tuple[str, ...] = (),
) -> tuple[Run, Run, int]:
    """Median runs of sovscan and of the baseline (interleaved), and the BOM's component count."""
    ours: list[Run] = []
    theirs: list[Run] = []
    bom = work / f"{label}.cdx.json"
    outputs = ["-o", str(bom)]
    for suffix in extra_outputs:
        outputs += ["-o", str(work / f"{label}{suffix}")]
    run([*baseline, str(work / f"{label}.warm.json")])  # reads every file: page cache warm
    for _ in range(repeat):
        theirs.append(run([*baseline, str(work / f"{label}.baseline.json")]))
        command = [*sovscan, "scan", target, "--offline", "--no-cache", "-q", *outputs]
        ours.append(run(command, cwd=work))
    return pick(ours), pick(theirs), count_components(bom)


def pick(runs: list[Run]) -> Run:
    walls = [r.wall_s for r in runs]
    middle = median(walls)
    return min(runs, key=lambda r: abs(r.wall_s - middle))


def report(label: str, size: int, ours: Run, theirs: Run, components: int) -> None:
    print(
        f"{label:<10} {size:>8} {components:>11} {theirs.wall_s:>11.2f} {ours.wall_s:>10.2f}"
        f" {ours.wall_s / theirs.wall_s:>6.2f} {ours.peak_mb:>8.0f}"
        f" {1e3 * ours.wall_s / size:>10.3f}"
    )


CASES: dict[str, tuple[Callable[[Path, int], Path], str, str, tuple[str, ...]]] = {
    "files": (make_files, "{}", BARE_WALK, (".cdx.xml",)),
    "hf-cache": (make_hf_cache, "hf-cache:{}", HF_SCAN, ()),
    "lock": (make_lock, "{}", TOML_READ, ()),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--snapshots", type=int, default=500)
    parser.add_argument("--packages", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sovscan", help="command that starts sovscan (default: this checkout)")
    parser.add_argument("--dir", type=Path, help="keep the generated inputs here")
    args = parser.parse_args()
    sizes = {"files": args.files, "hf-cache": args.snapshots, "lock": args.packages}
    sovscan = sovscan_command(args.sovscan)
    cases = list(CASES) if args.case == "all" else [args.case]
    with tempfile.TemporaryDirectory(prefix="sovscan-scale-") as scratch:
        inputs = args.dir or Path(scratch) / "inputs"
        work = Path(scratch)
        print(f"sovscan: {' '.join(sovscan)}")
        print(
            f"{'case':<10} {'size':>8} {'components':>11} {'baseline s':>11} {'sovscan s':>10}"
            f" {'ratio':>6} {'peak MB':>8} {'ms / item':>10}"
        )
        for case in cases:
            make, target_form, baseline_code, extra = CASES[case]
            for size in (max(1, sizes[case] // 10), sizes[case]):
                target = make(inputs, size)
                baseline = [sys.executable, "-c", baseline_code, str(target)]
                ours, theirs, components = measure_case(
                    f"{case}-{size}", sovscan, target_form.format(target), baseline, work,
                    args.repeat, extra,
                )  # fmt: skip
                report(case, size, ours, theirs, components)
                if case == "files" and components < size:
                    print(f"  the BOM lists {components} components for {size} files")
                    return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
