"""A read-only, seekable file over HTTP Range requests to one file of a Hub repo at a commit.

``RangedHubFile`` is an ``io.RawIOBase``: wrap it in ``io.BufferedReader`` or hand it to
``zipfile.ZipFile`` and only the bytes those read are transferred. It asks
``HubClient.range_bytes`` for them, so it uses the client's resolve URL, token, retries, caps and
statistics, and a read from byte 0 goes through the client's prefix cache.

- Bytes are kept in fixed-size blocks (``BLOCK_SIZE``) in a bounded LRU cache: a repeated read
  costs nothing.
- A read fetches its missing blocks with as few requests as it can: contiguous missing blocks go
  in one request, and so do two runs separated by at most ``MERGE_GAP_BLOCKS`` cached blocks.
  Blocks after the read are fetched with it (read-ahead); the read-ahead doubles while reads
  follow each other (up to ``max_request_bytes``) and falls back after a seek, so a sequential
  walk costs a handful of requests.
- Every byte fetched is paid from a ``RangeBudget``, shared by all the files of one repo; a read
  the budget cannot pay raises ``RangeBudgetExceededError`` (read-ahead is trimmed first).
- The prefix of the file in the Hub cache (what ``header_bytes`` stored) is served without a
  request. Offline it is all there is: a read beyond it raises ``RangeOfflineError``.

A read never returns fewer bytes than asked before the end of the file: a failed request, a 416,
a short or misplaced answer raises ``RangedFileError`` (an ``OSError`` and an ``UpstreamError``)
naming the URL. Not thread-safe (one file per thread); the budget is.
"""

from __future__ import annotations

import errno
import io
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from scanner.core.errors import UpstreamError
from scanner.resolve.hub.api import MAX_HEADER_READ_BYTES, label
from scanner.resolve.hub.client import MAX_PREFIX_KEPT
from scanner.resolve.hub.types import HubProblem

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from scanner.resolve.hub.client import HubClient
    from scanner.resolve.hub.types import HubRepoInfo

#: Bytes per cached block (and the unit of every request).
BLOCK_SIZE: Final = 64 * 1024
#: Blocks a file keeps (LRU): 16 MiB with the default block size.
MAX_CACHED_BLOCKS: Final = 256
#: Bytes fetched beyond a read that does not follow the previous one.
READAHEAD_BYTES: Final = 128 * 1024
#: Largest single request, read-ahead included.
MAX_REQUEST_BYTES: Final = 8 * 1024 * 1024
#: Cached blocks between two missing runs that are fetched again to make one request of two.
MERGE_GAP_BLOCKS: Final = 1


