"""Read the ``.metadata`` files huggingface_hub leaves beside files downloaded into a local dir."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.capped_io import read_text_capped
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from pathlib import Path

#: Where huggingface_hub keeps them, relative to the download root.
DOWNLOAD_METADATA_DIR = PurePosixPath(".cache/huggingface/download")
#: Suffix appended to the downloaded file's path.
METADATA_SUFFIX = ".metadata"
#: Largest metadata file read; a real one is about 120 bytes (commit, etag, timestamp).
DOWNLOAD_METADATA_MAX_BYTES = 4096
#: Longest etag accepted (a git SHA-1 or an LFS SHA-256 is 40 or 64 characters).
MAX_ETAG_CHARS = 256

_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
_ETAG = re.compile(r"[!-~]+")  # printable ASCII without spaces; the client strips quotes
_TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,20})?(?:[eE][+-]?[0-9]{1,3})?")


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadMetadata:
    """Where a downloaded file came from, as huggingface_hub recorded it."""

    commit: str
    """Lowercase 40-hex commit of the repo revision the file was downloaded at."""
    etag: str
    """The file's ETag: its git blob SHA-1, or its SHA-256 for LFS files."""
    timestamp: float
    """Seconds since the epoch when the download finished."""


def read_download_metadata(path: Path) -> DownloadMetadata:
    """Read a ``.cache/huggingface/download/<path>.metadata`` file.

    Parsed here rather than with huggingface_hub, whose reader deletes files it finds malformed.

    Raises:
        MalformedFileError: not three lines of commit, etag and timestamp.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=DOWNLOAD_METADATA_MAX_BYTES)
    lines = [line.strip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) != 3:
        raise MalformedFileError(
            f"{len(lines)} lines where commit, etag and timestamp were expected"
        )
    commit, etag, timestamp = lines
    return DownloadMetadata(
        commit=_commit(commit), etag=_etag(etag), timestamp=_timestamp(timestamp)
    )


def _commit(value: str) -> str:
    if _COMMIT.fullmatch(value) is None:
        raise MalformedFileError(f"commit {value[:60]!r} is not 40 hex digits")
    return value.lower()


def _etag(value: str) -> str:
    if len(value) > MAX_ETAG_CHARS or _ETAG.fullmatch(value) is None:
        raise MalformedFileError(f"etag {value[:60]!r} is not a printable ASCII token")
    return value


def _timestamp(value: str) -> float:
    if _TIMESTAMP.fullmatch(value) is None:
        raise MalformedFileError(f"timestamp {value[:60]!r} is not a number of seconds")
    seconds = float(value)
    if not math.isfinite(seconds):
        raise MalformedFileError(f"timestamp {value[:60]!r} is out of range")
    return seconds


def download_metadata_target(metadata_path: PurePosixPath) -> PurePosixPath:
    """Map ``.cache/huggingface/download/a/b.bin.metadata`` to the file it describes, ``a/b.bin``.

    ``metadata_path`` is relative to the download root.

    Raises:
        ValueError: the path is not a ``.metadata`` file under ``DOWNLOAD_METADATA_DIR``.
        MalformedFileError: the path names no file (``.metadata`` alone) or climbs out (``..``).
    """
    prefix = DOWNLOAD_METADATA_DIR.parts
    parts = metadata_path.parts
    if parts[: len(prefix)] != prefix or not metadata_path.name.endswith(METADATA_SUFFIX):
        raise ValueError(f"{metadata_path} is not a download metadata file")
    target_parts = (*parts[len(prefix) : -1], metadata_path.name.removesuffix(METADATA_SUFFIX))
    if target_parts[-1] in {"", "."} or ".." in target_parts:
        raise MalformedFileError(f"{metadata_path} does not name a file inside the folder")
    return PurePosixPath(*target_parts)
