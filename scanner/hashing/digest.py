"""Streaming sha256 of many files at once: the scan's hot path (model folders of 100+ GB).

Each file is read once, front to back, into a fixed, page-aligned per-thread buffer
(``BUFFER_SIZE``), so memory stays at ``jobs * buffer`` whatever the file sizes. Files are hashed
in parallel across a thread pool (``hashlib`` and ``readinto`` release the GIL), largest first so
that one giant shard does not start last and finish alone.

Callers pass resolved, in-tree paths of regular files (the walker refuses symlinks that leave
the tree). This module is defensive all the same: it never follows a symlink in the last path
component (``lstat`` first, then ``O_NOFOLLOW``), never opens a FIFO or device found there
(``lstat`` says what the path is, ``O_NONBLOCK`` keeps a FIFO swapped in afterwards from
blocking the open, and ``fstat`` on the descriptor must say "regular file" before any read), and
reads at most the listed size plus one byte, so a file that keeps growing cannot stall a scan.

Caching: with a ``HashCache``, ``hash_files`` itself ``lstat``\\ s each path just before looking
it up, so the key always describes the file as it is now, never a stale listing; a file is
cached under its ``fstat`` only when that ``fstat`` was identical before and after reading.
"""

from __future__ import annotations

import errno
import hashlib
import io
import mmap
import os
import queue
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from scanner.core.progress import step

if TYPE_CHECKING:
    from scanner.hashing.digest_cache import HashCache

#: Bytes read per ``readinto``; see bench/hash_throughput.py for the measurement behind it.
BUFFER_SIZE: Final = 1024 * 1024
#: Upper bound of ``default_jobs``: past a few readers a disk is seek-bound, not CPU-bound.
MAX_DEFAULT_JOBS: Final = 8
#: How often the main thread refreshes the progress bar.
PROGRESS_INTERVAL_S: Final = 0.2
#: Cached results are written in batches of this many, so an interrupted scan keeps most work.
CACHE_BATCH: Final = 64
#: A worker hands its results over after this many files (or ``PROGRESS_INTERVAL_S``).
RESULT_BATCH: Final = 256
#: Files smaller than this (one read) are hashed by the first worker only: their cost is
#: Python's, under the GIL, and two threads taking turns at it ran 1.9x slower than one
#: (20,000 files of 1-4 KB, bench/scale.py); large files keep every worker busy.
SMALL_FILE_BYTES: Final = BUFFER_SIZE

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HashRequest:
    """One file to hash."""

    path: Path
    """A resolved, in-tree path of a regular file (see the module doc)."""
    size: int
    """Its size from the walker's ``lstat``; the file must still have it when read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HashOutcome:
    """The digest of one file, or why there is none."""

    path: Path
    sha256: str | None
    """Lowercase hex digest; None exactly when ``error`` is set."""
    size: int
    """Bytes hashed (the listed size when the file could not be hashed)."""
    from_cache: bool
    """True when the digest came from the cache and the file was not read."""
    error: str | None
    """What went wrong, for a person: "permission denied", "not a regular file (FIFO)", …"""


class _Cancelled(Exception):
    """The scan is being torn down (an exception in the main thread, e.g. Ctrl-C)."""


def default_jobs() -> int:
    """A sensible number of hashing threads: the usable CPUs, at most ``MAX_DEFAULT_JOBS``."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_JOBS, cpus))