class RangedFileError(UpstreamError, OSError):
    """A read of a ``RangedHubFile`` failed; the message names the URL.

    ``problem`` is the client's ``HubProblem`` when the client reported one.
    """

    def __init__(self, message: str, *, url: str, problem: HubProblem | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.problem = problem


class RangeBudgetExceededError(RangedFileError):
    """The repo's byte budget cannot pay for the bytes a read needs."""


class RangeOfflineError(RangedFileError):
    """Offline, and the bytes asked for are beyond the prefix in the Hub cache."""


class RangeBudget:
    """Bytes ranged files may still fetch; thread-safe.

    One budget is shared by the files of one repo; a file may also have its own, whose
    ``parent`` is the repo's: a reservation is then taken from both (``scope`` names which
    budget ran out in the error).
    """

    def __init__(
        self, max_bytes: int, *, parent: RangeBudget | None = None, scope: str = "repo"
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        self.max_bytes = max_bytes
        self.parent = parent
        self.scope = scope
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Bytes fetched so far (reserved by requests in flight included)."""
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int:
        """Bytes that may still be fetched."""
        with self._lock:
            return self.max_bytes - self._used

    def reserve(self, minimum: int, maximum: int, *, url: str, what: str) -> int:
        """Take between ``minimum`` and ``maximum`` bytes (as many as remain, here and in the
        parent); returns how many.

        Raises:
            RangeBudgetExceededError: fewer than ``minimum`` bytes remain.
        """
        with self._lock:
            remaining = self.max_bytes - self._used
            if remaining < minimum:
                raise RangeBudgetExceededError(
                    f"{what}: {minimum} more bytes needed from {url}, but only {remaining} of "
                    f"the {self.scope}'s {self.max_bytes}-byte budget for range reads remain",
                    url=url,
                )
            granted = min(maximum, remaining)
            self._used += granted
        if self.parent is not None:
            try:
                kept = self.parent.reserve(minimum, granted, url=url, what=what)
            except RangeBudgetExceededError:
                self._release(granted)
                raise
            self._release(granted - kept)
            granted = kept
        return granted

    def refund(self, count: int) -> None:
        """Give back bytes reserved but not fetched (to the parent too)."""
        self._release(count)
        if self.parent is not None:
            self.parent.refund(count)

    def _release(self, count: int) -> None:
        with self._lock:
            self._used = max(self._used - count, 0)


class RangedHubFile(io.RawIOBase):
    """The file ``path`` of the repo ``info`` (at ``info.commit``), read by HTTP Range requests.

    ``budget``: shared by the files of one repo (None: no limit). ``block_size``,
    ``max_cached_blocks``, ``readahead_bytes``, ``max_request_bytes``: see the module doc.

    Raises:
        ValueError: ``path`` is not in the listing with a size, or a setting is out of range.
    """

    mode = "rb"

    def __init__(
        self,
        client: HubClient,
        info: HubRepoInfo,
        path: str,
        *,
        budget: RangeBudget | None = None,
        block_size: int = BLOCK_SIZE,
        max_cached_blocks: int = MAX_CACHED_BLOCKS,
        readahead_bytes: int = READAHEAD_BYTES,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        super().__init__()
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._prefix: bytes | None = None  # loaded on the first read
        listed = info.file(path)
        where = label(info.repo_type, info.repo_id, info.commit)
        if listed is None or listed.size is None:
            raise ValueError(f"{path} is not listed with a size in {where}")
        if block_size <= 0 or max_cached_blocks <= 0 or readahead_bytes < 0:
            raise ValueError("block_size and max_cached_blocks must be > 0, readahead_bytes >= 0")
        if not block_size <= max_request_bytes <= MAX_HEADER_READ_BYTES:
            raise ValueError(
                f"max_request_bytes must be within {block_size}..{MAX_HEADER_READ_BYTES}"
            )
        self._client = client
        self._info = info
        self.name = path
        """The file's path in the repo."""
        self.size = listed.size
        """The file's size in bytes, as listed."""
        self.url = client.resolve_url(info, path)
        """Where the bytes come from (no token in it)."""
        self.requests = 0
        """Range reads asked of the client."""
        self.bytes_fetched = 0
        """Bytes those reads returned."""
        self._touched: set[int] = set()
        self.failure: RangedFileError | None = None
        """The first read that failed, kept: a reader may take an OSError for a property of
        the content, so a caller checks this before it trusts what was read."""
        self._where = f"{path} in {where}"
        self._budget = budget
        self._block_size = block_size
        self._max_cached_blocks = max_cached_blocks
        self._request_blocks = max_request_bytes // block_size
        self._base_readahead = readahead_bytes
        self._readahead = readahead_bytes
        self._position = 0
        self._next_sequential = 0

    def __repr__(self) -> str:
        return f"<RangedHubFile {self.url} size={self.size}>"

    # -- io.RawIOBase ----------------------------------------------------------------------------

    def readable(self) -> bool:
        """True: the file can be read."""
        self._check_open()
        return True

    def seekable(self) -> bool:
        """True: the file can be sought."""
        self._check_open()
        return True

    def tell(self) -> int:
        """The current position."""
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` from the start, the current position or the end; past the end is
        allowed (reads there return b""), before the start is an ``OSError`` (as for a file)."""
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if target < 0:
            raise OSError(errno.EINVAL, f"negative seek position {target}")
        self._position = target
        return target

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fill ``buffer`` from the current position; fewer bytes only at the end of the file.

        Raises:
            RangedFileError: the bytes could not be read (``RangeBudgetExceededError``,
                ``RangeOfflineError`` or another failure naming the URL).
        """
        self._check_open()
        with memoryview(buffer) as raw, raw.cast("B") as view:
            start = self._position
            end = min(start + len(view), self.size)
            if end <= start:
                return 0
            try:
                self._fill(view, start, end)
            except RangedFileError as error:
                self.failure = self.failure or error
                raise
            self._position = end
            return end - start

    def readall(self) -> bytes:
        """Everything from the current position to the end, fetched in as few requests as fit."""
        data = bytearray(max(self.size - self.tell(), 0))
        count = self.readinto(data)
        return bytes(data[:count])

    def close(self) -> None:
        """Drop the cached blocks; reads after this raise ValueError."""
        self._blocks.clear()
        self._prefix = None
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    # -- reading ---------------------------------------------------------------------------------

    @property
    def bytes_read(self) -> int:
        """Bytes of the file its readers asked for, in whole blocks, wherever they came from
        (the network, a cached prefix, a block read before): the same online and offline."""
        size = self._block_size
        return sum(min((n + 1) * size, self.size) - n * size for n in self._touched)

    def _fill(self, view: memoryview, start: int, end: int) -> None:
        """Copy bytes ``[start, end)`` into ``view``, fetching what no cache holds."""
        self._touched.update(range(start // self._block_size, (end - 1) // self._block_size + 1))
        if self._prefix is None:
            self._prefix = self._client.cached_prefix(self._info, self.name)
        sequential = 0 < start == self._next_sequential
        if not sequential:
            self._readahead = self._base_readahead
        offset = start
        prefix_end = min(len(self._prefix), end)
        if offset < prefix_end:
            view[: prefix_end - offset] = self._prefix[offset:prefix_end]
            offset = prefix_end
        if offset >= end:
            self._next_sequential = end
            return
        if self._client.offline:
            raise RangeOfflineError(
                f"offline: bytes {offset}-{end - 1} of {self._where} are beyond the "
                f"{len(self._prefix)} bytes of it in the Hub cache; a scan online would fetch "
                f"them from {self.url}",
                url=self.url,
            )
        size = self._block_size
        first, last = offset // size, (end - 1) // size
        if sequential and not all(self._have(n) for n in range(first, last + 1)):
            # Reads follow each other and need the network: fetch further ahead each time.
            most = self._request_blocks * size
            self._readahead = min(max(self._readahead * 2, size), most)
        ahead_last = min(last + -(-self._readahead // size), (self.size - 1) // size)
        index = first
        while index <= last:
            block = self._cached_block(index)
            if block is not None:
                self._copy(view, start, offset, end, index, block)
                index += 1
                continue
            fetched = self._fetch(index, self._plan(index, last, ahead_last), last)
            count = -(-len(fetched) // size)  # whole blocks, the last one maybe the file's end
            for number in range(index, index + count):
                data = fetched[(number - index) * size : (number - index + 1) * size]
                self._remember(number, data)
                self._copy(view, start, offset, end, number, data)
            index += count
        self._next_sequential = end

    def _copy(
        self, view: memoryview, start: int, offset: int, end: int, number: int, data: bytes
    ) -> None:
        """Copy the part of block ``number`` within ``[offset, end)`` to its place in ``view``."""
        block_start = number * self._block_size
        low, high = max(block_start, offset), min(block_start + len(data), end)
        if low < high:
            view[low - start : high - start] = data[low - block_start : high - block_start]

    def _have(self, number: int) -> bool:
        block_end = min((number + 1) * self._block_size, self.size)
        return number in self._blocks or block_end <= len(self._prefix or b"")

    def _cached_block(self, number: int) -> bytes | None:
        data = self._blocks.get(number)
        if data is not None:
            self._blocks.move_to_end(number)
            return data
        block_start = number * self._block_size
        block_end = min(block_start + self._block_size, self.size)
        prefix = self._prefix or b""
        return prefix[block_start:block_end] if block_end <= len(prefix) else None

    def _remember(self, number: int, data: bytes) -> None:
        if (number + 1) * self._block_size <= len(self._prefix or b""):
            return  # the prefix holds it already
        self._blocks[number] = data
        self._blocks.move_to_end(number)
        while len(self._blocks) > self._max_cached_blocks:
            self._blocks.popitem(last=False)

    def _plan(self, first: int, last: int, ahead_last: int) -> int:
        """The last block of one request starting at the missing block ``first``.

        Missing blocks follow on up to ``ahead_last`` (the read-ahead); cached blocks are
        bridged only to reach a missing block the read needs, at most ``MERGE_GAP_BLOCKS`` of
        them; a request never exceeds ``max_request_bytes``.
        """
        end = first
        ceiling = min(ahead_last, first + self._request_blocks - 1)
        while end < ceiling:
            following = end + 1
            if not self._have(following):
                end = following
                continue
            reach = min(following + MERGE_GAP_BLOCKS, last, ceiling)
            missing = next((n for n in range(following, reach + 1) if not self._have(n)), None)
            if missing is None:
                break
            end = missing
        return end

    def _fetch(self, first: int, run_last: int, last: int) -> bytes:
        """Blocks ``first..run_last`` (trimmed to the budget beyond ``last``) in one request."""
        size = self._block_size
        start = first * size
        needed = min((min(run_last, last) + 1) * size, self.size) - start
        wanted = min((run_last + 1) * size, self.size) - start
        where = f"bytes {start}-{start + needed - 1} of {self._where}"
        length = wanted
        if self._budget is not None:
            granted = self._budget.reserve(needed, wanted, url=self.url, what=where)
            # Keep whole blocks (or the file's end): the rest of the grant goes back.
            if granted < wanted:
                length = max(needed, granted - granted % size)
            self._budget.refund(granted - length)
        # The cached prefix may end inside the first block: only the rest is asked for.
        known = self._prefix[start : start + length] if self._prefix else b""
        ask_from, ask = start + len(known), length - len(known)
        answer = self._client.range_bytes(self._info, self.name, start=ask_from, length=ask)
        self.requests += 1
        if isinstance(answer, HubProblem):
            if self._budget is not None:
                self._budget.refund(length)
            raise self._error(answer)
        if len(answer) < ask:
            raise RangedFileError(
                f"{where}: short read, {len(answer)} of {ask} bytes from {self.url}",
                url=self.url,
            )
        if self._budget is not None and known:
            self._budget.refund(len(known))
        self.bytes_fetched += ask
        answer = answer[:ask]
        self._grow_prefix(ask_from, answer)
        return known + answer

    def _grow_prefix(self, start: int, answer: bytes) -> None:
        """Bytes that continue the file's prefix make it longer, in the Hub cache too (a read
        from byte 0 is cached by the client already)."""
        prefix = self._prefix or b""
        if start == 0:
            self._prefix = answer if len(answer) > len(prefix) else prefix
        elif start == len(prefix) and start + len(answer) <= MAX_PREFIX_KEPT:
            self._prefix = prefix + answer
            self._client.extend_cached_prefix(self._info, self.name, self._prefix)

    def _error(self, problem: HubProblem) -> RangedFileError:
        message = problem.message if self.url in problem.message else f"{self.url}: {problem}"
        kind = RangeOfflineError if problem.kind == "offline-miss" else RangedFileError
        return kind(message, url=self.url, problem=problem)
