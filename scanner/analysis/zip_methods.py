"""The zip compression methods Python's zipfile reads besides deflate: bzip2 (12) and LZMA (14).

Keras, NumPy and joblib open archives with zipfile, which decompresses both (CPython
Lib/zipfile.py, ``_get_decompressor``); PyTorch's miniz reads stored and deflated members only.
A member zipfile reads is analysed from the same bytes.
"""

from __future__ import annotations

import bz2
import lzma
import struct
from typing import Final, Protocol

BZIP2: Final = 12
LZMA: Final = 14
#: Errors the decompressors raise on corrupt data.
DECOMPRESSION_ERRORS: Final = (OSError, EOFError, ValueError, lzma.LZMAError)

_LZMA_HEADER = struct.Struct("<BBH")  # LZMA SDK version (2 bytes), properties size
_LZMA_PROPERTIES_BYTES = 5  # lc/lp/pb byte, dictionary size


class Decompressor(Protocol):
    """What bz2's and lzma's decompressors share: bounded output, leftover input kept."""

    @property
    def eof(self) -> bool:
        """The compressed stream ended."""
        ...

    @property
    def needs_input(self) -> bool:
        """No more output without more input."""
        ...

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes:
        """Up to ``max_length`` bytes decompressed from ``data`` and the input kept so far."""
        ...


class ZipLzmaDecompressor:
    """LZMA as zip stores it: a 4-byte header, the LZMA1 properties, then raw LZMA1 data."""

    def __init__(self) -> None:
        self._header = b""
        self._inner: lzma.LZMADecompressor | None = None

    @property
    def eof(self) -> bool:
        """The compressed stream ended."""
        return self._inner is not None and self._inner.eof

    @property
    def needs_input(self) -> bool:
        """No more output without more input."""
        return self._inner is None or self._inner.needs_input

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes:
        """Up to ``max_length`` decompressed bytes (none until the header is complete).

        Raises:
            lzma.LZMAError: the header or the data is corrupt.
        """
        if self._inner is None:
            self._header += data
            if len(self._header) < _LZMA_HEADER.size:
                return b""
            _, _, size = _LZMA_HEADER.unpack_from(self._header)
            start = _LZMA_HEADER.size + size
            if size != _LZMA_PROPERTIES_BYTES:
                raise lzma.LZMAError(f"LZMA properties of {size} bytes, not 5")
            if len(self._header) < start:
                return b""
            self._inner = lzma.LZMADecompressor(
                lzma.FORMAT_RAW, filters=[_lzma1_filter(self._header[_LZMA_HEADER.size : start])]
            )
            data = self._header[start:]
        return self._inner.decompress(data, max_length)


def _lzma1_filter(properties: bytes) -> dict[str, int]:
    """The LZMA1 filter of a 5-byte properties block (``(pb * 5 + lp) * 9 + lc``, dict size)."""
    packed, dictionary = properties[0], int.from_bytes(properties[1:5], "little")
    if packed >= 9 * 5 * 5:
        raise lzma.LZMAError("LZMA properties byte is out of range")
    lc, rest = packed % 9, packed // 9
    return {
        "id": lzma.FILTER_LZMA1,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
        "dict_size": dictionary,
    }


def new_decompressor(method: int) -> Decompressor | None:
    """A decompressor for ``method`` when it is bzip2 or LZMA, else None."""
    if method == BZIP2:
        return bz2.BZ2Decompressor()
    if method == LZMA:
        return ZipLzmaDecompressor()
    return None
