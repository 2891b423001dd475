from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from scanner.hashing import digest_cache as hash_cache
from scanner.hashing.digest import HashOutcome, HashRequest, hash_files
from scanner.hashing.digest_cache import DB_FILE_NAME, RACY_WINDOW_NS, HashCache, is_racy

DAY_NS = 86_400 * 1_000_000_000
DIGEST_A = "a" * 64
DIGEST_B = "b" * 64


def age(path: Path, *, seconds_ago: int = 3600) -> int:
    """Set mtime in the past (which bumps ctime to now); return the mtime in ns."""
    mtime_ns = time.time_ns() - seconds_ago * 1_000_000_000
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return mtime_ns


def write_aged(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    age(path)


def hash_with(cache: HashCache | None, *paths: Path) -> dict[Path, HashOutcome]:
    requests = [HashRequest(path=path, size=os.lstat(path).st_size) for path in paths]
    return hash_files(requests, jobs=2, cache=cache, progress=False)


def fake_stat(
    *, ino: int = 42, dev: int = 7, size: int = 10, mtime_ns: int = 1, ctime_ns: int = 2
) -> os.stat_result:
    return os.stat_result(
        (stat.S_IFREG | 0o644, ino, dev, 1, 0, 0, size, 0, 0, 0),
        {"st_mtime_ns": mtime_ns, "st_ctime_ns": ctime_ns},
    )


@pytest.fixture
def cache(tmp_path):
    with HashCache.open(tmp_path / "cache") as opened:
        assert opened.enabled
        yield opened


def test_second_run_hits_the_cache(tmp_path, cache):
    path = tmp_path / "model.safetensors"
    data = os.urandom(70_000)
    write_aged(path, data)

    first = hash_with(cache, path)[path]
    second = hash_with(cache, path)[path]

    digest = hashlib.sha256(data).hexdigest()
    assert first == HashOutcome(path=path, sha256=digest, size=70_000, from_cache=False, error=None)
    assert second == HashOutcome(path=path, sha256=digest, size=70_000, from_cache=True, error=None)


def test_cache_persists_across_processes_worth_of_open_and_close(tmp_path):
    path = tmp_path / "w.bin"
    write_aged(path, b"weights")
    with HashCache.open(tmp_path / "cache") as first:
        hash_with(first, path)

    with HashCache.open(tmp_path / "cache") as second:
        outcome = hash_with(second, path)[path]

    assert outcome.from_cache
    assert outcome.sha256 == hashlib.sha256(b"weights").hexdigest()


def test_same_size_rewrite_with_restored_mtime_misses(tmp_path, cache):
    path = tmp_path / "w.bin"
    write_aged(path, b"A" * 4096)
    hash_with(cache, path)
    before = path.stat()
    time.sleep(0.02)  # let the coarse kernel clock move on, so ctime surely differs

    path.write_bytes(b"B" * 4096)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns

    outcome = hash_with(cache, path)[path]

    assert not outcome.from_cache
    assert outcome.sha256 == hashlib.sha256(b"B" * 4096).hexdigest()


def test_size_change_misses(tmp_path, cache):
    path = tmp_path / "w.bin"
    write_aged(path, b"short")
    hash_with(cache, path)
    write_aged(path, b"a longer content")

    outcome = hash_with(cache, path)[path]

    assert not outcome.from_cache
    assert outcome.sha256 == hashlib.sha256(b"a longer content").hexdigest()


def test_racy_file_is_not_cached_until_it_is_old(tmp_path, cache):
    path = tmp_path / "being-written.bin"
    path.write_bytes(b"fresh")  # mtime is now: racy

    assert not hash_with(cache, path)[path].from_cache
    assert not hash_with(cache, path)[path].from_cache

    age(path, seconds_ago=10)
    assert not hash_with(cache, path)[path].from_cache  # this run stores it
    assert hash_with(cache, path)[path].from_cache


def test_file_replaced_by_symlink_is_not_served_from_cache(tmp_path, cache):
    path = tmp_path / "w.bin"
    write_aged(path, b"content")
    hash_with(cache, path)
    moved = tmp_path / "elsewhere.bin"
    path.rename(moved)
    path.symlink_to(moved)

    outcome = hash_with(cache, path)[path]

    assert outcome.sha256 is None
    assert outcome.error == "is a symbolic link (symlinks are never followed)"


def test_failed_file_is_not_cached(tmp_path, cache):
    path = tmp_path / "w.bin"
    write_aged(path, b"0123456789")
    wrong = HashRequest(path=path, size=5)

    outcomes = hash_files([wrong], jobs=1, cache=cache, progress=False)

    assert outcomes[path].error is not None
    assert cache.lookup(path.stat()) is None


def test_is_racy_window():
    now = 1_000 * 1_000_000_000
    assert is_racy(fake_stat(mtime_ns=now), now_ns=now)
    assert is_racy(fake_stat(mtime_ns=now + DAY_NS), now_ns=now)  # from the future
    assert is_racy(fake_stat(mtime_ns=now - RACY_WINDOW_NS + 1), now_ns=now)
    assert not is_racy(fake_stat(mtime_ns=now - RACY_WINDOW_NS), now_ns=now)


def test_store_and_lookup_compare_the_whole_key(cache):
    old = time.time_ns() - DAY_NS
    stored = fake_stat(mtime_ns=old, ctime_ns=old)

    assert cache.store_many([(stored, DIGEST_A)]) == 1

    assert cache.lookup(stored) == DIGEST_A
    assert cache.lookup(fake_stat(mtime_ns=old, ctime_ns=old + 1)) is None
    assert cache.lookup(fake_stat(mtime_ns=old + 1, ctime_ns=old)) is None
    assert cache.lookup(fake_stat(mtime_ns=old, ctime_ns=old, size=11)) is None
    assert cache.lookup(fake_stat(mtime_ns=old, ctime_ns=old, ino=43)) is None
    assert cache.lookup(fake_stat(mtime_ns=old, ctime_ns=old, dev=8)) is None


def test_changed_file_replaces_its_row(tmp_path, cache):
    old = time.time_ns() - DAY_NS
    cache.store_many([(fake_stat(mtime_ns=old), DIGEST_A)])
    cache.store_many([(fake_stat(mtime_ns=old + 5), DIGEST_B)])

    assert cache.lookup(fake_stat(mtime_ns=old + 5)) == DIGEST_B
    assert cache.lookup(fake_stat(mtime_ns=old)) is None
    with sqlite3.connect(tmp_path / "cache" / DB_FILE_NAME) as raw:
        assert raw.execute("SELECT COUNT(*) FROM file_hashes").fetchone()[0] == 1


def test_store_many_skips_racy_and_non_regular_entries(cache):
    old = time.time_ns() - DAY_NS
    directory = os.stat_result(
        (stat.S_IFDIR | 0o755, 9, 7, 1, 0, 0, 0, 0, 0, 0),
        {"st_mtime_ns": old, "st_ctime_ns": old},
    )
    racy = fake_stat(ino=10, mtime_ns=time.time_ns())

    assert cache.store_many([(directory, DIGEST_A), (racy, DIGEST_A)]) == 0
    assert cache.lookup(racy) is None


def test_store_many_rejects_a_malformed_digest(cache):
    with pytest.raises(ValueError, match="not a lowercase hex sha256"):
        cache.store_many([(fake_stat(), "A" * 64)])


def test_inode_numbers_past_the_signed_64_bit_range(cache):
    old = time.time_ns() - DAY_NS
    huge = fake_stat(ino=2**64 - 1, dev=2**63, mtime_ns=old)
    neighbour = fake_stat(ino=2**63 - 1, dev=2**63, mtime_ns=old)

    assert cache.store_many([(huge, DIGEST_A), (neighbour, DIGEST_B)]) == 2

    assert cache.lookup(huge) == DIGEST_A
    assert cache.lookup(neighbour) == DIGEST_B


def test_a_damaged_row_is_not_reported(tmp_path, cache):
    old = time.time_ns() - DAY_NS
    st = fake_stat(mtime_ns=old)
    cache.store_many([(st, DIGEST_A)])
    with sqlite3.connect(tmp_path / "cache" / DB_FILE_NAME) as raw:
        raw.execute("UPDATE file_hashes SET sha256 = 'not-a-digest'")

    assert cache.lookup(st) is None


def test_cache_files_are_private(tmp_path):
    cache_dir = tmp_path / "nested" / "cache"
    with HashCache.open(cache_dir):
        pass

    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache_dir / DB_FILE_NAME).stat().st_mode) == 0o600


