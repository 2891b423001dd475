"""HubClient against the loopback fake Hub: metadata, small files, range reads, retries, cache."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.core.errors import UsageError
from scanner.core.offline import network_blocked
from scanner.resolve.http import RetryPolicy, parse_retry_after
from scanner.resolve.hub.api import DEFAULT_ENDPOINT, resolve_endpoint
from scanner.resolve.hub.client import HubClient
from scanner.resolve.hub.types import HubProblem, HubRepoInfo, thaw_json
from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, FakeRepo, World, fake_sha256, git_blob_sha1

REPO = "acme/base-7b"
TOKEN = "hf_FakeTokenForTests0123456789abcdefXYZ"  # noqa: S105  (a fake, checked for leaks)
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "_name_or_path": "x/y"}
CARD = {"license": "apache-2.0", "base_model": "meta-llama/Llama-3.1-8B", "datasets": ["a/b"]}
BIG_WEIGHT_SIZE = 5_000_000_000


def _safetensors_bytes() -> bytes:
    header = json.dumps(
        {
            "__metadata__": {"format": "pt"},
            "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        }
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bytes(range(16))


SAFETENSORS = _safetensors_bytes()


def _repo(repo_id: str = REPO, **overrides: object) -> FakeRepo:
    fields: dict[str, object] = {
        "files": (
            FakeFile("model.safetensors", SAFETENSORS),
            FakeFile("model-00001-of-00002.safetensors", size=BIG_WEIGHT_SIZE),
            FakeFile("tokenizer_config.json", b'{"tokenizer_class": "LlamaTokenizer"}\n'),
            FakeFile("nested/dir/notes.txt", b"hello\n"),
        ),
        "card_data": CARD,
        "config": CONFIG,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "extra": {"baseModels": {"relation": "finetune", "models": [{"id": "meta-llama/x"}]}},
    }
    fields.update(overrides)
    return FakeRepo(repo_id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(World(repos={"r": _repo()})) as fake:
        yield fake


class _Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _client(hub: FakeHub, cache: Path, **options: object) -> HubClient:
    settings_: dict[str, object] = {
        "endpoint": hub.url,
        "token": False,
        "cache_dir": cache,
        "offline": False,
        "backoff_s": 0.0,
    }
    settings_.update(options)
    return HubClient(**settings_)  # type: ignore[arg-type]


def _info(result: HubRepoInfo | HubProblem) -> HubRepoInfo:
    assert isinstance(result, HubRepoInfo), result
    return result


def _problem(result: object) -> HubProblem:
    assert isinstance(result, HubProblem), result
    return result


def _all_cache_bytes(cache: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(cache.rglob("*")) if path.is_file())


# -- repo_info -------------------------------------------------------------------------------


def test_repo_info_reads_commit_files_card_and_config(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    expected = hub.world.get("model", REPO)
    assert expected is not None
    assert info.commit == expected.sha
    assert info.repo_id == REPO
    assert info.repo_type == "model"
    assert info.url == f"{hub.url}/{REPO}"
    assert info.author == "acme"
    assert info.gated is False
    assert info.library_name == "transformers"
    assert info.pipeline_tag == "text-generation"
    assert info.card_data["license"] == "apache-2.0"
    assert info.card_data["base_model"] == "meta-llama/Llama-3.1-8B"
    assert info.card_data["datasets"] == ("a/b",)
    assert info.config is not None
    assert info.config["model_type"] == "llama"
    assert "base_model:meta-llama/Llama-3.1-8B" in info.tags
    assert info.base_models_field == {"relation": "finetune", "models": ({"id": "meta-llama/x"},)}
    weights = info.file("model.safetensors")
    assert weights is not None
    assert weights.size == len(SAFETENSORS)
    assert weights.sha256 == hashlib.sha256(SAFETENSORS).hexdigest()
    big = info.file("model-00001-of-00002.safetensors")
    assert big is not None
    assert (big.size, big.sha256) == (
        BIG_WEIGHT_SIZE,
        fake_sha256("model-00001-of-00002.safetensors", str(BIG_WEIGHT_SIZE)),
    )
    config = info.file("config.json")
    assert config is not None
    assert config.sha256 is None
    assert config.blob_id == git_blob_sha1(json.dumps(CONFIG, indent=2).encode())
    assert info.note is None
    [request] = hub.requests
    assert (request.method, request.path, request.params) == (
        "GET",
        f"/api/models/{REPO}",
        {"blobs": ["true"]},
    )
    assert client.stats.requests == 1
    assert client.stats.bytes_received == hub.bytes_sent() > 0


def test_repo_info_is_read_only(hub: FakeHub, tmp_path: Path) -> None:
    info = _info(_client(hub, tmp_path).repo_info(REPO))
    with pytest.raises(TypeError):
        info.card_data["license"] = "mit"  # type: ignore[index]
    plain = thaw_json(info.card_data)
    assert plain == CARD
    assert json.loads(json.dumps(plain)) == CARD


def test_same_commit_again_costs_no_request(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    first = _info(client.repo_info(REPO))
    assert _info(client.repo_info(REPO, revision=first.commit)) == first
    assert _info(client.repo_info(REPO)) == first  # the branch resolves once per client
    assert len(hub.requests) == 1
    # A new client (a later run) finds the commit on disk, but asks again for the branch.
    later = _client(hub, tmp_path)
    assert _info(later.repo_info(REPO, revision=first.commit)) == first
    assert len(hub.requests) == 1
    assert later.stats.cache_hits == 1
    assert _info(later.repo_info(REPO)).commit == first.commit
    assert len(hub.requests) == 2


def test_revision_is_sent_quoted(hub: FakeHub, tmp_path: Path) -> None:
    problem = _problem(_client(hub, tmp_path).repo_info(REPO, revision="refs/pr/1"))
    assert problem.kind == "revision-not-found"
    assert hub.requests[-1].path == f"/api/models/{REPO}/revision/refs%2Fpr%2F1"
    assert "refs/pr/1" in problem.message


def test_dataset_repo(tmp_path: Path) -> None:
    dataset = FakeRepo("acme/corpus", repo_type="dataset", card_data={"license": "cc-by-4.0"})
    with FakeHub(World(repos={"d": dataset})) as hub:
        client = _client(hub, tmp_path)
        info = _info(client.repo_info("acme/corpus", repo_type="dataset"))
        assert info.repo_type == "dataset"
        assert info.url == f"{hub.url}/datasets/acme/corpus"
        assert info.card_data["license"] == "cc-by-4.0"
        assert info.config is None
        readme = client.small_file(info, "README.md")
        assert isinstance(readme, bytes)
        assert readme.startswith(b"---\nlicense: cc-by-4.0\n")
        assert [r.path for r in hub.requests] == [
            "/api/datasets/acme/corpus",
            f"/datasets/acme/corpus/resolve/{info.commit}/README.md",
        ]


def test_unknown_repo_type_is_a_caller_bug(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repo_type"):
        _client(hub, tmp_path).repo_info(REPO, repo_type="space")


@pytest.mark.parametrize("bad_id", ["../etc/passwd", "a/b/c", "", "acme/x?y", "acme/--x", "a b/c"])
def test_invalid_repo_id_is_malformed_without_a_request(
    hub: FakeHub, tmp_path: Path, bad_id: str
) -> None:
    problem = _problem(_client(hub, tmp_path).repo_info(bad_id))
    assert problem.kind == "malformed"
    assert hub.requests == []


def test_missing_repo_is_not_found(tmp_path: Path) -> None:
    with FakeHub(worlds.missing_ancestor()) as hub:
        problem = _problem(_client(hub, tmp_path).repo_info(worlds.MISSING_ROOT))
    assert problem.kind == "not-found"
    assert problem.repo_id == worlds.MISSING_ROOT
    assert worlds.MISSING_ROOT in problem.message
    assert f"{hub.url}/api/models/{worlds.MISSING_ROOT}" in problem.message
    assert "HTTP 404" in problem.message
    assert len(hub.requests) == 1  # a 404 is final: no retry


def test_disabled_repo_is_not_found(tmp_path: Path) -> None:
    with FakeHub(World(repos={"r": _repo(disabled=True)})) as hub:
        problem = _problem(_client(hub, tmp_path).repo_info(REPO))
    assert problem.kind == "not-found"
    assert "disabled" in problem.message


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"sha": "not-a-commit"}, "no commit sha"),
        ({"siblings": "nope"}, "'siblings' is not a list"),
    ],
)
def test_malformed_answer_is_a_problem(
    tmp_path: Path, extra: dict[str, object], complaint: str
) -> None:
    with FakeHub(World(repos={"r": _repo(extra=extra)})) as hub:
        problem = _problem(_client(hub, tmp_path).repo_info(REPO))
    assert problem.kind == "malformed"
    assert complaint in problem.message
    assert REPO in problem.message


def test_odd_sibling_entries_are_skipped_not_fatal(tmp_path: Path) -> None:
    siblings = [
        {"rfilename": "ok.json", "size": 3, "blobId": "a" * 40},
        {"size": 5},
        "junk",
        {"rfilename": "w.bin", "size": -1, "lfs": {"sha256": "B" * 64, "size": 10}},
        {"rfilename": "ok.json", "size": 99},
    ]
    with FakeHub(World(repos={"r": _repo(extra={"siblings": siblings})})) as hub:
        info = _info(_client(hub, tmp_path).repo_info(REPO))
    assert [(f.path, f.size, f.sha256, f.blob_id) for f in info.files] == [
        ("ok.json", 3, None, "a" * 40),
        ("w.bin", 10, "b" * 64, None),
    ]


def test_canonical_id_from_the_hub_is_kept_and_cached_under_both(tmp_path: Path) -> None:
    with FakeHub(World(repos={"r": _repo(extra={"id": "Acme/Base-7B"})})) as hub:
        client = _client(hub, tmp_path)
        info = _info(client.repo_info(REPO))
        assert info.repo_id == "Acme/Base-7B"
        assert info.url == f"{hub.url}/Acme/Base-7B"
        later = _client(hub, tmp_path)
        assert _info(later.repo_info("Acme/Base-7B", revision=info.commit)) == info
        assert len(hub.requests) == 1


# -- retries ---------------------------------------------------------------------------------


def test_rate_limit_then_success_retries_once(tmp_path: Path) -> None:
    sleeps = _Sleeps()
    with FakeHub(worlds.rate_limited(times=1)) as hub:
        client = _client(hub, tmp_path, sleep=sleeps, backoff_s=5.0)
        info = _info(client.repo_info(worlds.YANDEX_PRETRAIN))
    assert info.repo_id == worlds.YANDEX_PRETRAIN
    assert [r.status for r in hub.requests] == [429, 200]
    assert sleeps.calls == [0.0]  # Retry-After: 0 wins over the 5 s backoff
    assert client.stats.retries == 1
    assert client.stats.requests == 2


def test_retry_after_is_honoured_but_capped(tmp_path: Path) -> None:
    sleeps = _Sleeps()
    world = worlds.rate_limited(times=2)
    world.retry_after_s = 3600
    with FakeHub(world) as hub:
        client = _client(hub, tmp_path, sleep=sleeps)
        assert isinstance(client.repo_info(worlds.YANDEX_PRETRAIN), HubRepoInfo)
    assert sleeps.calls == [30.0, 30.0]


def test_persistent_rate_limit_gives_up(tmp_path: Path) -> None:
    sleeps = _Sleeps()
    with FakeHub(worlds.rate_limited(times=100)) as hub:
        client = _client(hub, tmp_path, sleep=sleeps, max_retries=2)
        problem = _problem(client.repo_info(worlds.YANDEX_PRETRAIN))
    assert problem.kind == "rate-limited"
    assert "gave up after 2 retries" in problem.message
    assert len(hub.requests) == 3


def test_persistent_server_error_backs_off_then_gives_up(tmp_path: Path) -> None:
    sleeps = _Sleeps()
    world = World(repos={"r": _repo()}, fail_5xx={f"/api/models/{REPO}": 100})
    with FakeHub(world) as hub:
        client = _client(hub, tmp_path, sleep=sleeps, max_retries=3, backoff_s=0.5)
        problem = _problem(client.repo_info(REPO))
    assert problem.kind == "server-error"
    assert "HTTP 503" in problem.message
    assert REPO in problem.message
    assert [r.status for r in hub.requests] == [503] * 4
    assert sleeps.calls == [0.5, 1.0, 2.0]


def test_server_error_then_success(tmp_path: Path) -> None:
    world = World(repos={"r": _repo()}, fail_5xx={f"/api/models/{REPO}": 2})
    with FakeHub(world) as hub:
        assert isinstance(_client(hub, tmp_path).repo_info(REPO), HubRepoInfo)
    assert [r.status for r in hub.requests] == [503, 503, 200]


def test_connection_refused_is_a_network_problem(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    sleeps = _Sleeps()
    client = HubClient(
        endpoint=f"http://127.0.0.1:{port}",
        token=False,
        cache_dir=tmp_path,
        offline=False,
        max_retries=1,
        backoff_s=0.0,
        sleep=sleeps,
    )
    problem = _problem(client.repo_info(REPO))
    assert problem.kind == "network"
    assert f"127.0.0.1:{port}" in problem.message
    assert "gave up after 1 retry" in problem.message
    assert client.stats.requests == 2


def test_timeout_is_a_network_problem(tmp_path: Path) -> None:
    world = World(repos={"r": _repo()}, latency_s=1.0)
    with FakeHub(world) as hub:
        client = _client(hub, tmp_path, timeout_s=0.1, max_retries=0)
        problem = _problem(client.repo_info(REPO))
    assert problem.kind == "network"
    assert "timed out" in problem.message


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=0.5)
    assert [policy.delay(i, None) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(0, 12.0) == 12.0
    assert policy.delay(0, 99.0) == 30.0
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="backoff_s"):
        RetryPolicy(backoff_s=float("nan"))


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "7"}, now=now) == 7.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after({"retry-after": later}, now=now) == 90.0
    earlier = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after({"retry-after": earlier}, now=now) == 0.0
    for junk in ("", "-5", "soon", "1e9", "٣", "9" * 100):
        assert parse_retry_after({"retry-after": junk}, now=now) is None
    assert parse_retry_after({}, now=now) is None


# -- small files -----------------------------------------------------------------------------


def test_small_file_returns_exact_bytes_then_caches(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    expected = json.dumps(CONFIG, indent=2).encode()
    assert client.small_file(info, "config.json") == expected
    request = hub.requests[-1]
    assert request.path == f"/{REPO}/resolve/{info.commit}/config.json"
    assert request.headers.get("accept-encoding") == "identity"
    assert client.small_file(info, "nested/dir/notes.txt") == b"hello\n"
    assert len(hub.requests) == 3
    # Cached on disk by (repo, commit, path): a later run asks nothing.
    later = _client(hub, tmp_path)
    assert later.small_file(info, "config.json") == expected
    assert len(hub.requests) == 3


def test_small_file_refuses_lfs_and_oversized_without_a_request(
    hub: FakeHub, tmp_path: Path
) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    hub.reset_log()
    lfs = _problem(client.small_file(info, "model.safetensors"))
    assert lfs.kind == "too-large"
    assert "LFS" in lfs.message
    big = _problem(client.small_file(info, "config.json", max_bytes=10))
    assert big.kind == "too-large"
    assert "10-byte limit" in big.message
    missing = _problem(client.small_file(info, "adapter_config.json"))
    assert missing.kind == "not-found"
    assert "adapter_config.json" in missing.message
    unsafe = _problem(client.small_file(info, "../config.json"))
    assert unsafe.kind == "malformed"
    assert hub.requests == []
    assert hub.weight_downloads() == []


def test_small_file_checks_the_listed_git_blob_id(tmp_path: Path) -> None:
    content = b'{"model_type": "llama"}'
    siblings = [{"rfilename": "config.json", "size": len(content), "blobId": "0" * 40}]
    repo = _repo(files=(FakeFile("config.json", content),), extra={"siblings": siblings})
    with FakeHub(World(repos={"r": repo})) as hub:
        client = _client(hub, tmp_path)
        info = _info(client.repo_info(REPO))
        problem = _problem(client.small_file(info, "config.json"))
    assert problem.kind == "malformed"
    assert "git blob id" in problem.message
    assert list((tmp_path / "hub").rglob("*.bin")) == []  # a mismatch is never cached


def test_small_file_of_gated_repo_is_a_gated_problem(tmp_path: Path) -> None:
    with FakeHub(worlds.adapter_on_gated()) as hub:
        client = _client(hub, tmp_path)
        info = _info(client.repo_info(worlds.LLAMA_INSTRUCT))
        assert info.gated == "manual"
        assert info.file("config.json") is not None
        problem = _problem(client.small_file(info, "config.json"))
        adapter = _info(client.repo_info(worlds.ADAPTER_ID))
        adapter_config = client.small_file(adapter, "adapter_config.json")
    assert problem.kind == "gated"
    assert worlds.LLAMA_INSTRUCT in problem.message
    assert "HF_TOKEN" in problem.message  # no token was sent: say how to send one
    assert hub.requests[1].status == 401
    assert isinstance(adapter_config, bytes)
    assert json.loads(adapter_config)["base_model_name_or_path"] == worlds.LLAMA_INSTRUCT


# -- header range reads ----------------------------------------------------------------------


def test_header_bytes_reads_only_the_prefix(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    hub.reset_log()
    before = client.stats.bytes_received
    length = 4096
    path = "model-00001-of-00002.safetensors"
    data = client.header_bytes(info, path, length=length)
    fake = hub.world.get("model", REPO)
    assert fake is not None
    fake_file = fake.file(path)
    assert fake_file is not None
    assert data == b"".join(fake_file.chunks(0, length))
    [request] = hub.requests
    assert request.headers["range"] == f"bytes=0-{length - 1}"
    assert request.status == 206
    assert request.bytes_sent == length
    assert hub.weight_downloads() == []
    assert client.stats.bytes_received - before <= length + 64


def test_header_bytes_of_a_real_safetensors_header(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    prefix = client.header_bytes(info, "model.safetensors", length=8)
    assert prefix == SAFETENSORS[:8]
    (header_size,) = struct.unpack("<Q", prefix)
    header = client.header_bytes(info, "model.safetensors", length=8 + header_size)
    assert isinstance(header, bytes)
    assert json.loads(header[8:])["w"]["dtype"] == "F32"
    # A length past the end is clamped to the listed size: the whole (tiny) file, no error.
    assert client.header_bytes(info, "model.safetensors", length=1 << 20) == SAFETENSORS
    assert hub.weight_downloads() == []


def test_header_bytes_prefixes_are_cached(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    path = "model-00001-of-00002.safetensors"
    long = client.header_bytes(info, path, length=1000)
    hub.reset_log()
    assert client.header_bytes(info, path, length=100) == long[:100]  # type: ignore[index]
    assert _client(hub, tmp_path).header_bytes(info, path, length=1000) == long
    assert hub.requests == []
    longer = client.header_bytes(info, path, length=2000)
    assert isinstance(longer, bytes)
    assert len(longer) == 2000
    assert longer.startswith(long)  # type: ignore[arg-type]
    assert len(hub.requests) == 1


def test_header_bytes_rejects_silly_lengths(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path)
    info = _info(client.repo_info(REPO))
    for length in (0, -1, 1 << 40):
        with pytest.raises(ValueError, match="length"):
            client.header_bytes(info, "model.safetensors", length=length)


def test_header_bytes_of_gated_weights_is_gated(tmp_path: Path) -> None:
    with FakeHub(worlds.adapter_on_gated()) as hub:
        client = _client(hub, tmp_path)
        info = _info(client.repo_info(worlds.LLAMA_BASE))
        problem = _problem(client.header_bytes(info, "model.safetensors", length=8))
    assert problem.kind == "gated"
    assert hub.weight_downloads() == []


# -- offline ---------------------------------------------------------------------------------


def test_offline_with_a_warm_cache_never_touches_the_network(hub: FakeHub, tmp_path: Path) -> None:
    online = _client(hub, tmp_path)
    info = _info(online.repo_info(REPO))
    config = online.small_file(info, "config.json")
    header = online.header_bytes(info, "model.safetensors", length=8)
    hub.reset_log()
    offline = _client(hub, tmp_path, offline=True)
    with network_blocked():
        by_branch = _info(offline.repo_info(REPO))
        by_commit = _info(offline.repo_info(REPO, revision=info.commit))
        assert offline.small_file(by_commit, "config.json") == config
        assert offline.header_bytes(by_commit, "model.safetensors", length=8) == header
        missing = _problem(offline.small_file(by_commit, "tokenizer_config.json"))
    assert hub.requests == []
    assert offline.stats.requests == 0
    assert by_commit == info
    assert by_branch.commit == info.commit
    assert by_branch.note is not None
    assert "offline" in by_branch.note
    assert info.commit in by_branch.note
    assert missing.kind == "offline-miss"
    assert "tokenizer_config.json" in missing.message


def test_offline_with_a_cold_cache_is_a_miss_without_a_request(
    hub: FakeHub, tmp_path: Path
) -> None:
    client = _client(hub, tmp_path, offline=True)
    with network_blocked():
        problem = _problem(client.repo_info(REPO))
        by_commit = _problem(client.repo_info(REPO, revision="a" * 40))
    assert (problem.kind, by_commit.kind) == ("offline-miss", "offline-miss")
    assert REPO in problem.message
    assert hub.requests == []


def test_hf_hub_offline_environment_means_offline(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    client = _client(hub, tmp_path)
    assert client.offline
    assert _problem(client.repo_info(REPO)).kind == "offline-miss"
    assert hub.requests == []


def test_use_cache_false_writes_nothing(hub: FakeHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path / "cache", use_cache=False)
    info = _info(client.repo_info(REPO))
    assert isinstance(client.small_file(info, "config.json"), bytes)
    assert not (tmp_path / "cache").exists()
    assert _info(client.repo_info(REPO, revision=info.commit)) == info  # memory, not disk
    assert len(hub.requests) == 2
    assert isinstance(
        _client(hub, tmp_path / "cache", use_cache=False).repo_info(REPO), HubRepoInfo
    )
    assert len(hub.requests) == 3


def test_corrupt_cache_entry_is_refetched(hub: FakeHub, tmp_path: Path) -> None:
    info = _info(_client(hub, tmp_path).repo_info(REPO))
    for entry in (tmp_path / "hub").rglob("*.json"):
        entry.write_bytes(b"{ truncated")
    again = _client(hub, tmp_path).repo_info(REPO, revision=info.commit)
    assert again == info
    assert len(hub.requests) == 2


# -- endpoint and token ----------------------------------------------------------------------


def test_endpoint_precedence(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_endpoint(None) == DEFAULT_ENDPOINT
    monkeypatch.setenv("HF_ENDPOINT", hub.url + "/")
    assert resolve_endpoint(None) == hub.url
    assert resolve_endpoint("https://mirror.example/hub/") == "https://mirror.example/hub"


def test_endpoint_from_environment_is_used(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    client = HubClient(endpoint=None, token=False, cache_dir=tmp_path, offline=False)
    assert isinstance(client.repo_info(REPO), HubRepoInfo)
    assert len(hub.requests) == 1


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://hub.example",
        "hub.example",
        "https://",
        "https://user:secret@hub.example",
        "ftp://secret@hub.example",
        "https://h:99999999",
        "http://h?q",
    ],
)
def test_bad_endpoint_is_a_usage_error(endpoint: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve_endpoint(endpoint)
    assert "secret" not in str(raised.value)


def test_token_is_sent_but_never_stored_logged_or_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hf_logger = logging.getLogger("huggingface_hub")
    hf_logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    world = worlds.adapter_on_gated()
    world.fail_5xx[f"/api/models/{worlds.ADAPTER_ID}"] = 1  # a retry, so something is logged
    try:
        with FakeHub(world) as hub:
            client = _client(hub, tmp_path, token=None)
            gated = _info(client.repo_info(worlds.LLAMA_INSTRUCT))
            refused = _problem(client.small_file(gated, "config.json"))
            missing = _problem(client.repo_info("nobody/nothing"))
            adapter = _info(client.repo_info(worlds.ADAPTER_ID))
            assert isinstance(client.small_file(adapter, "adapter_config.json"), bytes)
            sent = len(hub.requests)
            # An endpoint mistakenly holding the token: libraries log URLs, so nothing is sent.
            wrong = _client(hub, tmp_path, endpoint=f"{hub.url}/{TOKEN}", token=None)
            misrouted = _problem(wrong.repo_info(REPO))
            assert len(hub.requests) == sent
    finally:
        hf_logger.removeHandler(caplog.handler)
    assert {r.headers.get("authorization") for r in hub.requests} == {f"Bearer {TOKEN}"}
    assert refused.kind == "gated"
    assert "this token has no access" in refused.message
    assert hub.requests[1].status == 403
    assert missing.kind == "not-found"
    assert misrouted.kind == "malformed"
    assert f"{hub.url}/***/api/models/{REPO}" in misrouted.message
    assert any("retry 1 of 4" in r.getMessage() for r in caplog.records)
    for problem in (refused, missing, misrouted):
        assert TOKEN not in problem.message
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert TOKEN.encode() not in _all_cache_bytes(tmp_path)
    assert TOKEN not in caplog.text


def test_explicit_token_wins_and_false_sends_none(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_fromTheEnvironment0000000000")
    _client(hub, tmp_path, token=TOKEN, use_cache=False).repo_info(REPO)
    _client(hub, tmp_path, token=False, use_cache=False).repo_info(REPO)
    _client(hub, tmp_path, token=None, use_cache=False).repo_info(REPO)
    assert [r.headers.get("authorization") for r in hub.requests] == [
        f"Bearer {TOKEN}",
        None,
        "Bearer hf_fromTheEnvironment0000000000",
    ]


def test_importing_the_client_does_not_import_huggingface_hub() -> None:
    code = (
        "import sys, scanner.resolve.hub.client, scanner.resolve.hub.cache, scanner.resolve.http\n"
        "heavy = sorted(m for m in ('huggingface_hub', 'httpx2', 'httpx') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    repo_root = Path(__file__).resolve().parents[4]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


# -- hostile answers -------------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_INFO_KEYS = (
    "sha",
    "id",
    "siblings",
    "cardData",
    "config",
    "tags",
    "gated",
    "baseModels",
    "author",
)


@pytest.fixture(scope="module")
def fuzz_hub() -> Iterator[FakeHub]:
    with FakeHub(World()) as fake:
        yield fake


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(extra=st.dictionaries(st.sampled_from(_INFO_KEYS), _json_values, max_size=5))
def test_any_info_answer_gives_info_or_problem(
    fuzz_hub: FakeHub, tmp_path: Path, extra: dict[str, object]
) -> None:
    fuzz_hub.world.repos = {"model:" + REPO: _repo(extra=extra)}
    client = _client(fuzz_hub, tmp_path, use_cache=False, max_retries=0)
    result = client.repo_info(REPO)
    assert isinstance(result, HubRepoInfo | HubProblem)
    if isinstance(result, HubProblem):
        assert result.kind == "malformed"
    else:
        assert len(result.commit) == 40
        for item in result.files:
            assert isinstance(item.path, str)