def hash_files(
    requests: Sequence[HashRequest],
    *,
    jobs: int,
    cache: HashCache | None,
    progress: bool,
    buffer_size: int = BUFFER_SIZE,
) -> dict[Path, HashOutcome]:
    """sha256 every requested file once, ``jobs`` files at a time; never raises for a file.

    A file that cannot be hashed gets an outcome with ``error`` set. With ``cache``, unchanged
    files are not read and fresh digests are stored. With ``progress``, files and bytes hashed
    are shown on a stderr status line (``scanner.core.progress``: terminals only, and only once
    the step has run ``SHOW_AFTER_S``). ``buffer_size`` (bytes per read, per thread) is there
    for the benchmark and tests. Outcomes come back in request order, one per distinct path.
    Raises ValueError for ``jobs`` or ``buffer_size`` below 1.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if buffer_size < 1:
        raise ValueError(f"buffer_size must be at least 1, not {buffer_size}")
    unique = {request.path: request for request in requests}
    outcomes: dict[Path, HashOutcome] = {}
    to_read: list[HashRequest] = []
    for request in unique.values():
        cached = _cached_outcome(request, cache)
        if cached is None:
            to_read.append(request)
        else:
            outcomes[request.path] = cached
    to_read.sort(key=lambda request: request.size, reverse=True)
    _hash_in_pool(to_read, outcomes, jobs=jobs, cache=cache, progress=progress, size=buffer_size)
    # Same order as the requests, whatever order the threads finished in.
    return {path: outcomes[path] for path in unique}


def _cached_outcome(request: HashRequest, cache: HashCache | None) -> HashOutcome | None:
    if cache is None:
        return None
    try:
        st = os.lstat(request.path)
    except OSError:
        return None  # the reader reports the problem with the right message
    if not stat.S_ISREG(st.st_mode) or st.st_size != request.size:
        return None
    digest = cache.lookup(st)
    if digest is None:
        return None
    return HashOutcome(
        path=request.path, sha256=digest, size=st.st_size, from_cache=True, error=None
    )


def _hash_in_pool(
    requests: list[HashRequest],
    outcomes: dict[Path, HashOutcome],
    *,
    jobs: int,
    cache: HashCache | None,
    progress: bool,
    size: int,
) -> None:
    """Hash ``requests`` on ``jobs`` threads; linear in the number of files.

    Workers take requests from one queue (largest first) and put results on another, which the
    main thread drains, so the bookkeeping per file is constant however many files there are.
    """
    if not requests:
        return
    counter = _ByteCounter()
    cancel = threading.Event()
    buffers = _ThreadBuffers(size)
    to_store: list[tuple[os.stat_result, str]] = []
    total_bytes = sum(request.size for request in requests)
    # Large files go to every worker; small ones (after the large, in size order) to the first
    # only: see SMALL_FILE_BYTES.
    large: queue.SimpleQueue[HashRequest] = queue.SimpleQueue()
    work = _Chained(large, [r for r in requests if r.size < SMALL_FILE_BYTES])
    for request in requests:
        if request.size >= SMALL_FILE_BYTES:
            large.put(request)
    results: queue.SimpleQueue[_WorkerResult] = queue.SimpleQueue()
    workers = [
        threading.Thread(
            target=_worker,
            args=(work if index == 0 else large, results, buffers, counter, cancel),
            name=f"hash-{index}",
            daemon=True,
        )
        for index in range(min(jobs, len(requests)))
    ]
    for worker in workers:
        worker.start()
    try:
        status = step("Hashing", enabled=progress, total=len(requests), total_bytes=total_bytes)
        with status as line:
            received = 0
            while received < len(requests):
                try:
                    batch = results.get(timeout=PROGRESS_INTERVAL_S)
                except queue.Empty:
                    line.advance(0, counter.take())
                    continue
                if isinstance(batch, BaseException):
                    raise batch
                for outcome, st in batch:
                    outcomes[outcome.path] = outcome
                    if st is not None and outcome.sha256 is not None:
                        to_store.append((st, outcome.sha256))
                finished = len(batch)
                received += finished
                line.advance(finished, counter.take())
                if cache is not None and len(to_store) >= CACHE_BATCH:
                    cache.store_many(to_store)
                    to_store.clear()
    finally:
        # On Ctrl-C (or any error here) stop the readers mid-file instead of finishing 100 GB.
        cancel.set()
        for worker in workers:
            worker.join()
        if cache is not None and to_store:
            cache.store_many(to_store)


_WorkerResult = list[tuple[HashOutcome, os.stat_result | None]] | BaseException


class _Source(Protocol):
    def get_nowait(self) -> HashRequest: ...


class _Chained:
    """The shared queue of large files, then a list of small ones (one reader only)."""

    def __init__(self, shared: queue.SimpleQueue[HashRequest], own: list[HashRequest]) -> None:
        self._shared = shared
        self._own = iter(own)

    def get_nowait(self) -> HashRequest:
        """The next large file, else the next small one; ``queue.Empty`` when none is left."""
        try:
            return self._shared.get_nowait()
        except queue.Empty:
            pass
        try:
            return next(self._own)
        except StopIteration:
            raise queue.Empty from None


def _worker(
    work: _Source,
    results: queue.SimpleQueue[_WorkerResult],
    buffers: _ThreadBuffers,
    counter: _ByteCounter,
    cancel: threading.Event,
) -> None:
    """Hash requests from ``work`` until it is empty or the scan is cancelled.

    Results go to the main thread in batches (at most ``RESULT_BATCH``, or what was done
    within ``PROGRESS_INTERVAL_S``): waking it for every small file would hand the GIL back
    and forth once per file, which cost more than hashing a 3 KB file.
    """
    batch: list[tuple[HashOutcome, os.stat_result | None]] = []
    due = time.monotonic() + PROGRESS_INTERVAL_S
    try:
        while not cancel.is_set():
            try:
                request = work.get_nowait()
            except queue.Empty:
                break
            batch.append(_hash_one(request, buffers, counter, cancel))
            now = time.monotonic()
            if len(batch) >= RESULT_BATCH or now >= due:
                results.put(batch)
                batch, due = [], now + PROGRESS_INTERVAL_S
    except _Cancelled:
        return
    except BaseException as error:  # handed to the main thread, which raises it
        results.put(error)
        return
    if batch:
        results.put(batch)


def _hash_one(
    request: HashRequest,
    buffers: _ThreadBuffers,
    counter: _ByteCounter,
    cancel: threading.Event,
) -> tuple[HashOutcome, os.stat_result | None]:
    """Hash one file; return its outcome and, on success, the stat to cache it under."""
    try:
        digest, st = _read_and_hash(request, buffers.get(), counter, cancel)
    except HashError as exc:
        return failed_outcome(request, exc.reason), None
    except OSError as exc:
        return failed_outcome(request, describe_os_error(exc)), None
    outcome = HashOutcome(
        path=request.path, sha256=digest, size=st.st_size, from_cache=False, error=None
    )
    return outcome, st


class HashError(Exception):
    """A file is not what was listed, or changed while it was read; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _read_and_hash(
    request: HashRequest,
    buffer: memoryview,
    counter: _ByteCounter,
    cancel: threading.Event,
) -> tuple[str, os.stat_result]:
    with _opened(request) as (stream, before):
        digest = hashlib.sha256()
        read_total = 0
        # Read at most one byte past the expected end: enough to see growth, never unbounded.
        limit = before.st_size + 1
        while read_total < limit:
            if cancel.is_set():
                raise _Cancelled
            chunk = min(len(buffer), limit - read_total)
            count = stream.readinto(buffer[:chunk])
            if not count:  # 0 is the end; None would need a non-blocking descriptor
                break
            digest.update(buffer[:count])
            read_total += count
            counter.add(count)
        after = os.fstat(stream.fileno())
    _check_unchanged(before, after, read_total)
    return digest.hexdigest(), before


