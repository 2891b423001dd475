"""``sovscan scan hf:ORG/NAME`` end to end against the loopback fake Hub: lineage, pins, costs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli
from scanner.core.errors import TargetError
from scanner.core.properties import PropertyName
from scanner.sources.targets import TargetKind, parse_target
from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, World

LINEAGE_KINDS = frozenset({"finetune", "adapter", "quantized", "merge"})
MAX_BYTES_PER_REPO = 1_000_000


def scan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["scan", "-q", *args], catch_exceptions=False)


def scan_world(
    fake: FakeHub, world: World, tmp_path: Path, *extra: str
) -> tuple[Result, dict[str, Any]]:
    out = tmp_path / "bom.cdx.json"
    result = scan(f"hf:{world.entry}", "--hub-endpoint", fake.url, "-o", str(out), *extra)
    bom = json.loads(out.read_text()) if out.exists() else {}
    return result, bom


def hub_id(purl: str) -> str:
    return purl.removeprefix("pkg:huggingface/").split("@")[0]


def models(bom: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield bom["metadata"]["component"]
    yield from (c for c in bom["components"] if c["type"] == "machine-learning-model")


def prop_values(component: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in component.get("properties", []) if p["name"] == name]


def found_lineage(bom: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(child, parent, relation) from every model's pedigree, code purls and datasets."""
    edges: set[tuple[str, str, str]] = set()
    entry = hub_id(bom["metadata"]["component"]["purl"])
    for model in models(bom):
        for ancestor in model.get("pedigree", {}).get("ancestors", []):
            for relation in prop_values(ancestor, PropertyName.RELATION):
                edges.add((hub_id(model["purl"]), hub_id(ancestor["purl"]), relation))
    for component in bom["components"]:
        purl = component.get("purl", "")
        owner = hub_id(purl) if purl.startswith("pkg:huggingface/") else None
        # Code the entry's metadata points to in another repo: ``remote-code:OWNER/module.py``.
        if owner and owner != entry and component["bom-ref"].startswith(f"remote-code:{owner}/"):
            edges.add((entry, owner, "remote_code"))
        if component["type"] == "data" and component["bom-ref"].startswith("dataset:"):
            edges.add((entry, component["bom-ref"].removeprefix("dataset:"), "dataset"))
    return edges


def truth(world: World) -> set[tuple[str, str, str]]:
    return {(e.child, e.parent, e.relation) for e in world.lineage}


def resolvable(world: World) -> set[str]:
    return {repo.repo_id for repo in world.repos.values() if repo.repo_type == "model"}


def issue_texts(bom: dict[str, Any]) -> str:
    """The BOM's ``sovscan:issue`` properties, one a line."""
    return "\n".join(prop_values(bom["metadata"], PropertyName.ISSUE))


@pytest.fixture
def hub_world(request: pytest.FixtureRequest) -> Iterator[tuple[World, FakeHub]]:
    world: World = request.param()
    with FakeHub(world) as fake:
        yield world, fake


WORLDS_WITH_EXACT_LINEAGE = [
    worlds.chain,
    worlds.merge,
    worlds.adapter_on_gated,
    worlds.missing_ancestor,
    worlds.rate_limited,
    worlds.remote_code,
    worlds.with_datasets,
]


@pytest.mark.parametrize(
    "hub_world", WORLDS_WITH_EXACT_LINEAGE, indirect=True, ids=lambda f: f.__name__
)
def test_lineage_matches_ground_truth_pinned_and_cheap(
    hub_world: tuple[World, FakeHub], tmp_path: Path
) -> None:
    world, fake = hub_world
    result, bom = scan_world(fake, world, tmp_path)
    assert result.exit_code == 0, result.output
    assert found_lineage(bom) == truth(world)
    present = resolvable(world)
    for model in models(bom):
        repo = hub_id(model["purl"])
        if repo in present:
            commit = world.repos[f"model:{repo}"].sha
            assert model["purl"] == f"pkg:huggingface/{repo}@{commit}"
            assert model["version"] == commit
    assert fake.weight_downloads() == []
    assert fake.bytes_sent() < MAX_BYTES_PER_REPO * len(world.repos)


def test_quantized_reupload_follows_base_model_past_the_reuploader(tmp_path: Path) -> None:
    world = worlds.quantized_reupload()
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
    assert result.exit_code == 0, result.output
    # The GPTQ sibling is not an ancestor of the GGUF entry: only the entry's own line is found.
    expected = {e for e in truth(world) if e[0] != worlds.GPTQ_ID}
    assert found_lineage(bom) == expected


