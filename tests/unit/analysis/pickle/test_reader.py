"""Tests for capped stream reading: truncation, huge declared lengths, the byte limit."""

from __future__ import annotations

import io
import pickle
import struct
import time
from typing import TYPE_CHECKING, Any

import pytest

from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle.scan import scan_pickle_stream
from tests.unit.analysis.pickle.pickles import OS_SYSTEM_V0, PLAIN_DATA, PROTO4, kinds, stream

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


def test_stream_is_left_just_past_stop() -> None:
    first = pickle.dumps([1, 2], protocol=4)
    data = io.BytesIO(first + pickle.dumps(OS_SYSTEM_V0))
    scan = scan_pickle_stream(data)
    assert scan.end_offset == len(first) == data.tell()
    assert scan.imports == ()


def test_every_truncation_is_incomplete_and_unreadable() -> None:
    data = pickle.dumps(PLAIN_DATA, protocol=4)
    for end in range(len(data)):
        scan = stream(data[:end])
        assert not scan.complete
        assert RiskKind.UNREADABLE in kinds(scan.risks)
        assert scan.end_offset <= end


class Unseekable(io.RawIOBase):
    """A pipe-like stream: no seek, no tell."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self._data.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (PROTO4 + b"\x8d" + struct.pack("<Q", 2**62), "more than any file"),
        (PROTO4 + b"\x8e" + struct.pack("<Q", 2**40) + b"abc", "but only 3 remain"),
        (PROTO4 + b"\x96" + struct.pack("<Q", 2**33), "but only 0 remain"),
        (PROTO4 + b"\x95" + struct.pack("<Q", 2**60) + b"N.", "more than the data holds"),
        (b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1) + b"\x00", "but only 1 remain"),
        (b"T" + struct.pack("<i", -5), "negative length"),
        (b"X" + struct.pack("<I", 2**32 - 1), "but only 0 remain"),
        (b"\x80\x02\x8a\xff\x01", "runs past the end"),
    ],
)
def test_huge_declared_lengths(data: bytes, problem: str) -> None:
    started = time.monotonic()
    scan = stream(data)
    assert not scan.complete
    assert problem in scan.problems[-1]
    unseekable = scan_pickle_stream(io.BufferedReader(Unseekable(data)))
    assert not unseekable.complete
    assert time.monotonic() - started < 5


def test_byte_limit() -> None:
    scan = stream(pickle.dumps(list(range(10_000)), protocol=2), max_bytes=1000)
    assert not scan.complete
    assert "byte limit" in scan.problems[0]


class CountingReads(io.RawIOBase):
    """A stream that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.data.readinto(buffer)
        self.read_bytes += count
        return count


@pytest.mark.parametrize("opcode", [b"g", b"p", b"I", b"L"])
def test_a_number_line_longer_than_int_accepts_is_no_pickle_and_is_not_read_on(
    opcode: bytes,
) -> None:
    # A GGML file ("ggjt" + zeros) starts like a GET whose line never ends.
    data = opcode + b"1" * 5_000 + b"\n."
    scan = stream(data)
    assert not scan.complete
    assert "longer than 4400 bytes" in scan.problems[-1]
    ggml = CountingReads(b"ggjt" + bytes(10_000_000))
    assert not scan_pickle_stream(io.BufferedReader(ggml, 8192)).complete
    assert ggml.read_bytes < 100_000


def test_a_number_line_within_what_int_accepts_is_read() -> None:
    digits = b"7" * 4_300
    scan = stream(b"L" + digits + b"L\n.")
    assert scan.complete, scan.problems


def test_a_long_text_line_is_still_read_through() -> None:
    scan = stream(b"S'" + b"a" * 100_000 + b"'\n.")
    assert scan.complete, scan.problems
