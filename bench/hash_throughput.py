"""Benchmark sovscan's file hashing against `openssl dgst -sha256` on a few GB of fake weights.

Usage: python bench/hash_throughput.py [--size-gb 3] [--files 6] [--jobs N] [--repeat 3]
                                       [--buffers 256K,1M,4M] [--dir DIR] [--keep]

Nothing is dropped from the page cache: a warm-up read of every file before each timed run pulls
it in, so openssl and sovscan both hash from memory and compete on CPU alone (needs RAM >
--size-gb). Re-warming before every run matters where the kernel pages out idle memory (DAMON
pageout), which would otherwise leave a later run reading from disk. Wall times suffer from
neighbours on a shared machine; CPU seconds (user + sys of the child process tree) do much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
WRITE_CHUNK = 16 * MIB

# Runs in a fresh interpreter so its peak RSS is sovscan's alone. Prints one JSON line.
CHILD = """
import json, os, resource, sys, time
from pathlib import Path
from scanner.hashing.digest import HashRequest, hash_files
from scanner.hashing.digest_cache import HashCache

jobs, buffer_size, cache_dir, *paths = sys.argv[1:]
requests = [HashRequest(path=Path(p), size=os.lstat(p).st_size) for p in paths]
cache = HashCache.open(Path(cache_dir)) if cache_dir != "-" else None
start = time.perf_counter()
outcomes = hash_files(requests, jobs=int(jobs), cache=cache, progress=False,
                      buffer_size=int(buffer_size))