def test_lfs_files_carry_the_hub_sha256_without_download(tmp_path: Path) -> None:
    world = worlds.chain(1)
    with FakeHub(world) as fake:
        _, bom = scan_world(fake, world, tmp_path)
        assert fake.weight_downloads() == []
    weights = {c["bom-ref"]: c for c in bom["components"] if c["type"] == "file"}
    shard = weights["file:ai-forever/m0/model.safetensors"]
    lfs = world.repos["model:ai-forever/m0"].file("model.safetensors")
    assert lfs is not None
    assert shard["hashes"] == [{"alg": "SHA-256", "content": lfs.lfs_sha256}]
    assert prop_values(shard, PropertyName.FILE_HASH_SOURCE) == ["hub"]


def test_gated_base_keeps_metadata_and_reports_refused_files(tmp_path: Path) -> None:
    world = worlds.adapter_on_gated()
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
    assert result.exit_code == 0, result.output
    gated = next(m for m in models(bom) if hub_id(m["purl"]) == worlds.LLAMA_INSTRUCT)
    # Its licence came from the Hub's cardData although README.md was refused.
    assert "llama3.1" in json.dumps(gated.get("licenses", []))
    refused = [
        line
        for line in issue_texts(bom).splitlines()
        if f"README.md in {worlds.LLAMA_INSTRUCT}@" in line
    ]
    assert len(refused) == 1
    assert "access refused (gated" in refused[0]


def test_missing_ancestor_is_unresolved_and_sovereign_does_not_pass(tmp_path: Path) -> None:
    world = worlds.missing_ancestor()
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path, "--policy", "sovereign")
    assert result.exit_code in {1, 3}
    missing = next(
        c for c in bom["components"] if c["bom-ref"] == f"pkg:huggingface/{worlds.MISSING_ROOT}"
    )
    assert prop_values(missing, PropertyName.UNRESOLVED) == ["true"]
    assert "@" not in missing["purl"]
    assert f"{worlds.MISSING_ROOT} does not exist on the Hub" in issue_texts(bom)


def test_rate_limit_is_retried(tmp_path: Path) -> None:
    world = worlds.rate_limited(times=2)
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
        statuses = [r.status for r in fake.requests]
    assert result.exit_code == 0, result.output
    assert statuses.count(429) == 2
    assert found_lineage(bom) == truth(world)


@pytest.mark.parametrize("length", [1, 2, 3])
def test_cycle_terminates_with_an_issue_naming_it(length: int, tmp_path: Path) -> None:
    world = worlds.cycle(length)
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
        info_requests = [r for r in fake.requests if r.path.startswith("/api/models/")]
    assert result.exit_code == 0, result.output
    assert len(info_requests) == length  # each repo asked for once
    text = issue_texts(bom)
    if length == 1:
        assert "to itself" in text
    else:
        assert "lineage cycle: ai-forever/loop-" in text


def test_remote_code_from_another_repo_has_that_repos_pinned_purl(tmp_path: Path) -> None:
    world = worlds.remote_code()
    with FakeHub(world) as fake:
        _, bom = scan_world(fake, world, tmp_path)
        served_py = [r for r in fake.requests if r.path.endswith(".py")]
        phi3_infos = [
            r for r in fake.requests if r.route == "model_info" and r.repo_id == worlds.PHI3
        ]
    code = {
        c["bom-ref"]: c
        for c in bom["components"]
        if c["bom-ref"].startswith(("code:", "remote-code:"))
    }
    tokenizer_code = code[f"remote-code:{worlds.TOKENIZER_CODE_REPO}/tokenization_ru.py"]
    commit = world.repos[f"model:{worlds.TOKENIZER_CODE_REPO}"].sha
    assert tokenizer_code["purl"] == f"pkg:huggingface/{worlds.TOKENIZER_CODE_REPO}@{commit}"
    assert served_py == []  # code is inventoried, never fetched (let alone imported)
    assert len(phi3_infos) == 1  # the base and its code repo are one repo, asked for once
    phi3_code = code[f"remote-code:{worlds.PHI3}/modeling_phi3.py"]
    assert (
        phi3_code["purl"]
        == f"pkg:huggingface/{worlds.PHI3}@{world.repos[f'model:{worlds.PHI3}'].sha}"
    )


