"""joblib's compressed dumps: which compression a file uses, and its bytes decompressed on the fly.

Decompression is streamed with the standard library and, for lz4 frames, the ``lz4`` package
(a dependency; an environment without it reports lz4 dumps unreadable); the reader's byte cap
bounds a bomb.
"""

from __future__ import annotations

import bz2
import importlib
import io
import lzma
import re
import zlib
from typing import TYPE_CHECKING, Final, Protocol

from scanner.analysis.pickle.reader import CHUNK_BYTES, Stop

if TYPE_CHECKING:
    from types import ModuleType
    from typing import BinaryIO


PROBE_BYTES = 4096
UNSUPPORTED_COMPRESSIONS = frozenset({"joblib's pre-0.10 zlib format"})
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
#: How a file compressed by joblib (or by hand: ``.pkl.gz``, ``.pkl.z``) starts, whatever its
#: name: gzip, zlib (the usual levels), bz2, xz, lzma-alone, lz4 frame, joblib's old ``ZF``.
COMPRESSED_START: Final = re.compile(
    rb"\x1f\x8b|\x78[\x01\x5e\x9c\xda]|BZh[1-9]|\xfd7zXZ\x00|\x5d\x00\x00|\x04\x22\x4d\x18|ZF0x"
)


def lz4_frame() -> ModuleType | None:
    """The ``lz4.frame`` module (joblib's lz4 compressor), or None when lz4 is not installed."""
    try:  # installed with sovscan; without it an lz4 dump is unreadable without it
        return importlib.import_module("lz4.frame")
    except ImportError:
        return None


def unsupported(compression: str) -> str | None:
    """Why a file compressed with ``compression`` cannot be decompressed here, or None."""
    if compression in UNSUPPORTED_COMPRESSIONS:
        return f"compressed with {compression}, which is not analysed"
    if compression == "lz4" and lz4_frame() is None:
        return "compressed with lz4, and the lz4 package is not installed to decompress it"
    return None


def compression_of(head: bytes) -> str | None:
    """The compression joblib used for a file starting with ``head``, or None.

    A magic number alone is not trusted: the head must also decompress (a pickle may start
    with the same bytes).
    """
    if head.startswith(LZ4_FRAME_MAGIC):
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


class _Lz4(Protocol):
    """What ``lz4.frame.LZ4FrameDecompressor`` shares with the bz2 and lzma decompressors."""

    eof: bool
    needs_input: bool

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
        self._other: bz2.BZ2Decompressor | lzma.LZMADecompressor | _Lz4 | None = None
        frame = lz4_frame() if compression == "lz4" else None
        if frame is not None:
            self._other = frame.LZ4FrameDecompressor()
        elif compression == "bz2":
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
        except RuntimeError as error:  # lz4.frame's only error type
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
