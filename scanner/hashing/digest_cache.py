"""A persistent sha256 cache keyed by file identity, so an unchanged folder rescans in a second.

The key is ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``. Rewriting a file changes its
mtime; restoring the mtime afterwards (``touch -d``, ``os.utime``) still changes its ctime, which
no unprivileged process can set back; so a changed file misses.

Racy entries are never stored (the same idea as git's racy-index check): a file whose mtime is
within ``RACY_WINDOW_NS`` of now (or in the future) may still be being written, and a write in the
same timestamp tick as our hash would leave every stat field as it was. Such a file is hashed
every time until it has been quiet for two seconds.

The cache is an optimisation, never a source of failure: a corrupt, locked, unwritable or
unknown-version database logs a warning on the ``sovscan`` logger and the scan goes on without
it. A ``HashCache`` is used from one thread; several sovscan processes may share one database
(WAL mode, busy timeout).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Final, Self

_LOG = logging.getLogger(__name__)

#: File name of the database inside the cache directory.
DB_FILE_NAME: Final = "hashes.sqlite3"
#: Bump when the table layout changes; a database of another version is left alone, unused.
SCHEMA_VERSION: Final = 1
#: A file modified less than this long ago (or in the future) is not cached.
RACY_WINDOW_NS: Final = 2_000_000_000
#: How long to wait for another sovscan process holding the write lock.
BUSY_TIMEOUT_S: Final = 5.0

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_U64_SIGN_BIT: Final = 1 << 63

_CREATE_TABLE: Final = """
CREATE TABLE IF NOT EXISTS file_hashes (
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (dev, ino)
) WITHOUT ROWID
"""
_LOOKUP: Final = (
    "SELECT sha256 FROM file_hashes"
    " WHERE dev = ? AND ino = ? AND size = ? AND mtime_ns = ? AND ctime_ns = ?"
)
# One row per inode: a changed file replaces its old row, so the table grows with the number of
# distinct files seen, not with the number of scans.
_UPSERT: Final = (
    "INSERT OR REPLACE INTO file_hashes (dev, ino, size, mtime_ns, ctime_ns, sha256)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

_Key = tuple[int, int, int, int, int]


class HashCache:
    """sha256 digests of regular files, stored in ``<cache_dir>/hashes.sqlite3``.

    Build one with ``HashCache.open``; use it as a context manager or call ``close``.
    """

    def __init__(self, connection: sqlite3.Connection | None, db_path: Path) -> None:
        self._connection = connection
        self._db_path = db_path

    @classmethod
    def open(cls, cache_dir: Path) -> HashCache:
        """Open (creating if needed) the cache in ``cache_dir``; never raises.

        The directory is created with mode 0o700 and the database with 0o600. Any failure gives
        a disabled cache (every lookup misses, stores are dropped) and one warning.
        """
        db_path = cache_dir / DB_FILE_NAME
        connection: sqlite3.Connection | None = None
        try:
            cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_private_file(db_path)
            connection = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            _prepare_schema(connection)
        except (OSError, sqlite3.Error, _SchemaVersionError) as exc:
            if connection is not None:
                connection.close()
            _warn_disabled(db_path, exc)
            return cls(None, db_path)
        return cls(connection, db_path)

    @property
    def enabled(self) -> bool:
        """False once the cache has given up (it then behaves as an empty, read-only cache)."""
        return self._connection is not None

    def lookup(self, st: os.stat_result) -> str | None:
        """The cached sha256 (lowercase hex) of the file ``st`` describes, or None.

        ``st`` must be a fresh ``os.stat``/``os.lstat`` of the path; only regular files can hit.
        """
        if self._connection is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            row = self._connection.execute(_LOOKUP, _key(st)).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        if row is None:
            return None
        digest = row[0]
        # A row we did not write (or a damaged page) must not become a reported digest.
        if isinstance(digest, str) and _SHA256_HEX.fullmatch(digest):
            return digest
        return None

    def store_many(self, items: Iterable[tuple[os.stat_result, str]]) -> int:
        """Store ``(stat, sha256)`` pairs in one transaction; return how many were stored.

        Skips entries that are not regular files or whose mtime is racy (see the module doc).
        Raises ValueError for a digest that is not 64 lowercase hex digits (a caller's bug);
        database trouble only logs a warning.
        """
        now_ns = time.time_ns()
        rows: list[tuple[int, int, int, int, int, str]] = []
        for st, digest in items:
            if not _SHA256_HEX.fullmatch(digest):
                raise ValueError(f"not a lowercase hex sha256: {digest!r}")
            if stat.S_ISREG(st.st_mode) and not is_racy(st, now_ns=now_ns):
                rows.append((*_key(st), digest))
        if self._connection is None or not rows:
            return 0
        try:
            # IMMEDIATE takes the write lock up front, so a concurrent writer makes us wait
            # (busy timeout) instead of failing halfway through the transaction.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany(_UPSERT, rows)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                _LOG.warning(
                    "hash cache busy (%s); %d digests not saved this time", self._db_path, len(rows)
                )
                return 0
            self._disable(exc)
            return 0
        except sqlite3.Error as exc:
            self._disable(exc)
            return 0
        return len(rows)

    def close(self) -> None:
        """Close the database; the cache is disabled afterwards."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _disable(self, exc: BaseException) -> None:
        self.close()
        _warn_disabled(self._db_path, exc)


def is_racy(st: os.stat_result, *, now_ns: int) -> bool:
    """True when the file was modified within ``RACY_WINDOW_NS`` of ``now_ns`` (or later)."""
    return st.st_mtime_ns > now_ns - RACY_WINDOW_NS


class _SchemaVersionError(Exception):
    """The database was written by another version of sovscan's cache."""


def _create_private_file(db_path: Path) -> None:
    # sqlite would create the file 0o644; create it ourselves so the inode list stays private.
    # O_NOFOLLOW: a planted symlink must not redirect our writes.
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    os.close(os.open(db_path, flags, 0o600))


def _prepare_schema(connection: sqlite3.Connection) -> None:
    # The first statement on a damaged file raises sqlite3.DatabaseError ("file is not a
    # database"), which the caller turns into a disabled cache.
    connection.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the database; it may lose the last commits on power
    # loss, which for a cache only means rehashing.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        _require_known_version(version)
        if version == 0:
            connection.execute(_CREATE_TABLE)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _require_known_version(version: int) -> None:
    if version not in (0, SCHEMA_VERSION):
        raise _SchemaVersionError(f"schema version {version}, this sovscan uses {SCHEMA_VERSION}")


def _key(st: os.stat_result) -> _Key:
    return (
        _as_sqlite_int(st.st_dev),
        _as_sqlite_int(st.st_ino),
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


def _as_sqlite_int(value: int) -> int:
    # SQLite integers are signed 64-bit; some filesystems hand out inode numbers >= 2**63.
    # Reinterpret as two's complement: a bijection on 64-bit values, so keys stay distinct.
    return value - (1 << 64) if value >= _U64_SIGN_BIT else value


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def _warn_disabled(db_path: Path, exc: BaseException) -> None:
    _LOG.warning(
        "hash cache disabled, continuing without it: %s (%s; delete it to start afresh)",
        exc,
        db_path,
    )