def read_small_file(request: HashRequest) -> tuple[bytes, str]:
    """The whole content of a file under ``SMALL_FILE_BYTES`` and its sha256, read once with
    the checks ``hash_files`` makes (a regular file, not a symlink, the listed size, unchanged
    while read), for a caller that also parses the bytes: the file is then read once, not
    twice.

    Raises:
        HashError: the file is not what was listed, or changed while read.
        OSError: it cannot be opened or read.
    """
    if request.size >= SMALL_FILE_BYTES:
        raise ValueError(f"{request.path} is not a small file ({request.size} bytes)")
    with _opened(request) as (stream, before):
        data = stream.read(before.st_size + 1)
        after = os.fstat(stream.fileno())
    _check_unchanged(before, after, len(data))
    return data, hashlib.sha256(data).hexdigest()


@contextmanager
def _opened(request: HashRequest) -> Iterator[tuple[io.FileIO, os.stat_result]]:
    """The file of ``request``, opened without following a symlink, and its ``fstat``; only
    a regular file, the one that was listed, at the listed size."""
    listed = os.lstat(request.path)
    # Refuse what is not a regular file before opening it: opening a device can have effects.
    _require_regular(listed)
    fd = os.open(request.path, _OPEN_FLAGS)
    with io.FileIO(fd, "rb", closefd=True) as stream:
        before = os.fstat(fd)
        _require_regular(before)
        if (before.st_dev, before.st_ino) != (listed.st_dev, listed.st_ino):
            raise HashError("file was replaced while being opened")
        if before.st_size != request.size:
            raise HashError(
                f"file changed size since it was listed (listed {request.size}, "
                f"now {before.st_size})"
            )
        _clear_nonblocking(fd)
        if before.st_size >= SMALL_FILE_BYTES:  # one read needs no read-ahead
            _advise_sequential(fd)
        yield stream, before


