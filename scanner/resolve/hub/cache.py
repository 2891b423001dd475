"""On-disk cache of Hub answers: immutable at a fixed commit, so kept for good; refs are dated.

Layout under ``<cache_dir>/hub/sovscan-v1/``:

- ``info/<key-hash>.json``: a repo's normalised info at one commit (JSON object, shape owned by
  ``scanner.resolve.hub.api``).
- ``refs/<key-hash>.json``: the commit a revision name (a branch, a tag, or "" for the default
  branch) pointed to when last asked online, with the time it was asked. Branches move: online
  they are always asked again; offline the last answer is used and the caller says so.
- ``files/<key-hash>.bin``: a small file's bytes at a commit.
- ``ranges/<key-hash>.bin``: the longest prefix of a file read so far at a commit (headers).

Every key includes the Hub endpoint (a mirror or a test fake is another Hub) and the repo type;
repo ids are compared case-insensitively, as the Hub does. File names are SHA-256 digests of the
key, so no name from the Hub ever becomes a path. Each entry repeats its key and blobs carry the
SHA-256 of their payload, so a collision, a truncated write or a damaged file reads as a miss.

The cache is an optimisation, never a source of failure: unreadable or corrupt entries are misses
(with a warning logged), failed writes are dropped with a warning. Writes are atomic (temporary
file + rename), so concurrent sovscan processes may share the directory.
Nothing secret is stored: entries hold only what the Hub answered, never request headers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_LOG = logging.getLogger(__name__)

#: Directory, under the cache directory, that holds everything this module writes.
HUB_CACHE_SUBDIR: Final = Path("hub") / "sovscan-v1"
#: Largest JSON entry read back, in bytes (repo info of huge dataset repos is a few MB).
MAX_ENTRY_BYTES: Final = 64 * 1024 * 1024
#: Largest blob payload read back, in bytes.
MAX_BLOB_BYTES: Final = 256 * 1024 * 1024

_FORMAT: Final = "sovscan-hub-cache"
_VERSION: Final = 1
_BLOB_MAGIC: Final = b"SOVSCAN-BLOB-1 "
#: Blob header: magic, 64 hex digits, a space, up to 20 digits of length, a newline.
_BLOB_HEADER_MAX: Final = len(_BLOB_MAGIC) + 64 + 1 + 20 + 1
_HEX_DIGITS: Final = frozenset("0123456789abcdef")
_COMMIT_HEX_CHARS: Final = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedRef:
    """Where a revision name pointed when it was last asked online."""

    commit: str
    fetched_at: float
    """Unix time of that answer."""


class HubCache:
    """Hub answers stored under ``<cache_dir>/hub``; see the module doc for the guarantees."""

    def __init__(self, cache_dir: Path, *, endpoint: str) -> None:
        self._root = cache_dir / HUB_CACHE_SUBDIR
        self._endpoint = endpoint.rstrip("/")

    @property
    def root(self) -> Path:
        """The directory holding the entries."""
        return self._root

    # -- repo info at a commit --------------------------------------------------------------

    def get_info(self, repo_type: str, repo_id: str, commit: str) -> dict[str, object] | None:
        """The stored info of ``repo_id`` at ``commit``, or None."""
        value = self._read_json("info", self._key("info", repo_type, repo_id, commit))
        return value if isinstance(value, dict) else None

    def put_info(
        self, repo_type: str, repo_id: str, commit: str, info: Mapping[str, object]
    ) -> None:
        """Store the info of ``repo_id`` at ``commit`` (a JSON-serialisable object)."""
        self._write_json("info", self._key("info", repo_type, repo_id, commit), dict(info))

    # -- revision name -> commit -----------------------------------------------------------

    def get_ref(self, repo_type: str, repo_id: str, revision: str) -> CachedRef | None:
        """The commit ``revision`` ("" for the default branch) last resolved to, or None."""
        key = self._key("ref", repo_type, repo_id, revision)
        value = self._read_json("refs", key)
        if value is None:
            return None
        ref = _cached_ref(value)
        if ref is None:
            self._warn_corrupt(self._path("refs", key, ".json"), "unexpected content")
        return ref

    def put_ref(self, repo_type: str, repo_id: str, revision: str, commit: str) -> None:
        """Record that ``revision`` ("" for the default branch) resolves to ``commit`` now."""
        value = {"commit": commit, "fetched_at": time.time()}
        self._write_json("refs", self._key("ref", repo_type, repo_id, revision), value)

    # -- small files and header prefixes ----------------------------------------------------

    def get_file(self, repo_type: str, repo_id: str, commit: str, path: str) -> bytes | None:
        """The stored bytes of ``path`` at ``commit``, or None."""
        return self._read_blob("files", self._key("file", repo_type, repo_id, commit, path))

    def put_file(self, repo_type: str, repo_id: str, commit: str, path: str, data: bytes) -> None:
        """Store the bytes of ``path`` at ``commit``."""
        self._write_blob("files", self._key("file", repo_type, repo_id, commit, path), data)

    def get_prefix(self, repo_type: str, repo_id: str, commit: str, path: str) -> bytes | None:
        """The longest stored prefix of ``path`` at ``commit``, or None."""
        return self._read_blob("ranges", self._key("prefix", repo_type, repo_id, commit, path))

    def put_prefix(self, repo_type: str, repo_id: str, commit: str, path: str, data: bytes) -> None:
        """Store a prefix of ``path`` at ``commit`` unless a longer one is already stored."""
        key = self._key("prefix", repo_type, repo_id, commit, path)
        existing = self._read_blob("ranges", key, quiet=True)
        if existing is None or len(existing) < len(data):
            self._write_blob("ranges", key, data)

    # -- storage ----------------------------------------------------------------------------

    def _key(self, kind: str, repo_type: str, repo_id: str, *rest: str) -> list[str]:
        # Hub ids are case-insensitive; commits, revision names and paths are not.
        return [kind, self._endpoint, repo_type, repo_id.lower(), *rest]

    def _path(self, section: str, key: list[str], suffix: str) -> Path:
        return self._root / section / f"{_key_digest(key).hex()}{suffix}"

    def _read_json(self, section: str, key: list[str]) -> object:
        path = self._path(section, key, ".json")
        raw = self._read_bytes(path, MAX_ENTRY_BYTES)
        if raw is None:
            return None
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self._warn_corrupt(path, f"not JSON ({type(exc).__name__})")
            return None
        if (
            not isinstance(document, dict)
            or document.get("format") != _FORMAT
            or document.get("version") != _VERSION
        ):
            self._warn_corrupt(path, "not a sovscan cache entry of this version")
            return None
        if document.get("key") != key:  # a hash collision or a file copied from elsewhere
            self._warn_corrupt(path, "entry belongs to another key")
            return None
        return document.get("value")

    def _write_json(self, section: str, key: list[str], value: object) -> None:
        document = {"format": _FORMAT, "version": _VERSION, "key": key, "value": value}
        try:
            data = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        except (TypeError, ValueError) as exc:  # a caller's bug; the cache must not crash a scan
            _LOG.warning("Hub cache: entry not saved, it is not JSON-serialisable: %s", exc)
            return
        self._write_atomic(self._path(section, key, ".json"), data)

    def _read_blob(self, section: str, key: list[str], *, quiet: bool = False) -> bytes | None:
        path = self._path(section, key, ".bin")
        raw = self._read_bytes(path, MAX_BLOB_BYTES + _BLOB_HEADER_MAX)
        if raw is None:
            return None
        payload = _unwrap_blob(raw, key)
        if payload is None and not quiet:
            self._warn_corrupt(path, "damaged or foreign blob")
        return payload

    def _write_blob(self, section: str, key: list[str], data: bytes) -> None:
        if len(data) > MAX_BLOB_BYTES:
            return
        self._write_atomic(self._path(section, key, ".bin"), _wrap_blob(data, key))

    def _read_bytes(self, path: Path, limit: int) -> bytes | None:
        try:
            with path.open("rb") as handle:
                raw = handle.read(limit + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._warn_corrupt(path, f"unreadable ({exc.strerror or type(exc).__name__})")
            return None
        if len(raw) > limit:
            self._warn_corrupt(path, f"larger than {limit} bytes")
            return None
        return raw

    def _write_atomic(self, path: Path, data: bytes) -> None:
        temp_name: str | None = None
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file 0o600 with O_EXCL: nothing planted can redirect the write.
            fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(temp_name).replace(path)
            temp_name = None
        except OSError as exc:
            _LOG.warning(
                "Hub cache: could not save an entry in %s (%s); continuing without it",
                path.parent,
                exc.strerror or type(exc).__name__,
            )
        finally:
            if temp_name is not None:
                with contextlib.suppress(OSError):
                    Path(temp_name).unlink()

    @staticmethod
    def _warn_corrupt(where: Path | str, why: str) -> None:
        _LOG.warning("Hub cache: ignoring entry %s: %s", where, why)


def _cached_ref(value: object) -> CachedRef | None:
    if not isinstance(value, dict):
        return None
    commit, fetched_at = value.get("commit"), value.get("fetched_at")
    if (
        isinstance(commit, str)
        and len(commit) == _COMMIT_HEX_CHARS
        and set(commit) <= _HEX_DIGITS
        and isinstance(fetched_at, int | float)
        and not isinstance(fetched_at, bool)
        and math.isfinite(fetched_at)
    ):
        return CachedRef(commit=commit, fetched_at=float(fetched_at))
    return None


def _key_digest(key: list[str]) -> bytes:
    return hashlib.sha256(json.dumps(key, ensure_ascii=True).encode()).digest()


def _wrap_blob(data: bytes, key: list[str]) -> bytes:
    # The payload digest covers the key too, so a blob renamed onto another key does not verify.
    digest = hashlib.sha256(_key_digest(key) + data).hexdigest()
    return _BLOB_MAGIC + f"{digest} {len(data)}\n".encode("ascii") + data


def _unwrap_blob(raw: bytes, key: list[str]) -> bytes | None:
    newline = raw.find(b"\n", 0, _BLOB_HEADER_MAX)
    if not raw.startswith(_BLOB_MAGIC) or newline < 0:
        return None
    fields = raw[len(_BLOB_MAGIC) : newline].split(b" ")
    if len(fields) != len(("digest", "length")) or not fields[1].isdigit():
        return None
    payload = raw[newline + 1 :]
    if int(fields[1]) != len(payload):
        return None
    digest = hashlib.sha256(_key_digest(key) + payload).hexdigest()
    return payload if fields[0] == digest.encode("ascii") else None
