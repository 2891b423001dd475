"""Capped reading of a pickle's byte stream: bytes, lines and skipped payloads, never past a cap.

A walk ends by raising ``Stop``: the data is not, or no longer, a pickle a loader would read,
or a cap of this analyser was reached.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from typing import BinaryIO

#: Longest string (in bytes) whose text is kept; module and qualified names are far shorter.
MAX_NAME_BYTES = 256
#: Longest protocol-0 line (a text argument: a string, a number, a name).
MAX_LINE_BYTES = 64 * 1024 * 1024
#: Longest line of a text-mode integer (INT, LONG, GET, PUT): CPython's ``int()`` refuses more
#: than 4,300 digits (``sys.int_info.default_max_str_digits``), so the loader stops there too.
MAX_NUMBER_LINE_BYTES = 4_400
#: Largest length an opcode may declare, whatever the stream (far beyond any real file).
MAX_DECLARED_LENGTH = 1 << 48
#: Bytes read from the stream at a time.
CHUNK_BYTES = 64 * 1024
#: Bytes of the first read: most files that are no pickle show it within them, and a file read
#: by range (in a Hub repo) pays for every byte read.
FIRST_CHUNK_BYTES = 4 * 1024


class Stop(Exception):
    """Ends a walk: the stream is not, or no longer, a pickle a loader would read."""

    def __init__(self, problem: str, *, cap: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.cap = cap
        """A limit of this analyser was reached: a loader might read on."""


class Source(Protocol):
    """What the reader needs of a stream (``seek`` and ``tell`` only when seekable)."""

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes; b"" at the end."""

    def seek(self, offset: int, whence: int = ..., /) -> int:
        """Move to ``offset``."""

    def tell(self) -> int:
        """The current position."""