def _check_unchanged(before: os.stat_result, after: os.stat_result, read_total: int) -> None:
    if read_total != before.st_size or after.st_size != before.st_size:
        raise HashError(
            f"file changed size while hashing (expected {before.st_size}, read {read_total})"
        )
    if _identity(after) != _identity(before):
        raise HashError("file was modified while hashing (its mtime or ctime changed)")


def _require_regular(st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise HashError("is a symbolic link (symlinks are never followed)")
    if not stat.S_ISREG(st.st_mode):
        raise HashError(f"not a regular file ({_file_type_name(st.st_mode)})")


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _file_type_name(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((name for test, name in kinds if test(mode)), "unknown file type")


def _clear_nonblocking(fd: int) -> None:
    # O_NONBLOCK only had to keep the open from hanging on a FIFO; a regular file reads the same
    # without it, and some network and FUSE filesystems would honour it with EAGAIN.
    if getattr(os, "O_NONBLOCK", 0):
        os.set_blocking(fd, True)


def _advise_sequential(fd: int) -> None:
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    # Doubles the kernel's read-ahead; only a hint, so a refusal changes nothing.
    with suppress(OSError):
        advise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


def describe_os_error(exc: OSError) -> str:
    """A short, human message for an error opening or reading a file."""
    known = {
        errno.ENOENT: "file not found (it disappeared after it was listed)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "is a symbolic link (symlinks are never followed)",
        errno.EISDIR: "not a regular file (directory)",
        errno.ENOTDIR: "file not found (a parent is not a directory)",
        errno.EIO: "input/output error while reading",
    }
    if exc.errno in known:
        return known[exc.errno]
    return f"cannot read: {exc.strerror or exc}"


def failed_outcome(request: HashRequest, reason: str) -> HashOutcome:
    """The outcome of a file that could not be hashed, and why."""
    return HashOutcome(
        path=request.path, sha256=None, size=request.size, from_cache=False, error=reason
    )


class _ThreadBuffers:
    """One preallocated, page-aligned read buffer per worker thread."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._local = threading.local()

    def get(self) -> memoryview:
        buffer: memoryview | None = getattr(self._local, "buffer", None)
        if buffer is None:
            # An anonymous mapping is page-aligned; a bytearray of this size is a malloc chunk
            # 16 bytes past a page start, and the kernel's copy into such a destination ran 4-5x
            # slower (all of it system time) on the AMD EPYC we measured. See bench/README.md.
            buffer = memoryview(mmap.mmap(-1, self._size))
            self._local.buffer = buffer
        return buffer


class _ByteCounter:
    """Bytes read by the workers since the main thread last looked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = 0

    def add(self, count: int) -> None:
        with self._lock:
            self._bytes += count

    def take(self) -> int:
        with self._lock:
            taken, self._bytes = self._bytes, 0
        return taken