elapsed = time.perf_counter() - start
if cache is not None:
    cache.close()
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # VmHWM is this process's own peak; ru_maxrss also counts the parent's RSS at fork
    with open("/proc/self/status") as status:
        peak_kib = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({
    "peak_kib": peak_kib,
    "elapsed": elapsed,
    "digests": {str(o.path): o.sha256 for o in outcomes.values()},
    "errors": [o.error for o in outcomes.values() if o.error],
    "from_cache": sum(o.from_cache for o in outcomes.values()),
}))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildRun:
    wall_s: float
    cpu_s: float
    inner_s: float
    peak_rss_mb: float
    digests: dict[str, str]
    from_cache: int


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def human(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // 1024} KiB"


def shard_sizes(total: int, count: int) -> list[int]:
    # Sizes 1:2:…:count, so the pool sees one large shard and several smaller ones.
    weight = count * (count + 1) // 2
    sizes = [total * (index + 1) // weight + 12_345 * index for index in range(count)]
    return sizes


def prepare_files(directory: Path, sizes: list[int]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, size in enumerate(sizes):
        path = directory / f"model-{index + 1:05d}-of-{len(sizes):05d}.safetensors"
        if not (path.is_file() and path.stat().st_size == size):
            print(f"writing {path.name} ({size / MIB:.0f} MiB)", file=sys.stderr)
            with path.open("wb") as stream:
                left = size
                while left:
                    chunk = os.urandom(min(WRITE_CHUNK, left))
                    stream.write(chunk)
                    left -= len(chunk)
        paths.append(path)
    # Old mtimes, so the cache's racy-file check lets the cached run store them.
    old_ns = time.time_ns() - 3600 * 1_000_000_000
    for path in paths:
        os.utime(path, ns=(old_ns, old_ns))
    return paths


def warm_up(paths: list[Path]) -> None:
    buffer = bytearray(8 * MIB)
    for path in paths:
        with path.open("rb", buffering=0) as stream:
            while stream.readinto(buffer):
                pass


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_openssl(paths: list[Path], jobs: int) -> tuple[float, float, dict[str, str]]:
    # xargs -P: `jobs` openssl processes at a time, largest file first, like sovscan.
    ordered = sorted(paths, key=lambda path: path.stat().st_size, reverse=True)
    cpu_start, start = children_cpu_s(), time.perf_counter()
    result = subprocess.run(
        ["xargs", "-0", "-P", str(jobs), "-n", "1", "openssl", "dgst", "-sha256", "-r"],
        input=b"\0".join(str(path).encode() for path in ordered),
        capture_output=True,
        check=True,
    )
    wall, cpu = time.perf_counter() - start, children_cpu_s() - cpu_start
    digests = {}
    for line in result.stdout.decode().splitlines():
        digest, name = line.split(" ", 1)
        digests[name.lstrip("*")] = digest
    return wall, cpu, digests


def run_sovscan(paths: list[Path], *, jobs: int, buffer_size: int, cache_dir: str) -> ChildRun:
    with tempfile.TemporaryFile() as output:
        cpu_start, start = children_cpu_s(), time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(jobs), str(buffer_size), cache_dir]
            + [str(path) for path in paths],
            cwd=REPO_ROOT,
            stdout=output,
        )
        returncode = process.wait()
        wall, cpu = time.perf_counter() - start, children_cpu_s() - cpu_start
        if returncode != 0:
            raise SystemExit(f"sovscan child failed with exit code {returncode}")
        output.seek(0)
        report = json.loads(output.read())
    if report["errors"]:
        raise SystemExit(f"sovscan reported errors: {report['errors']}")
    return ChildRun(
        wall_s=wall,
        cpu_s=cpu,
        inner_s=report["elapsed"],
        peak_rss_mb=report["peak_kib"] / 1024,
        digests=report["digests"],
        from_cache=report["from_cache"],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    wall_s: float
    cpu_s: float


def median_wall(runs: list[ChildRun]) -> float:
    return statistics.median(run.wall_s for run in runs)


def measure_uncached(
    paths: list[Path], *, jobs: int, repeat: int, buffers: list[int]
) -> tuple[list[Timing], dict[int, list[ChildRun]]]:
    openssl_runs: list[Timing] = []
    sovscan_runs: dict[int, list[ChildRun]] = {size: [] for size in buffers}
    for _ in range(repeat):  # interleaved, so drift and neighbours hit every contender alike
        warm_up(paths)
        wall, cpu, expected = run_openssl(paths, jobs)
        openssl_runs.append(Timing(wall_s=wall, cpu_s=cpu))
        for size in buffers:
            warm_up(paths)
            run = run_sovscan(paths, jobs=jobs, buffer_size=size, cache_dir="-")
            if run.digests != expected:
                raise SystemExit("sovscan and openssl disagree on a digest")
            sovscan_runs[size].append(run)
    return openssl_runs, sovscan_runs


def measure_cached(
    paths: list[Path], *, jobs: int, repeat: int, buffer_size: int, cache_dir: Path
) -> list[ChildRun]:
    # The cached runs read no file data, so no warm-up: the cache's own pages are what counts.
    populate = run_sovscan(paths, jobs=jobs, buffer_size=buffer_size, cache_dir=str(cache_dir))
    cached = [
        run_sovscan(paths, jobs=jobs, buffer_size=buffer_size, cache_dir=str(cache_dir))
        for _ in range(repeat)
    ]
    if populate.from_cache != 0 or any(run.from_cache != len(paths) for run in cached):
        raise SystemExit("the cached rescan did not hit the cache for every file")
    return cached


def measure_end_to_end(
    data_dir: Path, paths: list[Path], *, jobs: int, cache_dir: Path
) -> tuple[float, float]:
    """Wall time of a whole `sovscan scan DIR -o bom.cdx.json`: no cache, then a cached rescan."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "scanner", "scan", str(data_dir), "-q", "-j", str(jobs),
        "--offline", "--cache-dir", str(cache_dir), "-o", str(cache_dir / "bom.cdx.json"),
    ]  # fmt: skip
    timings = []
    for extra in (["--no-cache"], [], []):  # cold; populate the cache; cached rescan
        warm_up(paths)
        start = time.perf_counter()
        subprocess.run([*command, *extra], cwd=REPO_ROOT, check=True)
        timings.append(time.perf_counter() - start)
    return timings[0], timings[2]


def report(
    *,
    total: int,
    files: int,
    jobs: int,
    repeat: int,
    openssl_runs: list[Timing],
    sovscan_runs: dict[int, list[ChildRun]],
    cached: list[ChildRun],
    best: int,
) -> None:
    openssl_wall = statistics.median(run.wall_s for run in openssl_runs)
    openssl_min = min(run.wall_s for run in openssl_runs)
    openssl_cpu = statistics.median(run.cpu_s for run in openssl_runs)
    print(
        f"\n{files} files, {total:,} bytes ({total / 1024**3:.2f} GiB), jobs={jobs}, "
        f"median of {repeat} runs, page cache warm for both"
    )
    print(
        f"openssl dgst -sha256 (xargs -P {jobs}): {openssl_wall:.2f} s wall "
        f"({total / openssl_wall / 1e9:.2f} GB/s; fastest {openssl_min:.2f} s), "
        f"{openssl_cpu:.2f} s CPU"
    )
    header = (
        "buffer",
        "wall s",
        "ratio",
        "fastest",
        "ratio",
        "in-proc s",
        "CPU s",
        "ratio",
        "RSS MB",
    )
    print("{:>8} {:>7} {:>6} {:>7} {:>6} {:>9} {:>6} {:>6} {:>7}".format(*header))
    for size, runs in sovscan_runs.items():
        wall = median_wall(runs)
        fastest = min(run.wall_s for run in runs)
        inner = statistics.median(run.inner_s for run in runs)
        cpu = statistics.median(run.cpu_s for run in runs)
        rss = max(run.peak_rss_mb for run in runs)
        mark = "  <- best median" if size == best else ""
        print(
            f"{human(size):>8} {wall:>7.2f} {wall / openssl_wall:>6.3f} {fastest:>7.2f} "
            f"{fastest / openssl_min:>6.3f} {inner:>9.2f} {cpu:>6.2f} {cpu / openssl_cpu:>6.3f} "
            f"{rss:>7.1f}{mark}"
        )
    print(
        f"cached rescan ({human(best)}): {median_wall(cached):.3f} s wall incl. interpreter "
        f"start, {statistics.median(run.inner_s for run in cached):.4f} s in hash_files, "
        f"peak RSS {max(run.peak_rss_mb for run in cached):.1f} MB"
    )
    print("targets: wall ratio <= 1.1, peak RSS < 150 MB")


def main() -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from scanner.hashing.digest import default_jobs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=3.0)
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--buffers", default="256K,1M,4M")
    parser.add_argument("--dir", type=Path, help="reuse or create the weights here (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary weights")
    args = parser.parse_args()
    buffers = [parse_size(text) for text in args.buffers.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="sovscan-bench-"))
    data_dir = args.dir or workdir / "weights"
    try:
        sizes = shard_sizes(int(args.size_gb * 1024**3), args.files)
        paths = prepare_files(data_dir, sizes)
        openssl_runs, sovscan_runs = measure_uncached(
            paths, jobs=args.jobs, repeat=args.repeat, buffers=buffers
        )
        best = min(buffers, key=lambda size: median_wall(sovscan_runs[size]))
        cached = measure_cached(
            paths, jobs=args.jobs, repeat=args.repeat, buffer_size=best, cache_dir=workdir / "cache"
        )
        cold, warm = measure_end_to_end(data_dir, paths, jobs=args.jobs, cache_dir=workdir / "e2e")
        report(
            total=sum(sizes),
            files=len(paths),
            jobs=args.jobs,
            repeat=args.repeat,
            openssl_runs=openssl_runs,
            sovscan_runs=sovscan_runs,
            cached=cached,
            best=best,
        )
        print(
            f"end to end `sovscan scan DIR -o bom.cdx.json`: {cold:.2f} s without cache, "
            f"{warm:.2f} s cached rescan"
        )
    finally:
        if args.dir is None and args.keep:
            shutil.rmtree(workdir / "cache", ignore_errors=True)
            print(f"kept: {data_dir}", file=sys.stderr)
        else:  # with --dir the temporary folder only holds the cache
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
