"""Timing helpers shared by the benchmarks: one child process, its wall time and peak memory."""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    """One finished child: wall seconds, CPU seconds (user + sys) and peak resident MB."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int


#: Starts the measured command from a small process of its own: Linux counts the memory high-
#: water mark of the process that forks into a child's peak RSS, and a benchmark's parent can be
#: large (it generated the inputs). Writes "wall user sys maxrss_kb" to the file descriptor in
#: argv[1] and exits with the command's code.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
os.write(int(sys.argv[1]), f"{wall} {usage.ru_utime} {usage.ru_stime} {usage.ru_maxrss}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    check: bool = True,
) -> Run:
    """Run ``command`` to its end; its own rusage (``wait4``, in a small launcher process)
    gives CPU time and peak RSS, the launcher's clock the wall time."""
    read_end, write_end = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-S", "-c", _LAUNCHER, str(write_end), *command],
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    error_text = child.stderr.read() if child.stderr else b""
    returncode = child.wait()
    with os.fdopen(read_end, "rb") as report:
        figures = report.read().split()
    if child.stderr:
        child.stderr.close()
    if check and (returncode != 0 or len(figures) != 4):
        sys.stderr.write(error_text.decode(errors="replace"))
        raise SystemExit(f"exit {returncode}: {shlex.join(command)}")
    if len(figures) != 4:  # the command could not be started at all
        return Run(0.0, 0.0, 0.0, returncode)
    wall, user, system, maxrss_kb = map(float, figures)
    return Run(wall, user + system, maxrss_kb / 1024, returncode)


def sovscan_command(spec: str | None) -> list[str]:
    """The command that starts sovscan: ``spec`` split like a shell would, else the package
    installed in this interpreter (``make dev`` installs this checkout). Benchmarks run it
    outside the checkout, so that ``PYTHONPATH`` in ``spec`` can point at another one."""
    if spec:
        return shlex.split(spec)
    script = Path(sys.executable).with_name("sovscan")  # what a user runs
    return [str(script)] if script.exists() else [sys.executable, "-m", "scanner"]


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def print_runs(runs: Mapping[str, Sequence[Run]], baseline: str, *, digits: int = 2) -> None:
    """One row per contender: median and fastest wall time, both as a ratio to ``baseline``'s,
    and the peak resident memory."""
    base = [r.wall_s for r in runs[baseline]]
    width = max(len(name) for name in runs) + 2
    header = ("", "median s", "ratio", "fastest s", "ratio", "peak MB")
    print(f"{header[0]:<{width}}" + "{:>9} {:>6} {:>10} {:>6} {:>8}".format(*header[1:]))
    for name, done in runs.items():
        walls = [r.wall_s for r in done]
        print(
            f"{name:<{width}}{median(walls):>9.{digits}f} {median(walls) / median(base):>6.3f}"
            f" {min(walls):>10.{digits}f} {min(walls) / min(base):>6.3f}"
            f" {max(r.peak_mb for r in done):>8.0f}"
        )
