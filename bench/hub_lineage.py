"""Benchmark Hub lineage resolution against the loopback fake Hub with per-request latency.

Usage: python bench/hub_lineage.py [--latency 0.05]

For each fake world (a finetune chain of 1, 3 and 6 hops, an 8-parent merge) it times:

- (a) the entry repo's scan and its lineage resolution in-process, with one worker and with
  the default concurrency (``scanner.sources.lineage_walk.MAX_WORKERS``; no CLI flag sets it);
- (b) the real CLI (``sovscan scan hf:… -q``) three times on one cache folder: cold, warm
  (cached, online) and ``--offline``.

Each row gives the repos resolved, the HTTP requests the fake Hub saw, the bytes it sent and the
wall time. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from click.testing import CliRunner  # noqa: E402

from scanner.cli import cli  # noqa: E402
from scanner.resolve.hub.client import HubClient  # noqa: E402
from scanner.resolve.hub.types import HubProblem  # noqa: E402
from scanner.sources.hf_repo import scan_hub_repo  # noqa: E402
from scanner.sources.lineage_walk import MAX_WORKERS, resolve_lineage  # noqa: E402
from tests.fakes import worlds  # noqa: E402
from tests.fakes.hub import FakeHub, World  # noqa: E402

MERGE_PARENTS = 8
WORLDS: tuple[tuple[str, Callable[[], World]], ...] = (
    ("chain(1)", lambda: worlds.chain(1)),
    ("chain(3)", lambda: worlds.chain(3)),
    ("chain(6)", lambda: worlds.chain(6)),
    (f"merge({MERGE_PARENTS})", lambda: worlds.merge(MERGE_PARENTS)),
)
#: The CLI runs, in order, on one cache folder: cold, warm, then without network.
CLI_RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli cold", ()),
    ("cli cached", ()),
    ("cli --offline", ("--offline",)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One timed run."""

    world: str
    run: str
    repos: int
    requests: int
    bytes_sent: int
    wall_s: float


def in_process(fake: FakeHub, world: World, workers: int, cache_dir: Path) -> tuple[int, float]:
    """Scan the entry and resolve its lineage as the pipeline does; (inventories, seconds)."""
    assert world.entry is not None  # noqa: S101
    start = time.perf_counter()
    client = HubClient(endpoint=fake.url, token=False, cache_dir=cache_dir, offline=False)
    info = client.repo_info(world.entry)
    if isinstance(info, HubProblem):
        raise SystemExit(f"{world.entry}: {info.message}")
    entry = scan_hub_repo(client, info, client.endpoint)
    found = resolve_lineage(client, [entry], hub=client.endpoint, workers=workers)
    return len(found), time.perf_counter() - start


def cli_run(fake: FakeHub, world: World, cache_dir: Path, out: Path, *extra: str) -> float:
    """The real CLI, in-process; seconds. Stops the benchmark if the scan fails."""
    args = ["scan", "-q", f"hf:{world.entry}", "--hub-endpoint", fake.url, "-o", str(out), *extra]
    start = time.perf_counter()
    result = CliRunner(env={"SOVSCAN_CACHE_DIR": str(cache_dir)}).invoke(cli, args)
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"sovscan {' '.join(args)} exited {result.exit_code}:\n{result.output}")
    return elapsed


def resolved_repos(bom_path: Path) -> int:
    """Models and datasets pinned to a commit in the BOM (a purl with ``@commit``)."""
    bom = json.loads(bom_path.read_text())
    components = [bom["metadata"]["component"], *bom["components"]]
    return sum(
        1
        for c in components
        if c["type"] in {"machine-learning-model", "data"} and "@" in c.get("purl", "")
    )


def measured(fake: FakeHub, world: str, run: str, repos: int, wall_s: float) -> Row:
    """A row from the fake Hub's request log since its last reset."""
    return Row(
        world=world,
        run=run,
        repos=repos,
        requests=len(fake.requests),
        bytes_sent=fake.bytes_sent(),
        wall_s=wall_s,
    )


def bench_world(name: str, make: Callable[[], World], latency_s: float, tmp: Path) -> list[Row]:
    """Every run of one world, on its own fake Hub."""
    rows: list[Row] = []
    world = make()
    world.latency_s = latency_s
    with FakeHub(world) as fake:
        for label, workers in (("workers=1", 1), (f"workers={MAX_WORKERS}", MAX_WORKERS)):
            fake.reset_log()
            repos, wall = in_process(fake, world, workers, tmp / f"{name}-{workers}")
            rows.append(measured(fake, name, label, repos, wall))
        cache = tmp / f"{name}-cli"
        for label, extra in CLI_RUNS:
            fake.reset_log()
            out = tmp / f"{name}-{label.replace(' ', '')}.cdx.json"
            wall = cli_run(fake, world, cache, out, *extra)
            rows.append(measured(fake, name, label, resolved_repos(out), wall))
    return rows


def print_table(rows: list[Row]) -> None:
    """Aligned columns, text left and numbers right."""
    header = ("world", "run", "repos", "requests", "bytes", "wall s")
    lines = [header] + [
        (r.world, r.run, str(r.repos), str(r.requests), f"{r.bytes_sent:,}", f"{r.wall_s:.2f}")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sovscan-bench-hub-") as folder:
        for name, make in WORLDS:
            rows += bench_world(name, make, args.latency, Path(folder))
    print(
        f"fake Hub latency {args.latency * 1000:.0f} ms per request; repos = inventories "
        "(in-process) or models/datasets pinned to a commit in the BOM (CLI)"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