def test_datasets_resolved_with_publisher(tmp_path: Path) -> None:
    world = worlds.with_datasets()
    with FakeHub(world) as fake:
        _, bom = scan_world(fake, world, tmp_path)
    data = {c["bom-ref"]: c for c in bom["components"] if c["type"] == "data"}
    for dataset_id, _, author in worlds.DATASETS:
        component = data[f"dataset:{dataset_id}"]
        assert component["version"] == world.repos[f"dataset:{dataset_id}"].sha
        assert prop_values(component, PropertyName.DATASET_AUTHOR) == [author]
    gone = data[f"dataset:{worlds.MISSING_DATASET}"]
    assert prop_values(gone, PropertyName.UNRESOLVED) == ["true"]


def test_offline_after_online_uses_the_cache_with_zero_requests(tmp_path: Path) -> None:
    world = worlds.chain(3)
    with FakeHub(world) as fake:
        _, online = scan_world(fake, world, tmp_path / "a")
        fake.reset_log()
        result, offline = scan_world(fake, world, tmp_path / "b", "--offline")
        assert fake.requests == []
    assert result.exit_code == 0, result.output
    assert found_lineage(offline) == found_lineage(online) == truth(world)
    online_purls = sorted(m["purl"] for m in models(online))
    assert sorted(m["purl"] for m in models(offline)) == online_purls


def test_offline_cold_is_an_upstream_failure(tmp_path: Path) -> None:
    world = worlds.chain(1)
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path, "--offline")
        assert fake.requests == []
    assert result.exit_code == 4
    assert bom == {}
    assert "nothing to report" in result.output
    assert "without --offline" in result.output


def test_max_depth_stops_early_with_an_issue(tmp_path: Path) -> None:
    world = worlds.chain(3)
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path, "--max-depth", "1")
    assert result.exit_code == 0, result.output
    assert found_lineage(bom) == {("ai-forever/m0", "ai-forever/m1", "finetune")} | {
        ("ai-forever/m1", "ai-forever/m2", "finetune")
    }
    m2 = next(c for c in bom["components"] if c["bom-ref"] == "pkg:huggingface/ai-forever/m2")
    assert "@" not in m2["purl"]
    assert "not followed past --max-depth 1: ai-forever/m2" in issue_texts(bom)


def test_unknown_repo_entry_exits_4(tmp_path: Path) -> None:
    with FakeHub(worlds.chain(0)) as fake:
        out = tmp_path / "bom.cdx.json"
        result = scan("hf:ai-forever/nope", "--hub-endpoint", fake.url, "-o", str(out))
    assert result.exit_code == 4
    assert not out.exists()


def test_url_target_with_tree_revision(tmp_path: Path) -> None:
    world = worlds.chain(1)
    with FakeHub(world) as fake:
        out = tmp_path / "bom.cdx.json"
        target = f"https://huggingface.co/{world.entry}/tree/main"
        result = scan(target, "--hub-endpoint", fake.url, "-o", str(out))
        assert result.exit_code == 0, result.output
    bom = json.loads(out.read_text())
    assert hub_id(bom["metadata"]["component"]["purl"]) == world.entry


def test_local_scan_resolves_ancestors_only_with_resolve(tmp_path: Path) -> None:
    world = worlds.chain(2)
    folder = tmp_path / "ai-forever__m0"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"_name_or_path": "ai-forever/m1", "model_type": "llama"})
    )
    with FakeHub(world) as fake:
        plain_out = tmp_path / "plain.cdx.json"
        result = scan(str(folder), "--hub-endpoint", fake.url, "-o", str(plain_out))
        assert result.exit_code == 0, result.output
        assert fake.requests == []
        out = tmp_path / "resolved.cdx.json"
        result = scan(str(folder), "--resolve", "--hub-endpoint", fake.url, "-o", str(out))
        assert result.exit_code == 0, result.output
        assert fake.weight_downloads() == []
    bom = json.loads(out.read_text())
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    m1 = by_ref["pkg:huggingface/ai-forever/m1"]
    assert m1["purl"] == f"pkg:huggingface/ai-forever/m1@{world.repos['model:ai-forever/m1'].sha}"
    assert by_ref["pkg:huggingface/ai-forever/m2"]["version"] == (
        world.repos["model:ai-forever/m2"].sha
    )