def test_corrupt_database_degrades_to_no_cache(tmp_path, caplog):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / DB_FILE_NAME).write_bytes(b"this is not an sqlite database" * 100)
    path = tmp_path / "w.bin"
    write_aged(path, b"weights")

    with caplog.at_level(logging.WARNING, logger="scanner"), HashCache.open(cache_dir) as cache:
        assert not cache.enabled
        first = hash_with(cache, path)[path]
        second = hash_with(cache, path)[path]

    assert "hash cache disabled" in caplog.text
    assert "file is not a database" in caplog.text
    digest = hashlib.sha256(b"weights").hexdigest()
    assert first == second
    assert first == HashOutcome(path=path, sha256=digest, size=7, from_cache=False, error=None)


def test_cache_dir_that_is_a_file_degrades(tmp_path, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory should be")

    with caplog.at_level(logging.WARNING, logger="scanner"):
        cache = HashCache.open(blocker)

    assert not cache.enabled
    assert cache.lookup(fake_stat()) is None
    assert cache.store_many([(fake_stat(mtime_ns=0), DIGEST_A)]) == 0
    assert "hash cache disabled" in caplog.text


def test_database_of_another_schema_version_is_left_alone(tmp_path, caplog):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    with sqlite3.connect(cache_dir / DB_FILE_NAME) as raw:
        raw.execute("PRAGMA user_version = 99")

    with caplog.at_level(logging.WARNING, logger="scanner"), HashCache.open(cache_dir) as cache:
        assert not cache.enabled

    assert "schema version 99" in caplog.text
    with sqlite3.connect(cache_dir / DB_FILE_NAME) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 99


def test_two_caches_share_one_database(tmp_path):
    old = time.time_ns() - DAY_NS
    with (
        HashCache.open(tmp_path / "cache") as one,
        HashCache.open(tmp_path / "cache") as other,
    ):
        one.store_many([(fake_stat(ino=1, mtime_ns=old), DIGEST_A)])
        other.store_many([(fake_stat(ino=2, mtime_ns=old), DIGEST_B)])

        assert other.lookup(fake_stat(ino=1, mtime_ns=old)) == DIGEST_A
        assert one.lookup(fake_stat(ino=2, mtime_ns=old)) == DIGEST_B


def test_write_lock_held_elsewhere_skips_the_store_and_keeps_the_cache(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(hash_cache, "BUSY_TIMEOUT_S", 0.1)
    old = time.time_ns() - DAY_NS
    st = fake_stat(mtime_ns=old)
    with HashCache.open(tmp_path / "cache") as cache:
        other = sqlite3.connect(tmp_path / "cache" / DB_FILE_NAME, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with caplog.at_level(logging.WARNING, logger="scanner"):
                assert cache.store_many([(st, DIGEST_A)]) == 0
            other.execute("ROLLBACK")
        finally:
            other.close()

        assert "hash cache busy" in caplog.text
        assert cache.enabled
        assert cache.store_many([(st, DIGEST_A)]) == 1
        assert cache.lookup(st) == DIGEST_A


def test_closed_cache_misses(tmp_path):
    old = time.time_ns() - DAY_NS
    st = fake_stat(mtime_ns=old)
    cache = HashCache.open(tmp_path / "cache")
    cache.store_many([(st, DIGEST_A)])

    cache.close()

    assert not cache.enabled
    assert cache.lookup(st) is None
