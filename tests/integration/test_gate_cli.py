"""The CLI as a CI gate, through the real process: exit codes, signals, permissions, stderr.

Every test runs ``python -m scanner`` in a subprocess, the way a pipeline runs ``sovscan``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner.core.properties import PropertyName
from tests.conftest import EXAMPLES

#: Seconds a scan of the examples may take in a slow CI.
TIMEOUT = 120


def sovscan(
    *args: str,
    cwd: Path,
    umask: int | None = None,
    drop_privileges: bool = False,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOVSCAN_CACHE_DIR": str(cwd / ".cache"), **(extra_env or {})}
    env.pop("SOURCE_DATE_EPOCH", None)
    command: list[str] = [sys.executable, "-m", "scanner", *args]
    if drop_privileges:
        command = [*_unprivileged(), *command]

    def prepare() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=prepare,
        check=False,
    )


def _unprivileged() -> Sequence[str]:
    """A prefix that makes a root process subject to file permissions (none when not root)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    caps = "-dac_override,-dac_read_search"
    return (setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "ru-chat-lora", tmp_path / "ru-chat-lora")
    return tmp_path


def test_exit_codes_of_the_verdicts(work: Path) -> None:
    assert sovscan("scan", "ru-chat-lora", "--offline", cwd=work).returncode == 0
    failing = sovscan("scan", "ru-chat-lora", "--offline", "--policy", "sovereign", cwd=work)
    assert failing.returncode == 1
    (work / "plain").mkdir()
    (work / "plain" / "config.json").write_text('{"model_type": "bert"}')
    unknown = sovscan("scan", "plain", "--offline", "--policy", "national", cwd=work)
    assert unknown.returncode == 3, unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("scan", "missing"), "missing: no such file or folder"),
        (("scan", ""), "'': an empty target"),
        (("scan", "empty"), "empty: nothing to scan: the folder holds no files"),
        (("scan", "note.txt"), "note.txt: nothing to scan: not a model file"),
        (("scan", "https://example.com/x/y"), "not a Hugging Face URL"),
        (
            ("scan", "ru-chat-lora", "empty", "--name", "acme/model"),
            "--name names one model: give it with a single target",
        ),
        (("scan", "ru-chat-lora", "--policy", "soverign"), "not a built-in tier"),
        (("scan", "ru-chat-lora", "--deny", "RU"), "a jurisdiction cannot deny itself"),
        (("scan", "ru-chat-lora", "--accept", "missing.yaml"), "missing.yaml: cannot read"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    work: Path, args: tuple[str, ...], message: str
) -> None:
    (work / "empty").mkdir()
    (work / "note.txt").write_text("hello\n")
    result = sovscan(*args, "--offline", cwd=work)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_hub_target_missing_from_the_offline_cache_exits_4(work: Path) -> None:
    result = sovscan("scan", "hf:acme/model", "--offline", cwd=work)
    assert result.returncode == 4, result.stderr
    assert "hf:acme/model" in result.stderr
    assert "nothing to report" in result.stderr


def test_with_outputs_a_failing_gate_still_says_why_on_stderr(work: Path) -> None:
    args = ("scan", "ru-chat-lora", "--offline", "--policy", "national", "-o", "bom.cdx.json")
    result = sovscan(*args, cwd=work)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("sovscan: national: FAIL — ")
    assert line.endswith("finding(s) to act on; see bom.cdx.json)")
    quiet = sovscan(*args, "-q", cwd=work)
    assert (quiet.returncode, quiet.stderr) == (1, "")


def test_dangerous_code_is_named_first_on_stderr(work: Path) -> None:
    # PROTO 2, GLOBAL posix system, 'id', TUPLE1, REDUCE, STOP: written, never loaded.
    (work / "ru-chat-lora" / "pytorch_model.bin").write_bytes(
        b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."
    )
    result = sovscan(
        "scan", "ru-chat-lora", "--offline", "--policy", "adversary", "-o", "r.sarif", cwd=work
    )
    assert result.returncode == 1
    first, second = result.stderr.splitlines()
    assert first.startswith("sovscan: DANGEROUS pytorch_model.bin: loading it runs dangerous code")
    assert "posix.system" in first
    assert second.startswith("sovscan: adversary: FAIL — 1 file that runs dangerous code")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o027, 0o640)])
def test_output_files_honour_the_umask(work: Path, umask: int, mode: int) -> None:
    result = sovscan(
        "scan",
        "ru-chat-lora",
        "--offline",
        "-o",
        "bom.cdx.json",
        "-o",
        "r.md",
        cwd=work,
        umask=umask,
    )
    assert result.returncode == 0, result.stderr
    for name in ("bom.cdx.json", "r.md"):
        assert stat.S_IMODE((work / name).stat().st_mode) == mode


def test_an_unreadable_sub_folder_is_an_issue_not_an_internal_error(work: Path) -> None:
    secret = work / "ru-chat-lora" / "secret"
    secret.mkdir()
    (secret / "weights.bin").write_bytes(b"\x80\x02N.")
    secret.chmod(0)
    try:
        result = sovscan(
            "scan",
            "ru-chat-lora",
            "--offline",
            "-o",
            "bom.cdx.json",
            cwd=work,
            drop_privileges=True,
        )
    finally:
        secret.chmod(0o755)
    assert result.returncode == 0, result.stderr
    bom = json.loads((work / "bom.cdx.json").read_text())
    issues = [p["value"] for p in bom["metadata"]["properties"] if p["name"] == PropertyName.ISSUE]
    assert "[medium] ru-chat-lora/secret: cannot list folder: Permission denied" in issues
    verdicts = {
        p["name"]: p["value"]
        for p in bom["metadata"]["properties"]
        if p["name"].startswith("sovscan:verdict:")
    }
    assert "PASS" not in verdicts.values()  # what the folder holds is unknown


def test_an_unreadable_target_exits_2(work: Path) -> None:
    target = work / "ru-chat-lora"
    target.chmod(0)
    try:
        result = sovscan("scan", "ru-chat-lora", "--offline", cwd=work, drop_privileges=True)
    finally:
        target.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert "ru-chat-lora: cannot read: Permission denied" in result.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_scan_exits_with_the_signal_and_writes_nothing(
    work: Path, signum: signal.Signals, code: int
) -> None:
    model = work / "ru-chat-lora"
    with (model / "model.safetensors").open("wb") as handle:
        handle.truncate(16 * 1024**3)  # sparse: costs no disk, takes seconds to hash
    out = work / "out"
    env = {**os.environ, "SOVSCAN_CACHE_DIR": str(work / ".cache")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner",
            "scan",
            str(model),
            "--offline",
            "--no-cache",
            "-j",
            "1",
            "-o",
            str(out / "bom.cdx.json"),
            "-o",
            str(out / "r.sarif"),
        ],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    assert process.poll() is None, "the scan ended before it could be interrupted"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == code, stderr
    assert "no output was written" in stderr
    assert "Traceback" not in stderr
    assert not out.exists() or list(out.iterdir()) == []
