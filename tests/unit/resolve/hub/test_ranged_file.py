"""RangedHubFile against the loopback fake Hub: exact bytes, seeking, requests, budget, offline."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.core.errors import UpstreamError
from scanner.core.offline import network_blocked
from scanner.resolve.hub.client import HubClient
from scanner.resolve.hub.ranged_file import (
    BLOCK_SIZE,
    RangeBudget,
    RangeBudgetExceededError,
    RangedFileError,
    RangedHubFile,
    RangeOfflineError,
)
from scanner.resolve.hub.types import HubRepoInfo
from tests.fakes.hub import FakeFile, FakeHub, FakeRepo, World

REPO = "acme/ranged"
DATA = random.Random(7).randbytes(20 * BLOCK_SIZE + 1234)  # noqa: S311  (test data)
OTHER = random.Random(8).randbytes(4 * BLOCK_SIZE)  # noqa: S311
LISTED_TOO_LONG = b"x" * (3 * BLOCK_SIZE)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    rng = random.Random(9)  # noqa: S311
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", rng.randbytes(300_000))
        archive.writestr("archive/version", b"3\n")
        text = "".join(f"line {i}\n" for i in range(40_000)).encode()
        archive.writestr("archive/notes.txt", text, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


ARCHIVE = _zip_bytes()


def _world() -> World:
    siblings = [
        {"rfilename": path, "size": len(content)}
        for path, content in (("data.bin", DATA), ("other.bin", OTHER), ("model.zip", ARCHIVE))
    ]
    # The Hub lists a size larger than what it serves: reads near the end must fail loudly.
    siblings.append({"rfilename": "liar.bin", "size": 5 * BLOCK_SIZE})
    repo = FakeRepo(
        REPO,
        files=(
            FakeFile("data.bin", DATA),
            FakeFile("other.bin", OTHER),
            FakeFile("model.zip", ARCHIVE),
            FakeFile("liar.bin", LISTED_TOO_LONG),
        ),
        extra={"siblings": siblings},
    )
    return World(repos={"r": repo})


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(_world()) as fake:
        yield fake


def _client(hub: FakeHub, cache: Path, **options: object) -> HubClient:
    settings: dict[str, object] = {
        "endpoint": hub.url,
        "token": False,
        "cache_dir": cache,
        "offline": False,
        "backoff_s": 0.0,
    }
    settings.update(options)
    return HubClient(**settings)  # type: ignore[arg-type]


def _info(client: HubClient) -> HubRepoInfo:
    info = client.repo_info(REPO)
    assert isinstance(info, HubRepoInfo), info
    return info


@pytest.fixture
def client(hub: FakeHub, tmp_path: Path) -> Iterator[HubClient]:
    with _client(hub, tmp_path) as made:
        yield made


def _ranges(hub: FakeHub, path: str = "data.bin") -> list[str]:
    return [
        r.headers.get("range", "")
        for r in hub.requests
        if r.route == "resolve" and r.file_path == path
    ]


# -- bytes and positions -------------------------------------------------------------------------


def test_reads_at_random_offsets_are_byte_exact(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    rng = random.Random(42)  # noqa: S311
    raw = RangedHubFile(client, info, "data.bin")
    # A BufferedReader keeps its own idea of the raw position: it gets a file of its own.
    with raw, io.BufferedReader(RangedHubFile(client, info, "data.bin")) as buffered:
        assert raw.size == len(DATA)
        for _ in range(150):
            offset = rng.randrange(len(DATA) + 100)
            length = rng.choice([1, 7, 100, 4096, BLOCK_SIZE, 3 * BLOCK_SIZE + 5])
            for handle in (raw, buffered):
                assert handle.seek(offset) == offset
                assert handle.read(length) == DATA[offset : offset + length]
                assert handle.tell() == min(offset + length, len(DATA)) or offset > len(DATA)
    assert hub.weight_downloads() == []
    assert all(r.status == 206 for r in hub.requests if r.route == "resolve")


def test_seek_and_tell_follow_file_semantics(client: HubClient) -> None:
    with RangedHubFile(client, _info(client), "data.bin") as raw:
        assert (raw.readable(), raw.seekable(), raw.writable()) == (True, True, False)
        assert raw.tell() == 0
        assert raw.seek(10) == 10
        assert raw.seek(5, io.SEEK_CUR) == 15
        assert raw.read(5) == DATA[15:20]
        assert raw.seek(-3, io.SEEK_CUR) == 17
        assert raw.seek(-10, io.SEEK_END) == len(DATA) - 10
        assert raw.read() == DATA[-10:]
        assert raw.read(1) == b""  # at the end
        assert raw.seek(100, io.SEEK_END) == len(DATA) + 100  # past the end is allowed
        assert raw.read(10) == b""
        assert raw.tell() == len(DATA) + 100
        with pytest.raises(OSError, match="negative seek"):
            raw.seek(-1)
        with pytest.raises(OSError, match="negative seek"):
            raw.seek(-len(DATA) - 1, io.SEEK_END)
        assert raw.tell() == len(DATA) + 100  # a refused seek moves nothing
        with pytest.raises(ValueError, match="whence"):
            raw.seek(0, 3)
        raw.seek(0)
        assert raw.readall() == DATA
    with pytest.raises(ValueError, match="closed"):
        raw.read(1)
    with pytest.raises(ValueError, match="closed"):
        raw.seek(0)


def test_a_path_without_a_listed_size_is_refused(client: HubClient) -> None:
    with pytest.raises(ValueError, match="not listed"):
        RangedHubFile(client, _info(client), "missing.bin")


# -- requests ------------------------------------------------------------------------------------


def test_sequential_walk_costs_few_requests(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin") as raw:
        chunks = []
        while chunk := raw.read(4096):
            chunks.append(chunk)
    assert b"".join(chunks) == DATA
    # 1.3 MiB in 4 KiB reads: read-ahead doubles from 128 KiB, so a handful of requests.
    assert 1 < len(_ranges(hub)) <= 6
    assert raw.requests == len(_ranges(hub))
    assert raw.bytes_fetched == len(DATA)


def test_a_repeated_read_is_served_from_the_block_cache(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin", readahead_bytes=0) as raw:
        raw.seek(5 * BLOCK_SIZE + 10)
        first = raw.read(1000)
        raw.seek(5 * BLOCK_SIZE + 10)
        assert raw.read(1000) == first == DATA[5 * BLOCK_SIZE + 10 :][:1000]
    assert _ranges(hub) == [f"bytes={5 * BLOCK_SIZE}-{6 * BLOCK_SIZE - 1}"]


def test_the_block_cache_is_bounded(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin", readahead_bytes=0, max_cached_blocks=2) as raw:
        for block in (1, 2, 3, 1):
            raw.seek(block * BLOCK_SIZE)
            assert raw.read(10) == DATA[block * BLOCK_SIZE :][:10]
    assert len(_ranges(hub)) == 4  # block 1 was evicted by blocks 2 and 3


def test_read_ahead_merges_nearby_missing_blocks(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin", readahead_bytes=0) as raw:
        assert raw.read(BLOCK_SIZE) == DATA[:BLOCK_SIZE]  # block 0
        raw.seek(3 * BLOCK_SIZE)
        assert raw.read(BLOCK_SIZE) == DATA[3 * BLOCK_SIZE : 4 * BLOCK_SIZE]  # block 3
        raw.seek(0)
        # Blocks 1-2 and 4-6 are missing; block 3 between them is fetched again: one request.
        assert raw.read(7 * BLOCK_SIZE) == DATA[: 7 * BLOCK_SIZE]
    assert _ranges(hub) == [
        f"bytes=0-{BLOCK_SIZE - 1}",
        f"bytes={3 * BLOCK_SIZE}-{4 * BLOCK_SIZE - 1}",
        f"bytes={BLOCK_SIZE}-{7 * BLOCK_SIZE - 1}",
    ]


def test_read_ahead_fetches_the_following_blocks_with_a_read(
    hub: FakeHub, client: HubClient
) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin", readahead_bytes=2 * BLOCK_SIZE) as raw:
        raw.seek(BLOCK_SIZE)
        assert raw.read(10) == DATA[BLOCK_SIZE : BLOCK_SIZE + 10]
        raw.seek(3 * BLOCK_SIZE + 5)  # inside the read-ahead: no request
        assert raw.read(100) == DATA[3 * BLOCK_SIZE + 5 :][:100]
    assert _ranges(hub) == [f"bytes={BLOCK_SIZE}-{4 * BLOCK_SIZE - 1}"]


def test_the_last_block_is_clipped_to_the_file(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin") as raw:
        raw.seek(-5, io.SEEK_END)
        assert raw.read(100) == DATA[-5:]
    assert _ranges(hub) == [f"bytes={20 * BLOCK_SIZE}-{len(DATA) - 1}"]


# -- budget --------------------------------------------------------------------------------------


def test_the_budget_is_shared_by_the_files_of_a_repo(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    budget = RangeBudget(3 * BLOCK_SIZE)
    first = RangedHubFile(client, info, "data.bin", budget=budget, readahead_bytes=0)
    second = RangedHubFile(client, info, "other.bin", budget=budget, readahead_bytes=0)
    assert first.read(2 * BLOCK_SIZE) == DATA[: 2 * BLOCK_SIZE]
    assert budget.remaining == BLOCK_SIZE
    with pytest.raises(RangeBudgetExceededError) as raised:
        second.read(2 * BLOCK_SIZE)
    error = raised.value
    assert isinstance(error, UpstreamError)
    assert isinstance(error, OSError)
    assert error.url == second.url
    assert second.url in str(error)
    assert f"{3 * BLOCK_SIZE}-byte budget" in str(error)
    assert second.tell() == 0  # nothing was consumed
    assert second.read(BLOCK_SIZE) == OTHER[:BLOCK_SIZE]  # what still fits is read
    assert budget.remaining == 0
    assert len(_ranges(hub, "other.bin")) == 1


def test_read_ahead_is_trimmed_to_the_budget(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    budget = RangeBudget(2 * BLOCK_SIZE + 100)
    with RangedHubFile(client, info, "data.bin", budget=budget) as raw:
        assert raw.read(10) == DATA[:10]  # wants 3 blocks with read-ahead; 2 fit
        assert budget.used == 2 * BLOCK_SIZE
        raw.seek(BLOCK_SIZE)
        assert raw.read(BLOCK_SIZE) == DATA[BLOCK_SIZE : 2 * BLOCK_SIZE]  # from the cache
    assert _ranges(hub) == [f"bytes=0-{2 * BLOCK_SIZE - 1}"]


def test_a_failed_request_costs_no_budget(hub: FakeHub, tmp_path: Path) -> None:
    with _client(hub, tmp_path, max_retries=0) as client:
        info = _info(client)
        budget = RangeBudget(10 * BLOCK_SIZE)
        hub.world.fail_5xx[f"/{REPO}/resolve"] = 1
        with RangedHubFile(client, info, "data.bin", budget=budget, readahead_bytes=0) as raw:
            with pytest.raises(RangedFileError):
                raw.read(10)
            assert budget.used == 0
            assert raw.read(10) == DATA[:10]
        assert budget.used == BLOCK_SIZE


# -- offline -------------------------------------------------------------------------------------


def test_offline_the_cached_prefix_is_readable_and_beyond_it_is_an_error(
    hub: FakeHub, tmp_path: Path
) -> None:
    with _client(hub, tmp_path) as online:
        info = _info(online)
        prefix = online.header_bytes(info, "data.bin", length=100_000)
        assert prefix == DATA[:100_000]
    hub.reset_log()
    with _client(hub, tmp_path, offline=True) as offline, network_blocked():
        info = _info(offline)
        with RangedHubFile(offline, info, "data.bin") as raw:
            assert raw.read(100_000) == DATA[:100_000]
            raw.seek(50_000)
            assert raw.read(10) == DATA[50_000:50_010]
            raw.seek(99_990)
            with pytest.raises(RangeOfflineError) as raised:
                raw.read(20)
            assert raw.tell() == 99_990
        with RangedHubFile(offline, info, "other.bin") as cold, pytest.raises(RangeOfflineError):
            cold.read(1)
    assert hub.requests == []
    message = str(raised.value)
    assert raised.value.url in message
    assert "offline" in message
    assert "100000 bytes of it in the Hub cache" in message


def test_online_the_cached_prefix_saves_requests(hub: FakeHub, tmp_path: Path) -> None:
    with _client(hub, tmp_path) as earlier:
        assert isinstance(earlier.header_bytes(_info(earlier), "data.bin", length=3000), bytes)
    hub.reset_log()
    with _client(hub, tmp_path) as client:
        info = _info(client)
        with RangedHubFile(client, info, "data.bin", readahead_bytes=0) as raw:
            assert raw.read(3000) == DATA[:3000]
            assert _ranges(hub) == []
            raw.seek(5000)
            assert raw.read(10) == DATA[5000:5010]
    # The rest of the first block only: the cached prefix ends inside it.
    assert _ranges(hub) == [f"bytes=3000-{BLOCK_SIZE - 1}"]


# -- errors --------------------------------------------------------------------------------------


def test_an_http_error_mid_file_is_raised_with_the_url(hub: FakeHub, tmp_path: Path) -> None:
    with _client(hub, tmp_path, max_retries=1) as client:
        info = _info(client)
        with RangedHubFile(client, info, "data.bin", readahead_bytes=0) as raw:
            assert raw.read(BLOCK_SIZE) == DATA[:BLOCK_SIZE]
            hub.world.fail_5xx[f"/{REPO}/resolve"] = 100
            raw.seek(10 * BLOCK_SIZE)
            with pytest.raises(RangedFileError) as raised:
                raw.read(10)
            assert raw.tell() == 10 * BLOCK_SIZE
            hub.world.fail_5xx.clear()
            assert raw.read(10) == DATA[10 * BLOCK_SIZE :][:10]  # the file is still usable
    error = raised.value
    assert not isinstance(error, RangeBudgetExceededError | RangeOfflineError)
    assert error.problem is not None
    assert error.problem.kind == "server-error"
    assert "HTTP 503" in str(error)
    assert raw.url in str(error)
    assert "gave up after 1 retry" in str(error)


def test_a_range_beyond_the_served_file_is_an_error_not_zero_bytes(client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "liar.bin", readahead_bytes=0) as raw:
        assert raw.size == 5 * BLOCK_SIZE
        raw.seek(4 * BLOCK_SIZE)
        with pytest.raises(RangedFileError) as unsatisfiable:
            raw.read(10)  # the server has only 3 blocks: 416
        raw.seek(3 * BLOCK_SIZE - 10)
        with pytest.raises(RangedFileError) as short:
            raw.read(20)  # the server sends the 10 bytes it has of block 2, not the 20
    assert "HTTP 416" in str(unsatisfiable.value)
    assert raw.url in str(unsatisfiable.value)
    assert "short read" in str(short.value)
    assert raw.url in str(short.value)


# -- wrapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("buffered", [False, True], ids=["raw", "buffered"])
def test_zipfile_reads_an_archive_through_it(
    hub: FakeHub, client: HubClient, buffered: bool
) -> None:
    info = _info(client)
    raw = RangedHubFile(client, info, "model.zip")
    handle: io.RawIOBase | io.BufferedReader = io.BufferedReader(raw) if buffered else raw
    expected = zipfile.ZipFile(io.BytesIO(ARCHIVE))
    with handle, zipfile.ZipFile(handle) as archive:
        assert archive.namelist() == expected.namelist()
        for name in archive.namelist():
            assert archive.read(name) == expected.read(name)
        assert archive.testzip() is None
    assert hub.weight_downloads() == []
    assert 1 <= len(_ranges(hub, "model.zip")) <= 8


def test_zipfile_refuses_a_file_that_is_no_zip(hub: FakeHub, client: HubClient) -> None:
    info = _info(client)
    with RangedHubFile(client, info, "data.bin") as raw, pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(raw)
    # Only the end of the file was read, looking for the end record.
    assert all(not r.startswith("bytes=0-") for r in _ranges(hub))