def test_local_resolve_offline_cold_reports_low_issues(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_name_or_path": "ai-forever/m1"}))
    out = tmp_path / "bom.cdx.json"
    result = scan(str(folder), "--resolve", "--offline", "-o", str(out))
    assert result.exit_code == 0, result.output
    bom = json.loads(out.read_text())
    m1 = next(c for c in bom["components"] if c["bom-ref"] == "pkg:huggingface/ai-forever/m1")
    assert prop_values(m1, PropertyName.UNRESOLVED) == ["true"]


@pytest.mark.parametrize(
    ("raw", "repo_id", "revision"),
    [
        ("hf:datasets/ai-forever/MERA", "ai-forever/MERA", None),
        ("hf:datasets/ai-forever/MERA@v1.0", "ai-forever/MERA", "v1.0"),
        ("hf:datasets/squad", "squad", None),
        ("https://huggingface.co/datasets/ai-forever/MERA", "ai-forever/MERA", None),
        ("https://huggingface.co/datasets/ai-forever/MERA/tree/main", "ai-forever/MERA", "main"),
    ],
)
def test_dataset_targets_parse(raw: str, repo_id: str, revision: str | None) -> None:
    target = parse_target(raw)
    assert (target.kind, target.repo_type, target.repo_id, target.revision) == (
        TargetKind.HUB,
        "dataset",
        repo_id,
        revision,
    )
    assert parse_target("hf:ai-forever/MERA").repo_type == "model"


@pytest.mark.parametrize(
    "raw",
    [
        "hf:datasets/",
        "hf:datasets",
        "hf:datasets/a/b/c",
        "hf:datasets/org/name@",
        "https://huggingface.co/datasets/",
        "https://huggingface.co/datasets/o/n/blob/main/x",
    ],
)
def test_bad_dataset_targets_are_refused(raw: str) -> None:
    with pytest.raises(TargetError):
        parse_target(raw)


@pytest.mark.parametrize("form", ["hf", "url", "pinned", "xml"])
def test_dataset_target_is_a_data_subject_from_metadata_only(form: str, tmp_path: Path) -> None:
    world = worlds.with_datasets()
    dataset_id, license_id, author = worlds.DATASETS[1]
    repo = world.repos[f"dataset:{dataset_id}"]
    target = {
        "hf": f"hf:datasets/{dataset_id}",
        "url": f"https://huggingface.co/datasets/{dataset_id}/tree/main",
        "pinned": f"hf:datasets/{dataset_id}@{repo.sha}",
        "xml": f"hf:datasets/{dataset_id}",
    }[form]
    out = tmp_path / ("bom.cdx.xml" if form == "xml" else "bom.cdx.json")
    with FakeHub(world) as fake:
        result = scan(target, "--hub-endpoint", fake.url, "-o", str(out))
        routes = [(r.route, r.repo_id) for r in fake.requests]
        assert fake.weight_downloads() == []
    assert result.exit_code == 0, result.output
    assert routes == [("dataset_info", dataset_id)]  # one dataset_info; no model, no file
    if form == "xml":
        text = out.read_text()
        assert '<component type="data" bom-ref="dataset:IlyaGusev/ru_turbo_saiga">' in text
        return
    bom = json.loads(out.read_text())
    subject = bom["metadata"]["component"]
    assert (subject["type"], subject["bom-ref"], subject["name"]) == (
        "data",
        f"dataset:{dataset_id}",
        dataset_id.split("/")[1],
    )
    assert subject["version"] == repo.sha
    assert subject["licenses"] == [{"license": {"id": license_id.upper()}}]
    assert prop_values(subject, PropertyName.DATASET_AUTHOR) == [author]
    shard_path = "data/train-00000-of-00001.parquet"
    files = {c["bom-ref"]: c for c in bom["components"] if c["type"] == "file"}
    shard = files[f"file:datasets/{dataset_id}/{shard_path}"]
    lfs = repo.file(shard_path)
    assert lfs is not None
    assert shard["hashes"] == [{"alg": "SHA-256", "content": lfs.lfs_sha256}]
    assert prop_values(shard, PropertyName.FILE_HASH_SOURCE) == ["hub"]
    assert prop_values(shard, PropertyName.FILE_SIZE) == ["734003200"]
    assert not any(c["type"] == "machine-learning-model" for c in bom["components"])


def test_missing_dataset_target_exits_4(tmp_path: Path) -> None:
    with FakeHub(worlds.with_datasets()) as fake:
        out = tmp_path / "bom.cdx.json"
        target = f"hf:datasets/{worlds.MISSING_DATASET}"
        result = scan(target, "--hub-endpoint", fake.url, "-o", str(out))
        # Asked for as a dataset: the model of the same name is never looked up.
        assert [r.route for r in fake.requests] == ["dataset_info"]
    assert result.exit_code == 4
    assert not out.exists()
    assert "nothing to report" in result.output


def test_gguf_lineage_and_key_value_section_read_by_few_range_requests(tmp_path: Path) -> None:
    world = worlds.gguf_repo()
    gguf_file = world.repos[f"model:{worlds.GGUF_REPO}"].file(worlds.GGUF_FILE)
    assert gguf_file is not None
    assert gguf_file.content is not None
    assert len(gguf_file.content) > 1_000_000  # the prefix read cannot hold the whole file
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
        gguf_reads = [r for r in fake.requests if r.path.endswith(f"/{worlds.GGUF_FILE}")]
        assert fake.weight_downloads() == []
    assert result.exit_code == 0, result.output
    assert found_lineage(bom) == truth(world)
    ranges = [(r.method, r.status, r.headers.get("range")) for r in gguf_reads]
    # The lineage reader walks the pairs of the first 512 KiB (a first block with its
    # read-ahead, then the rest); the load analysis reads on to the end of the key-value
    # section, where a chat template would be: here the whole file, which is all header.
    assert 2 <= len(ranges) <= 4
    assert all(method == "GET" and status == 206 for method, status, _ in ranges)
    assert ranges[0][2] is not None
    assert ranges[0][2].startswith("bytes=0-")
    assert sum(r.bytes_sent for r in gguf_reads) == len(gguf_file.content)
    entry = bom["metadata"]["component"]
    ancestors = {
        hub_id(a["purl"]): prop_values(a, PropertyName.RELATION)
        for a in entry.get("pedigree", {}).get("ancestors", [])
    }
    assert ancestors[worlds.GGUF_SOURCE] == ["quantized"]
    assert "truncated" not in issue_texts(bom)
    text = json.dumps(bom)
    assert "general.base_model.0" in text
    assert "general.source.huggingface.repository" in text
    gguf_component = next(c for c in bom["components"] if c.get("name") == worlds.GGUF_FILE)
    assert prop_values(gguf_component, PropertyName.GGUF_VERSION) == ["3"]


def test_safetensors_header_read_by_one_small_range_request(tmp_path: Path) -> None:
    header = {
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4_000_000]},
    }
    raw = json.dumps(header).encode()
    content = len(raw).to_bytes(8, "little") + raw + bytes(4_000_000)
    repo_id = "ai-forever/tiny-st"
    world = World(entry=repo_id)
    world.add(
        worlds.transformers_repo(
            repo_id, files=(FakeFile("model.safetensors", content=content, lfs=True),)
        )
    )
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
        reads = [r for r in fake.requests if r.path.endswith("/model.safetensors")]
        assert fake.weight_downloads() == []
    assert result.exit_code == 0, result.output
    # The length prefix and the header come in the first 16 KiB: one small request.
    assert [(r.status, r.headers.get("range")) for r in reads] == [(206, "bytes=0-16383")]
    assert sum(r.bytes_sent for r in reads) == 16 * 1024 < len(content) // 200
    shard = next(c for c in bom["components"] if c.get("name") == "model.safetensors")
    assert prop_values(shard, PropertyName.SAFETENSORS_PARAMETERS) == ["1000000"]
    assert prop_values(shard, "sovscan:safetensors:metadata:format") == ["pt"]


