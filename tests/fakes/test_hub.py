"""Tests of the fake Hub, driven by the real huggingface_hub client (httpx2 over loopback)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import (
    HfApi,
    HfFileSystem,
    get_hf_file_metadata,
    get_session,
    hf_hub_download,
    hf_hub_url,
    hf_raise_for_status,
    snapshot_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, FakeRepo, World, fake_sha256

M0 = "ai-forever/m0"
FAKE_TOKEN = "hf_not_a_real_token"  # noqa: S105 - the gate answers 403 to any token
# A safetensors-shaped LFS file that has real bytes: 8-byte little-endian header length + JSON.
HEADER = b'{"__metadata__":{"format":"pt"},"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}'
SMALL_WEIGHTS = len(HEADER).to_bytes(8, "little") + HEADER + b"\x00\x3c\x00\x40"


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def commit_of(repo_type: str, repo_id: str) -> str:
    return hashlib.sha1(f"{repo_type}:{repo_id}".encode(), usedforsecurity=False).hexdigest()


def make_world() -> World:
    world = worlds.combine(worlds.chain(2), worlds.adapter_on_gated(), worlds.with_datasets())
    world.add(
        FakeRepo(
            "sovscan-test/small",
            files=(
                FakeFile("model.safetensors", SMALL_WEIGHTS),
                FakeFile("sub/dir/notes.txt", b"nested\n"),
            ),
            card_data={"license": "mit"},
        ),
        FakeRepo("sovscan-test/taken-down", card_data={"license": "mit"}, disabled=True),
        FakeRepo("gpt2", config={"model_type": "gpt2"}),
    )
    return world


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(make_world()) as fake:
        yield fake


def api(hub: FakeHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=False)


def download(
    hub: FakeHub, repo_id: str, filename: str, cache: Path, repo_type: str | None = None
) -> Path:
    path = hf_hub_download(
        repo_id, filename, repo_type=repo_type, cache_dir=cache, endpoint=hub.url, token=False
    )
    return Path(path)


# --- model_info / dataset_info -------------------------------------------------------------------


def test_model_info_with_files_metadata(hub: FakeHub) -> None:
    info = api(hub).model_info(M0, files_metadata=True)

    assert info.id == M0
    assert info.sha == commit_of("model", M0)
    assert info.author == "ai-forever"
    assert info.created_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert info.last_modified == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert info.card_data is not None
    assert info.card_data.base_model == "ai-forever/m1"
    assert info.card_data.license == "apache-2.0"
    assert info.library_name == "transformers"
    assert info.pipeline_tag == "text-generation"
    assert info.gated is False
    # The API config is the Hub's subset: _name_or_path only lives in config.json.
    assert info.config == {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    assert "base_model:finetune:ai-forever/m1" in (info.tags or [])
    assert "license:apache-2.0" in (info.tags or [])
    siblings = {s.rfilename: s for s in info.siblings or []}
    assert set(siblings) == {".gitattributes", "README.md", "config.json", "model.safetensors"}
    weights = siblings["model.safetensors"]
    assert weights.size == 5_000_000_000
    assert weights.lfs is not None
    assert weights.lfs.size == 5_000_000_000
    assert weights.lfs.sha256 == fake_sha256(M0, "model.safetensors")
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{weights.lfs.sha256}\nsize 5000000000\n"
    ).encode()
    assert weights.lfs.pointer_size == len(pointer)
    assert weights.blob_id == git_blob(pointer)
    config = siblings["config.json"]
    assert config.lfs is None
    assert config.blob_id is not None
    assert config.size is not None
    assert [(r.method, r.path, r.query, r.status) for r in hub.requests] == [
        ("GET", f"/api/models/{M0}", "blobs=true", 200)
    ]


def test_model_info_without_blobs_lists_file_names_only(hub: FakeHub) -> None:
    info = api(hub).model_info(M0)

    assert info.siblings is not None
    assert [(s.rfilename, s.size, s.lfs) for s in info.siblings][-1] == (
        "model.safetensors",
        None,
        None,
    )
    assert hub.requests[-1].query == ""


def test_model_info_at_a_revision(hub: FakeHub) -> None:
    sha = commit_of("model", M0)

    assert api(hub).model_info(M0, revision=sha).sha == sha
    assert api(hub).model_info(M0, revision="main").sha == sha
    with pytest.raises(RevisionNotFoundError):
        api(hub).model_info(M0, revision="0" * 40)
    with pytest.raises(RevisionNotFoundError):
        api(hub).model_info(M0, revision="refs/pr/1")

    assert [r.path for r in hub.requests] == [
        f"/api/models/{M0}/revision/{sha}",
        f"/api/models/{M0}/revision/main",
        f"/api/models/{M0}/revision/{'0' * 40}",
        f"/api/models/{M0}/revision/refs%2Fpr%2F1",
    ]
    assert [r.status for r in hub.requests] == [200, 200, 404, 404]


def test_model_info_expand_returns_the_requested_keys_only(hub: FakeHub) -> None:
    info = api(hub).model_info(M0, expand=["cardData", "sha"])

    assert info.sha == commit_of("model", M0)
    assert info.card_data is not None
    assert info.card_data.base_model == "ai-forever/m1"
    assert (info.siblings, info.tags, info.author, info.config) == (None, None, None, None)
    assert hub.requests[-1].params == {"expand": ["cardData", "sha"]}


def test_model_info_expand_with_an_unknown_key_is_a_bad_request(hub: FakeHub) -> None:
    with pytest.raises(BadRequestError):
        api(hub).model_info(M0, expand=["countryOfOrigin"])  # type: ignore[list-item]


def test_model_info_of_an_adapter_reports_peft_config(hub: FakeHub) -> None:
    info = api(hub).model_info(worlds.ADAPTER_ID)

    assert info.config == {
        "peft": {"base_model_name_or_path": worlds.LLAMA_INSTRUCT, "task_type": "CAUSAL_LM"}
    }
    assert f"base_model:adapter:{worlds.LLAMA_INSTRUCT}" in (info.tags or [])


def test_dataset_info(hub: FakeHub, tmp_path: Path) -> None:
    info = api(hub).dataset_info("ai-forever/MERA", files_metadata=True)

    assert info.author == "ai-forever"
    assert info.sha == commit_of("dataset", "ai-forever/MERA")
    assert info.card_data is not None
    assert info.card_data.license == "mit"
    shard = next(s for s in info.siblings or [] if s.rfilename.endswith(".parquet"))
    assert shard.lfs is not None
    assert shard.lfs.size == 734_003_200
    with pytest.raises(RepositoryNotFoundError):
        api(hub).dataset_info(worlds.MISSING_DATASET)

    readme = download(hub, "ai-forever/MERA", "README.md", tmp_path, repo_type="dataset")
    assert readme.read_bytes().startswith(b"---\nlicense: mit\n")
    assert hub.requests[-1].path == "/datasets/ai-forever/MERA/resolve/main/README.md"


def test_legacy_repo_id_without_namespace(hub: FakeHub, tmp_path: Path) -> None:
    assert api(hub).model_info("gpt2").author is None
    config = download(hub, "gpt2", "config.json", tmp_path)
    assert json.loads(config.read_bytes()) == {"model_type": "gpt2"}
    assert hub.requests[-1].path == "/gpt2/resolve/main/config.json"


# --- /resolve/ -----------------------------------------------------------------------------------


def test_file_metadata_of_a_git_file_and_an_lfs_file(hub: FakeHub) -> None:
    sha = commit_of("model", M0)
    config_url = hf_hub_url(M0, "config.json", endpoint=hub.url)
    weights_url = hf_hub_url(M0, "model.safetensors", endpoint=hub.url)
    config_bytes = get_session().get(config_url).content
    hub.reset_log()

    config = get_hf_file_metadata(config_url, token=False)
    weights = get_hf_file_metadata(weights_url, token=False)

    assert (config.commit_hash, config.etag, config.size) == (
        sha,
        git_blob(config_bytes),
        len(config_bytes),
    )
    assert (weights.commit_hash, weights.etag, weights.size) == (
        sha,
        fake_sha256(M0, "model.safetensors"),
        5_000_000_000,
    )
    assert (config.xet_file_data, weights.xet_file_data) == (None, None)
    assert [(r.method, r.status, r.bytes_sent) for r in hub.requests] == [
        ("HEAD", 200, 0),
        ("HEAD", 200, 0),
    ]
    assert all(r.headers["accept-encoding"] == "identity" for r in hub.requests)
    assert hub.weight_downloads() == []


def test_resolve_headers_follow_the_hub_contract(hub: FakeHub) -> None:
    head = get_session().head(hf_hub_url(M0, "model.safetensors", endpoint=hub.url))

    assert head.status_code == 200
    assert head.headers["X-Repo-Commit"] == commit_of("model", M0)
    sha256 = fake_sha256(M0, "model.safetensors")
    assert head.headers["ETag"] == f'"{sha256}"'
    assert head.headers["X-Linked-Etag"] == f'"{sha256}"'
    assert head.headers["X-Linked-Size"] == "5000000000"
    assert head.headers["Content-Length"] == "5000000000"
    assert head.headers["Accept-Ranges"] == "bytes"
    assert "X-Xet-Hash" not in head.headers


def test_hf_hub_download_of_config_json(hub: FakeHub, tmp_path: Path) -> None:
    sha = commit_of("model", M0)

    path = download(hub, M0, "config.json", tmp_path)

    config = json.loads(path.read_bytes())
    assert config["_name_or_path"] == "ai-forever/m1"
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert path.parent.name == sha
    assert (tmp_path / "models--ai-forever--m0" / "refs" / "main").read_text() == sha
    requests = hub.requests
    assert [(r.method, r.path, r.status) for r in requests] == [
        ("HEAD", f"/{M0}/resolve/main/config.json", 200),
        ("GET", f"/{M0}/resolve/main/config.json", 200),
    ]
    assert requests[1].bytes_sent == len(path.read_bytes())
    assert hub.bytes_sent() == len(path.read_bytes())
    assert hub.weight_downloads() == []


# --- errors --------------------------------------------------------------------------------------


def test_missing_repo_is_repository_not_found(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError) as info_error:
        api(hub).model_info(worlds.MISSING_ROOT)
    with pytest.raises(RepositoryNotFoundError) as download_error:
        download(hub, worlds.MISSING_ROOT, "config.json", tmp_path)

    for error in (info_error.value, download_error.value):
        assert not isinstance(error, GatedRepoError)
        assert error.response.status_code == 404
        assert error.response.headers["X-Error-Code"] == "RepoNotFound"


def test_missing_file_is_entry_not_found_and_cached_as_absent(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(RemoteEntryNotFoundError) as error:
        download(hub, M0, "adapter_config.json", tmp_path)

    assert isinstance(error.value, EntryNotFoundError)
    sha = commit_of("model", M0)
    assert (
        tmp_path / "models--ai-forever--m0" / ".no_exist" / sha / "adapter_config.json"
    ).exists()


def test_gated_repo_serves_metadata_but_refuses_files(hub: FakeHub, tmp_path: Path) -> None:
    info = api(hub).model_info(worlds.LLAMA_INSTRUCT, files_metadata=True)
    assert info.gated == "manual"
    assert info.card_data is not None
    assert info.card_data.license == "llama3.1"

    with pytest.raises(GatedRepoError) as anonymous:
        download(hub, worlds.LLAMA_INSTRUCT, "config.json", tmp_path)
    with pytest.raises(GatedRepoError) as with_token:
        get_hf_file_metadata(
            hf_hub_url(worlds.LLAMA_INSTRUCT, "README.md", endpoint=hub.url), token=FAKE_TOKEN
        )

    assert anonymous.value.response.status_code == 401
    assert with_token.value.response.status_code == 403
    assert hub.requests[-1].headers["authorization"] == f"Bearer {FAKE_TOKEN}"
    assert [r.method for r in hub.requests if r.route == "resolve"] == ["HEAD", "HEAD"]


def test_disabled_repo(hub: FakeHub) -> None:
    with pytest.raises(DisabledRepoError):
        api(hub).model_info("sovscan-test/taken-down")


def test_a_world_the_fake_cannot_serve_answers_500() -> None:
    world = World().add(FakeRepo("sovscan-test/broken", extra={"likes": {1, 2}}))  # not JSON
    with FakeHub(world) as hub:
        with pytest.raises(HfHubHTTPError) as error:
            api(hub).model_info("sovscan-test/broken")
        assert error.value.response.status_code == 500
        assert "fake hub failure" in str(error.value)
        assert hub.request_lines() == ["GET /api/models/sovscan-test/broken 500"]


def test_unknown_route_is_a_plain_404(hub: FakeHub) -> None:
    response = get_session().get(f"{hub.url}/api/spaces/ai-forever/demo")

    assert response.status_code == 404
    assert "X-Error-Code" not in response.headers
    with pytest.raises(HfHubHTTPError) as error:
        hf_raise_for_status(response)
    assert not isinstance(error.value, RepositoryNotFoundError)


# --- rate limits, outages, latency ---------------------------------------------------------------


def test_model_info_does_not_retry_a_429() -> None:
    world = worlds.rate_limited()
    with FakeHub(world) as hub:
        with pytest.raises(HfHubHTTPError) as error:
            api(hub).model_info(worlds.YANDEX_PRETRAIN)
        assert not isinstance(error.value, RepositoryNotFoundError)
        assert error.value.response.status_code == 429
        assert error.value.response.headers["Retry-After"] == "0"

        assert api(hub).model_info(worlds.YANDEX_PRETRAIN).sha is not None
        assert [r.status for r in hub.requests] == [429, 200]
    assert world.rate_limit == {f"/api/models/{worlds.YANDEX_PRETRAIN}": 0}


def test_hf_hub_download_retries_a_429_on_its_head_request(tmp_path: Path) -> None:
    world = worlds.chain(1)
    world.rate_limit[f"/{M0}/resolve"] = 1
    with FakeHub(world) as hub:
        path = download(hub, M0, "config.json", tmp_path)

        assert json.loads(path.read_bytes())["_name_or_path"] == "ai-forever/m1"
        assert [(r.method, r.status) for r in hub.requests] == [
            ("HEAD", 429),
            ("HEAD", 200),
            ("GET", 200),
        ]


def test_a_5xx_reaches_model_info_once() -> None:
    world = worlds.chain(1)
    world.fail_5xx[f"/api/models/{M0}"] = 1
    with FakeHub(world) as hub:
        with pytest.raises(HfHubHTTPError) as error:
            api(hub).model_info(M0)
        assert error.value.response.status_code == 503
        assert api(hub).model_info(M0).sha == commit_of("model", M0)


def test_rate_limit_prefixes_match_whole_path_segments() -> None:
    world = worlds.merge()
    world.rate_limit["/api/models/Qwen/Qwen2.5-7B"] = 1
    with FakeHub(world) as hub:
        assert api(hub).model_info("Qwen/Qwen2.5-7B-Instruct").id == "Qwen/Qwen2.5-7B-Instruct"
        with pytest.raises(HfHubHTTPError):
            api(hub).model_info("Qwen/Qwen2.5-7B", revision="main")


def test_latency_is_added_to_every_request_and_requests_overlap() -> None:
    world = worlds.chain(3)
    world.latency_s = 0.15
    ids = [f"ai-forever/m{i}" for i in range(4)]
    with FakeHub(world) as hub:
        started = time.perf_counter()
        api(hub).model_info(M0)
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            shas = list(pool.map(lambda repo_id: api(hub).model_info(repo_id).sha, ids))
        concurrent = time.perf_counter() - started

    assert sequential >= 0.15
    assert 0.15 <= concurrent < 0.45  # in parallel; one after another would take 0.6 s
    assert shas == [commit_of("model", repo_id) for repo_id in ids]


# --- ranges and weight downloads -----------------------------------------------------------------


def ranged(hub: FakeHub, repo_id: str, path: str, value: str) -> httpx2.Response:
    return get_session().get(hf_hub_url(repo_id, path, endpoint=hub.url), headers={"Range": value})


def test_range_requests_return_exactly_the_requested_bytes(hub: FakeHub) -> None:
    small = "sovscan-test/small"
    size = len(SMALL_WEIGHTS)

    first = ranged(hub, small, "model.safetensors", "bytes=0-7")
    rest = ranged(hub, small, "model.safetensors", "bytes=8-")
    tail = ranged(hub, small, "model.safetensors", "bytes=-4")
    filler = ranged(hub, M0, "model.safetensors", "bytes=0-7")
    beyond = ranged(hub, M0, "model.safetensors", "bytes=6000000000-")

    assert (first.status_code, first.content) == (206, SMALL_WEIGHTS[:8])
    assert first.headers["Content-Range"] == f"bytes 0-7/{size}"
    assert int.from_bytes(first.content, "little") == len(HEADER)
    assert (rest.status_code, rest.content) == (206, SMALL_WEIGHTS[8:])
    assert (tail.status_code, tail.content) == (206, b"\x00\x3c\x00\x40")
    assert (filler.status_code, len(filler.content)) == (206, 8)
    assert filler.headers["Content-Range"] == "bytes 0-7/5000000000"
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */5000000000"
    assert hub.weight_downloads() == []
    assert [r.bytes_sent for r in hub.requests] == [8, size - 8, 4, 8, 0]
    assert hub.bytes_sent() == size + 4 + 8


def test_without_a_range_the_whole_file_comes_with_200(hub: FakeHub) -> None:
    small = "sovscan-test/small"
    url = hf_hub_url(small, "model.safetensors", endpoint=hub.url)
    whole = get_session().get(url)
    other_unit = ranged(hub, small, "model.safetensors", "items=0-7")  # not bytes: ignored

    for response in (whole, other_unit):
        assert (response.status_code, response.content) == (200, SMALL_WEIGHTS)
        assert response.headers["Content-Length"] == str(len(SMALL_WEIGHTS))
        assert response.headers["Accept-Ranges"] == "bytes"
        assert "Content-Range" not in response.headers
    assert [r.status for r in hub.requests] == [200, 200]


def test_range_fuzz() -> None:
    content = bytes(range(200))
    world = World().add(FakeRepo("sovscan-test/fuzz", files=(FakeFile("blob.bin", content),)))
    with FakeHub(world) as hub:

        @settings(max_examples=200, deadline=None)
        @given(st.integers(0, 300), st.integers(0, 300))
        def check(first: int, last: int) -> None:
            response = ranged(hub, "sovscan-test/fuzz", "blob.bin", f"bytes={first}-{last}")
            if first > last:  # an invalid range is ignored: the whole file
                assert (response.status_code, response.content) == (200, content)
            elif first >= len(content):
                assert response.status_code == 416
            else:
                assert (response.status_code, response.content) == (206, content[first : last + 1])

        check()


def test_hf_file_system_reads_a_header_by_range(hub: FakeHub) -> None:
    fs = HfFileSystem(endpoint=hub.url, token=False)
    with fs.open("sovscan-test/small/model.safetensors", "rb") as handle:
        assert handle.read(8) == SMALL_WEIGHTS[:8]

    # HfFileSystem: model_info, a tree listing, then one ranged GET clipped to the file size.
    assert [(r.route, r.headers.get("range")) for r in hub.requests] == [
        ("model_info", None),
        ("tree", None),
        ("resolve", f"bytes=0-{len(SMALL_WEIGHTS) - 1}"),
    ]
    assert hub.weight_downloads() == []


def test_metadata_only_walk_downloads_no_weights(hub: FakeHub, tmp_path: Path) -> None:
    seen: list[str] = []
    repo_id: str | None = M0
    while repo_id is not None:
        info = api(hub).model_info(repo_id, files_metadata=True)
        seen.append(info.id)
        get_hf_file_metadata(
            hf_hub_url(repo_id, "model.safetensors", endpoint=hub.url), token=False
        )
        download(hub, repo_id, "config.json", tmp_path)
        base = info.card_data.base_model if info.card_data else None
        repo_id = base if isinstance(base, str) else None

    assert seen == ["ai-forever/m0", "ai-forever/m1", "ai-forever/m2"]
    assert hub.weight_downloads() == []
    # The detector is live: a real weight download is reported.
    download(hub, "sovscan-test/small", "model.safetensors", tmp_path)
    [weight] = hub.weight_downloads()
    assert (weight.method, weight.path, weight.status, weight.bytes_sent) == (
        "GET",
        "/sovscan-test/small/resolve/main/model.safetensors",
        200,
        len(SMALL_WEIGHTS),
    )


def test_snapshot_of_metadata_files_downloads_no_weights(hub: FakeHub, tmp_path: Path) -> None:
    sha = commit_of("model", M0)

    folder = snapshot_download(
        M0,
        allow_patterns=["*.json", "README.md"],
        cache_dir=tmp_path,
        endpoint=hub.url,
        token=False,
    )

    assert sorted(p.name for p in Path(folder).iterdir()) == ["README.md", "config.json"]
    assert hub.request_lines()[:2] == [
        f"GET /api/models/{M0}/revision/main 200",
        f"GET /api/models/{M0}/tree/{sha}?recursive=true&expand=false 200",
    ]
    assert {r.path for r in hub.requests if r.route == "resolve"} == {
        f"/{M0}/resolve/{sha}/config.json",
        f"/{M0}/resolve/{sha}/README.md",
    }
    assert hub.weight_downloads() == []


def test_a_stray_full_download_of_declared_weights_is_cut_short() -> None:
    world = World(max_filler_bytes=1024).add(
        FakeRepo("sovscan-test/big", files=(FakeFile("model.safetensors", size=4096),))
    )
    with FakeHub(world) as hub:
        url = hf_hub_url("sovscan-test/big", "model.safetensors", endpoint=hub.url)
        with pytest.raises(httpx2.RemoteProtocolError):
            get_session().get(url)
        [weight] = hub.weight_downloads()
        assert weight.bytes_sent == 1024


# --- request log, tree, refs ---------------------------------------------------------------------


def test_request_log_counts_body_bytes(hub: FakeHub) -> None:
    raw = get_session().get(f"{hub.url}/api/models/{M0}", params={"blobs": True})
    head = get_session().head(hf_hub_url(M0, "README.md", endpoint=hub.url))
    error = get_session().get(f"{hub.url}/api/models/nobody/nothing")

    assert [r.bytes_sent for r in hub.requests] == [len(raw.content), 0, len(error.content)]
    assert hub.requests[0].bytes_sent == int(raw.headers["Content-Length"])
    readme = hub.world.repos[f"model:{M0}"].file("README.md")
    assert readme is not None
    assert head.headers["Content-Length"] == str(readme.length)
    assert hub.bytes_sent() == len(raw.content) + len(error.content)
    assert hub.request_lines()[0] == f"GET /api/models/{M0}?blobs=true 200"
    assert "authorization" not in hub.requests[0].headers
    hub.reset_log()
    assert (hub.requests, hub.bytes_sent()) == ([], 0)


def test_list_repo_tree_follows_pagination(hub: FakeHub) -> None:
    hub.world.tree_page_size = 2

    entries = list(api(hub).list_repo_tree("sovscan-test/small", recursive=True))
    nested = list(api(hub).list_repo_tree("sovscan-test/small", path_in_repo="sub"))

    assert [e.path for e in entries] == [
        ".gitattributes",
        "README.md",
        "model.safetensors",
        "sub",
        "sub/dir",
        "sub/dir/notes.txt",
    ]
    weights = entries[2]
    assert getattr(weights, "lfs", None) is not None
    assert weights.lfs.sha256 == hashlib.sha256(SMALL_WEIGHTS).hexdigest()  # type: ignore[union-attr]
    assert [e.path for e in nested] == ["sub/dir"]
    tree_requests = [r for r in hub.requests if r.route == "tree"]
    assert len(tree_requests) == 4  # three pages, then the sub-folder
    assert "cursor" in tree_requests[1].params


def test_list_repo_refs(hub: FakeHub) -> None:
    refs = api(hub).list_repo_refs(M0)

    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", commit_of("model", M0))]


# --- the declarative world -----------------------------------------------------------------------


def test_invalid_declarations_are_rejected() -> None:
    with pytest.raises(ValueError, match="size"):
        FakeFile("model.safetensors")
    with pytest.raises(ValueError, match="size"):
        FakeFile("a.json", b"{}", size=3)
    with pytest.raises(ValueError, match="relative repo path"):
        FakeFile("../escape.json", b"{}")
    with pytest.raises(ValueError, match="repo id"):
        FakeRepo("org/name/extra")
    with pytest.raises(ValueError, match="sha"):
        FakeRepo("org/name", sha="main")
    with pytest.raises(ValueError, match="already in the world"):
        World().add(FakeRepo("org/name"), FakeRepo("org/name", gated=True))


@pytest.mark.parametrize("name", sorted(worlds.BUILDERS))
def test_every_ready_made_world_is_served_and_consistent(name: str) -> None:
    world = worlds.BUILDERS[name]()
    world.rate_limit.clear()
    assert world.entry is not None
    assert world.get("model", world.entry) is not None
    with FakeHub(world) as hub:
        for repo in world.repos.values():
            if repo.repo_type == "dataset":
                assert api(hub).dataset_info(repo.repo_id, files_metadata=True).sha == repo.sha
                continue
            info = api(hub).model_info(repo.repo_id, files_metadata=True)
            declared = info.card_data.base_model if info.card_data else None
            bases = [declared] if isinstance(declared, str) else list(declared or [])
            edges = {e.parent for e in world.lineage if e.child == repo.repo_id}
            assert set(bases) <= edges, f"{repo.repo_id}: undeclared lineage"
        assert hub.weight_downloads() == []


def test_chain_world_is_linear() -> None:
    world = worlds.chain(4, org="yandex")

    assert [(e.child, e.parent) for e in world.lineage] == [
        (f"yandex/m{i}", f"yandex/m{i + 1}") for i in range(4)
    ]
    root = world.get("model", "yandex/m4")
    assert root is not None
    assert root.base_models() == ()
    assert (root.config_json() or {})["_name_or_path"] == "/data/checkpoints/yandex/m4"


def test_missing_ancestor_world_names_a_repo_it_lacks() -> None:
    world = worlds.missing_ancestor()

    assert world.get("model", worlds.MISSING_ROOT) is None
    assert any(e.parent == worlds.MISSING_ROOT for e in world.lineage)


def test_cycle_world_closes_on_itself() -> None:
    world = worlds.cycle(3)

    parents = {e.child: e.parent for e in world.lineage}
    node, seen = "ai-forever/loop-0", []
    while node not in seen:
        seen.append(node)
        node = parents[node]
    assert node == "ai-forever/loop-0"
    assert len(seen) == 3


def test_merge_world_has_a_list_of_parents_and_a_shared_ancestor() -> None:
    world = worlds.merge(parents=4)

    merged = world.get("model", worlds.MERGE_ID)
    assert merged is not None
    assert len(merged.base_models()) == 4
    assert merged.base_model_relation() == "merge"
    vikhr = world.get("model", "Vikhrmodels/Vikhr-Qwen-2.5-7B-Instruct")
    assert vikhr is not None
    assert vikhr.base_models() == ("Qwen/Qwen2.5-7B-Instruct",)


def test_quantized_world_is_inferred_as_quantized() -> None:
    world = worlds.quantized_reupload()

    for repo_id in (worlds.GGUF_ID, worlds.GPTQ_ID):
        repo = world.get("model", repo_id)
        assert repo is not None
        assert repo.base_model_relation() == "quantized"
        assert repo.author == "TheBloke"


def test_remote_code_world_points_at_code_that_exists(tmp_path: Path) -> None:
    world = worlds.remote_code()
    with FakeHub(world) as hub:
        config = json.loads(
            download(hub, worlds.PHI3_FINETUNE, "config.json", tmp_path).read_bytes()
        )
        for reference in config["auto_map"].values():
            repo_id, module = reference.split("--")
            code = download(hub, repo_id, f"{module.split('.')[0]}.py", tmp_path)
            assert code.read_bytes() == worlds.PYTHON_TRAP
        assert (worlds.TOKENIZER_CODE_REPO, "remote_code") in {
            (e.parent, e.relation) for e in world.lineage
        }