class Reader:
    """Buffered reading of a stream that never goes ``max_bytes`` past where it started."""

    def __init__(self, stream: Source, *, max_bytes: int, seekable: bool) -> None:
        self._stream = stream
        self._buffer = b""
        self._index = 0
        self._seekable = seekable
        self._base = 0
        """Stream position of the start of ``_buffer``."""
        self.end: int | None = None
        if seekable:
            self._base = stream.tell()
            self.end = stream.seek(0, io.SEEK_END)
            stream.seek(self._base)
        self._limit = self._base + max_bytes

    @property
    def seekable(self) -> bool:
        """Whether skipped payloads are seeked over rather than read."""
        return self._seekable

    @property
    def position(self) -> int:
        """The stream position of the next byte."""
        return self._base + self._index

    def _over_limit(self) -> Stop:
        return Stop("the byte limit for pickle analysis was reached", cap=True)

    def _fill(self) -> bool:
        """Load the next chunk; False at the end of the stream."""
        self._base += len(self._buffer)
        self._index = 0
        self._buffer = b""
        if self._base >= self._limit:
            raise self._over_limit()
        try:
            chunk = CHUNK_BYTES if self._base else FIRST_CHUNK_BYTES
            self._buffer = self._stream.read(min(chunk, self._limit - self._base))
        except OSError as error:  # e.g. a ranged Hub file past its budget: what was seen stands
            problem = f"the data could not be read past byte {self._base}: {error}"
            raise Stop(problem, cap=True) from error
        return bool(self._buffer)

    def byte(self) -> int:
        """The next byte, or -1 at the end of the stream."""
        index = self._index
        if index >= len(self._buffer):
            if not self._fill():
                return -1
            index = 0
        self._index = index + 1
        return self._buffer[index]

    def exact(self, count: int, what: str) -> bytes:
        """Exactly ``count`` bytes (small counts only: callers cap them)."""
        index = self._index
        stop = index + count
        if stop <= len(self._buffer):
            self._index = stop
            return self._buffer[index:stop]
        start = self.position
        parts: list[bytes] = []
        needed = count
        while needed:
            if self._index >= len(self._buffer) and not self._fill():
                raise Stop(f"{what} at byte {start} runs past the end of the data")
            piece = self._buffer[self._index : self._index + needed]
            self._index += len(piece)
            needed -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def skip(self, count: int, what: str) -> None:
        """Step over ``count`` bytes without keeping them."""
        start = self.position
        if count > MAX_DECLARED_LENGTH:
            raise Stop(f"{what} at byte {start} declares {count} bytes, more than any file")
        if self.end is not None and start + count > self.end:
            raise Stop(
                f"{what} at byte {start} declares {count} bytes but only {self.end - start} remain"
            )
        if start + count > self._limit:
            raise self._over_limit()
        available = len(self._buffer) - self._index
        if count <= available:
            self._index += count
            return
        if self._seekable:
            self.seek(start + count)
            return
        count -= available
        self._index = len(self._buffer)
        while count:
            if not self._fill():
                raise Stop(f"{what} at byte {start} runs past the end of the data")
            taken = min(count, len(self._buffer))
            self._index = taken
            count -= taken

    def line(self, what: str, *, number: bool = False) -> tuple[bytes, bool]:
        """The next line without its newline: ``(its first bytes, whether that is all)``.

        At most ``MAX_NAME_BYTES`` bytes are kept; a longer line is read through and reported
        incomplete. A ``number`` line longer than ``MAX_NUMBER_LINE_BYTES`` ends the walk as no
        pickle a loader reads (without reading on: a GGML file starts like a GET).
        """
        limit = MAX_NUMBER_LINE_BYTES if number else MAX_LINE_BYTES
        start = self.position
        kept = bytearray()
        while True:
            if self._index >= len(self._buffer) and not self._fill():
                raise Stop(f"{what} at byte {start} has no end of line")
            newline = self._buffer.find(b"\n", self._index)
            stop = len(self._buffer) if newline < 0 else newline
            room = MAX_NAME_BYTES + 1 - len(kept)
            if room > 0:
                kept += self._buffer[self._index : min(stop, self._index + room)]
            self._index = stop + (newline >= 0)
            if self.position - start > limit:
                raise Stop(f"{what} at byte {start} is longer than {limit} bytes", cap=not number)
            if newline >= 0:
                return bytes(kept), len(kept) <= MAX_NAME_BYTES

    def byte_at(self, offset: int) -> int:
        """The buffered byte ``offset`` bytes after the next one, without consuming it; -1 when
        it is not buffered."""
        index = self._index + offset
        return self._buffer[index] if index < len(self._buffer) else -1

    def line_end(self) -> int:
        """How many bytes after the next one the next buffered newline is; -1 if none is."""
        found = self._buffer.find(b"\n", self._index)
        return -1 if found < 0 else found - self._index

    def unread_byte(self) -> None:
        """Step back over the byte ``byte`` just returned (always still buffered)."""
        self._index -= 1

    def take_run(self, pattern: re.Pattern[bytes]) -> bytes:
        """The match of ``pattern`` at the next byte within the bytes already buffered,
        consumed; b"" when it does not match there."""
        match = pattern.match(self._buffer, self._index)
        if match is None:
            return b""
        self._index = match.end()
        return match.group()

    def seek(self, position: int) -> None:
        """Move to ``position`` (seekable streams only)."""
        if self._base <= position <= self._base + len(self._buffer):
            self._index = position - self._base
            return
        self._stream.seek(position)
        self._base = position
        self._buffer = b""
        self._index = 0

    def at_end(self) -> bool:
        """Whether no byte is left (reads ahead without consuming)."""
        return self._index >= len(self._buffer) and not self._fill()

    def release(self) -> None:
        """Leave a seekable stream positioned where the walk stopped."""
        if self._seekable:
            self._stream.seek(self.position)


def is_seekable(stream: BinaryIO) -> bool:
    """Whether ``stream`` can seek and tell (a pipe or a decompressing reader cannot)."""
    try:
        if not stream.seekable():
            return False
        stream.tell()
    except (OSError, ValueError):
        return False
    return True