def test_a_large_safetensors_header_is_read_on_by_range_and_nothing_past_it(
    tmp_path: Path,
) -> None:
    tensors = {
        f"model.layers.{i}.weight": {
            "dtype": "F16",
            "shape": [16, 16],
            "data_offsets": [512 * i, 512 * (i + 1)],
        }
        for i in range(2000)
    }
    raw = json.dumps(tensors).encode()  # ~190 KB: many blocks past the first read
    content = len(raw).to_bytes(8, "little") + raw + bytes(512 * 2000) + bytes(8_000_000)
    repo_id = "ai-forever/many-tensors"
    world = World(entry=repo_id)
    world.add(
        worlds.transformers_repo(
            repo_id, files=(FakeFile("model.safetensors", content=content, lfs=True),)
        )
    )
    with FakeHub(world) as fake:
        result, bom = scan_world(fake, world, tmp_path)
        reads = [r for r in fake.requests if r.path.endswith("/model.safetensors")]
    assert result.exit_code == 0, result.output
    assert 2 <= len(reads) <= 6
    # The header and at most the blocks the last read rounded up to: never the tensor data.
    assert 8 + len(raw) <= sum(r.bytes_sent for r in reads) < 8 + len(raw) + 200 * 1024
    shard = next(c for c in bom["components"] if c.get("name") == "model.safetensors")
    assert prop_values(shard, PropertyName.SAFETENSORS_TENSORS) == ["2000"]
    assert prop_values(shard, PropertyName.SAFETENSORS_PARAMETERS) == [str(256 * 2000)]
