"""joblib's compressed dumps: which compression a file uses, and its bytes decompressed on the fly.

Decompression is streamed with the standard library; the reader's byte cap bounds a bomb.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import TYPE_CHECKING, Protocol

from scanner.analysis.pickle.reader import CHUNK_BYTES, Stop

if TYPE_CHECKING:
    from typing import BinaryIO


PROBE_BYTES = 4096
UNSUPPORTED_COMPRESSIONS = frozenset({"lz4", "joblib's pre-0.10 zlib format"})


def compression_of(head: bytes) -> str | None:
    """The compression joblib used for a file starting with ``head``, or None.

    A magic number alone is not trusted: the head must also decompress (a pickle may start
    with the same bytes).
    """
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"ZF"):
        return "joblib's pre-0.10 zlib format"
    candidates = {
        "gzip": head.startswith(b"\x1f\x8b"),
        "zlib": len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0,
        "bz2": head.startswith(b"BZh"),
        "xz": head.startswith(b"\xfd7zXZ\x00"),
        "lzma": head[:1] == b"\x5d" and head[5:13] == b"\xff" * 8,
    }
    for name, matches in candidates.items():
        if matches:
            try:
                _new_decompressor(name).decompress(head)
            except (zlib.error, OSError, EOFError, lzma.LZMAError):
                return None
            return name
    return None


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _new_decompressor(name: str) -> _Decompressor:
    if name == "gzip":
        return zlib.decompressobj(wbits=31)
    if name == "zlib":
        return zlib.decompressobj()
    if name == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(lzma.FORMAT_XZ if name == "xz" else lzma.FORMAT_ALONE)


class Decompressing:
    """An unseekable stream of a compressed file's decompressed bytes (short reads)."""

    def __init__(self, source: BinaryIO, compression: str) -> None:
        self._source = source
        self._compression = compression
        self._zlib = zlib.decompressobj(wbits=31 if compression == "gzip" else 15)
        self._other: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        if compression == "bz2":
            self._other = bz2.BZ2Decompressor()
        elif compression in ("xz", "lzma"):
            self._other = lzma.LZMADecompressor(
                lzma.FORMAT_XZ if compression == "xz" else lzma.FORMAT_ALONE
            )

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` decompressed bytes; b"" at the end of the compressed stream."""
        try:
            return self._next(size)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as error:
            raise Stop(f"the {self._compression} data cannot be decompressed: {error}") from None

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        """Refused: the stream is read once."""
        raise io.UnsupportedOperation("decompressed streams are read once")

    def tell(self) -> int:
        """Refused: the stream is read once."""
        raise io.UnsupportedOperation("decompressed streams are read once")

    def _next(self, size: int) -> bytes:
        while True:
            if self._other is None:
                if self._zlib.eof:
                    return b""
                data = self._zlib.unconsumed_tail or self._source.read(CHUNK_BYTES)
                if not data:
                    raise EOFError("the compressed data ends early")
                out = self._zlib.decompress(data, size)
            else:
                if self._other.eof:
                    return b""
                data = self._source.read(CHUNK_BYTES) if self._other.needs_input else b""
                if self._other.needs_input and not data:
                    raise EOFError("the compressed data ends early")
                out = self._other.decompress(data, size)
            if out:
                return out
