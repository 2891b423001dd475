"""Recognise Git LFS pointer files: the stub a clone without LFS leaves instead of the content."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.core.capped_io import decode_utf8, read_prefix
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

#: Largest pointer file, per the Git LFS spec ("less than 1024 bytes"); bigger files are content.
POINTER_MAX_BYTES = 1024
#: Most decimal digits accepted for ``size`` (2**64 has 20).
MAX_SIZE_DIGITS = 20

_VERSION_LINE = b"version https://git-lfs.github.com/spec/v1"
_KEY = re.compile(r"[a-z0-9.-]+")
_SHA256_OID = re.compile(r"sha256:(?P<hex>[0-9a-f]{64})")
_SIZE = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class LfsPointer:
    """What a Git LFS pointer says about the file it stands for."""

    sha256: str
    """SHA-256 of the real content, lowercase hex (the Hub's ``lfs.sha256``)."""
    size: int
    """Size of the real content in bytes."""


def read_lfs_pointer(path: Path) -> LfsPointer | None:
    """Return the pointer stored at ``path``, or None when the file is not an LFS pointer.

    A file is a pointer when it is at most ``POINTER_MAX_BYTES`` bytes and its first line is
    exactly the spec v1 version line; only then is the rest read. CRLF line ends are tolerated.

    Raises:
        MalformedFileError: the file starts like a pointer but is broken (bad oid, missing or
            repeated keys, keys out of order, not UTF-8).
        OSError: the file cannot be opened or read.
    """
    status = path.stat()
    if not stat.S_ISREG(status.st_mode) or status.st_size > POINTER_MAX_BYTES:
        return None
    data = read_prefix(path, max_bytes=POINTER_MAX_BYTES + 1)
    first_line, _, rest = data.partition(b"\n")
    if len(data) > POINTER_MAX_BYTES or first_line.rstrip(b"\r") != _VERSION_LINE:
        return None
    entries = _entries(decode_utf8(rest, base_offset=len(first_line) + 1))
    return LfsPointer(sha256=_oid(entries.get("oid")), size=_size(entries.get("size")))


def starts_like_pointer(stream: BinaryIO, size: int) -> bool:
    """Whether a stream holding a file of ``size`` bytes from its first byte is, by the rule
    ``read_lfs_pointer`` applies, a Git LFS pointer (its content is checked there)."""
    if size > POINTER_MAX_BYTES:
        return False
    first_line = stream.read(len(_VERSION_LINE) + 2).partition(b"\n")[0]
    return first_line.rstrip(b"\r") == _VERSION_LINE


def _entries(text: str) -> dict[str, str]:
    """The ``key value`` lines after the version line, checked for form and order."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    entries: dict[str, str] = {}
    for number, line in enumerate(lines, start=2):
        key, space, value = line.partition(" ")
        if not space or _KEY.fullmatch(key) is None:
            raise MalformedFileError(f"LFS pointer line {number} is not 'key value'")
        if key in entries:
            raise MalformedFileError(f"LFS pointer repeats the key {key!r}")
        if entries and key < next(reversed(entries)):
            raise MalformedFileError(f"LFS pointer key {key!r} is out of order")
        entries[key] = value
    return entries


def _oid(value: str | None) -> str:
    if value is None:
        raise MalformedFileError("LFS pointer has no oid")
    match = _SHA256_OID.fullmatch(value)
    if match is None:
        raise MalformedFileError(f"LFS pointer oid {value[:80]!r} is not sha256:<64 hex digits>")
    return match["hex"]


def _size(value: str | None) -> int:
    if value is None:
        raise MalformedFileError("LFS pointer has no size")
    if _SIZE.fullmatch(value) is None or len(value) > MAX_SIZE_DIGITS:
        raise MalformedFileError(f"LFS pointer size {value[:40]!r} is not a byte count")
    return int(value)
