"""HubCache: keyed, atomic, self-verifying entries; a damaged cache is a miss, never a crash."""

from __future__ import annotations

import logging
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.resolve.hub import cache as hub_cache
from scanner.resolve.hub.cache import HUB_CACHE_SUBDIR, HubCache

ENDPOINT = "https://huggingface.co"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "f" * 40
INFO = {"repo_id": "acme/m", "commit": COMMIT, "tags": ["x", "y"], "card_data": {"license": "mit"}}


def _cache(tmp_path: Path, endpoint: str = ENDPOINT) -> HubCache:
    return HubCache(tmp_path, endpoint=endpoint)


def _entries(tmp_path: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in (tmp_path / HUB_CACHE_SUBDIR).rglob(pattern) if p.is_file())


def test_info_round_trip_and_keys(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    assert cache.get_info("model", "acme/m", COMMIT) is None
    cache.put_info("model", "acme/m", COMMIT, INFO)
    assert cache.get_info("model", "acme/m", COMMIT) == INFO
    assert cache.get_info("model", "ACME/M", COMMIT) == INFO  # Hub ids are case-insensitive
    assert cache.get_info("dataset", "acme/m", COMMIT) is None
    assert cache.get_info("model", "acme/m", OTHER_COMMIT) is None
    assert cache.get_info("model", "acme/other", COMMIT) is None
    # Another endpoint (a mirror, a test fake) is another Hub.
    assert _cache(tmp_path, "http://127.0.0.1:8080").get_info("model", "acme/m", COMMIT) is None
    assert _cache(tmp_path, ENDPOINT + "/").get_info("model", "acme/m", COMMIT) == INFO


def test_ref_round_trip(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    before = time.time()
    cache.put_ref("model", "acme/m", "", COMMIT)
    ref = cache.get_ref("model", "acme/m", "")
    assert ref is not None
    assert ref.commit == COMMIT
    assert before <= ref.fetched_at <= time.time()
    assert cache.get_ref("model", "acme/m", "main") is None
    cache.put_ref("model", "acme/m", "", OTHER_COMMIT)  # the branch moved
    moved = cache.get_ref("model", "acme/m", "")
    assert moved is not None
    assert moved.commit == OTHER_COMMIT


def test_file_and_prefix_round_trip(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    cache.put_file("model", "acme/m", COMMIT, "config.json", b'{"a": 1}')
    assert cache.get_file("model", "acme/m", COMMIT, "config.json") == b'{"a": 1}'
    assert cache.get_file("model", "acme/m", COMMIT, "README.md") is None
    assert cache.get_file("model", "acme/m", OTHER_COMMIT, "config.json") is None
    cache.put_file("model", "acme/m", COMMIT, "empty.txt", b"")
    assert cache.get_file("model", "acme/m", COMMIT, "empty.txt") == b""
    cache.put_prefix("model", "acme/m", COMMIT, "w.safetensors", b"0123456789")
    cache.put_prefix("model", "acme/m", COMMIT, "w.safetensors", b"0123")  # shorter: kept longer
    assert cache.get_prefix("model", "acme/m", COMMIT, "w.safetensors") == b"0123456789"
    cache.put_prefix("model", "acme/m", COMMIT, "w.safetensors", b"0123456789abcdef")
    assert cache.get_prefix("model", "acme/m", COMMIT, "w.safetensors") == b"0123456789abcdef"


def test_names_are_hashes_and_files_are_private(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    cache.put_file("model", "acme/m", COMMIT, "../../../etc/passwd", b"x")
    cache.put_info("model", "acme/m", COMMIT, INFO)
    entries = _entries(tmp_path)
    assert len(entries) == 2
    for entry in entries:
        assert len(entry.stem) == 64
        assert entry.is_relative_to(tmp_path / HUB_CACHE_SUBDIR)
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert not list((tmp_path / HUB_CACHE_SUBDIR).rglob(".tmp-*"))
    assert stat.S_IMODE((tmp_path / HUB_CACHE_SUBDIR / "files").stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{ not json",
        b"[1, 2]",
        b'{"format": "sovscan-hub-cache", "version": 99, "key": [], "value": {}}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_damaged_json_entry_is_a_miss_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: bytes
) -> None:
    cache = _cache(tmp_path)
    cache.put_info("model", "acme/m", COMMIT, INFO)
    cache.put_ref("model", "acme/m", "", COMMIT)
    for entry in _entries(tmp_path, "*.json"):
        entry.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="sovscan"):
        assert cache.get_info("model", "acme/m", COMMIT) is None
        assert cache.get_ref("model", "acme/m", "") is None
    assert any("Hub cache: ignoring entry" in r.getMessage() for r in caplog.records)


def test_entry_copied_onto_another_key_is_a_miss(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    cache.put_info("model", "acme/a", COMMIT, {"who": "a"})
    cache.put_info("model", "acme/b", COMMIT, {"who": "b"})
    cache.put_file("model", "acme/a", COMMIT, "f", b"aaa")
    cache.put_file("model", "acme/b", COMMIT, "f", b"bbb")
    for section, suffix in (("info", ".json"), ("files", ".bin")):
        source, target = sorted((tmp_path / HUB_CACHE_SUBDIR / section).glob(f"*{suffix}"))
        target.write_bytes(source.read_bytes())
    infos = [cache.get_info("model", repo, COMMIT) for repo in ("acme/a", "acme/b")]
    assert infos.count(None) == 1
    assert infos.count({"who": "a"}) + infos.count({"who": "b"}) == 1
    files = [cache.get_file("model", repo, COMMIT, "f") for repo in ("acme/a", "acme/b")]
    assert files.count(None) == 1
    assert files.count(b"aaa") + files.count(b"bbb") == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1],  # truncated payload
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # flipped bit
        lambda raw: raw.replace(b"SOVSCAN-BLOB-1", b"SOVSCAN-BLOB-2"),
        lambda raw: b"",
        lambda raw: raw + b"extra",
    ],
)
def test_damaged_blob_is_a_miss(tmp_path: Path, mangle: object) -> None:
    cache = _cache(tmp_path)
    cache.put_file("model", "acme/m", COMMIT, "config.json", b'{"model_type": "llama"}')
    [entry] = _entries(tmp_path, "*.bin")
    entry.write_bytes(mangle(entry.read_bytes()))  # type: ignore[operator]
    assert cache.get_file("model", "acme/m", COMMIT, "config.json") is None


def test_oversized_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _cache(tmp_path)
    cache.put_info("model", "acme/m", COMMIT, {"blob": "x" * 1000})
    monkeypatch.setattr(hub_cache, "MAX_ENTRY_BYTES", 100)
    assert cache.get_info("model", "acme/m", COMMIT) is None


def test_unwritable_cache_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    cache = HubCache(blocker, endpoint=ENDPOINT)
    with caplog.at_level(logging.WARNING, logger="sovscan"):
        cache.put_info("model", "acme/m", COMMIT, INFO)
        cache.put_file("model", "acme/m", COMMIT, "f", b"x")
        cache.put_ref("model", "acme/m", "", COMMIT)
        assert cache.get_info("model", "acme/m", COMMIT) is None
        assert cache.get_file("model", "acme/m", COMMIT, "f") is None
    assert sum("could not save" in r.getMessage() for r in caplog.records) == 3


def test_unserialisable_value_is_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = _cache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sovscan"):
        cache.put_info("model", "acme/m", COMMIT, {"bad": object()})
    assert cache.get_info("model", "acme/m", COMMIT) is None
    assert "not JSON-serialisable" in caplog.text


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(garbage=st.binary(max_size=512))
def test_any_bytes_in_an_entry_never_crash(tmp_path: Path, garbage: bytes) -> None:
    cache = _cache(tmp_path)
    cache.put_info("model", "acme/m", COMMIT, INFO)
    cache.put_ref("model", "acme/m", "", COMMIT)
    cache.put_file("model", "acme/m", COMMIT, "f", b"payload")
    for entry in _entries(tmp_path):
        entry.write_bytes(garbage)
    assert cache.get_info("model", "acme/m", COMMIT) in (None, INFO)
    ref = cache.get_ref("model", "acme/m", "")
    assert ref is None or ref.commit == COMMIT
    assert cache.get_file("model", "acme/m", COMMIT, "f") in (None, b"payload")
