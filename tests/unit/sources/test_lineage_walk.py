"""resolve_lineage and scan_hub_repo against the loopback fake Hub: de-duplication, depth, pins."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.core.errors import TargetError
from scanner.core.model import ComponentKind, Relation, RelationKind
from scanner.resolve.hub.client import HubClient
from scanner.resolve.hub.types import HubRepoInfo
from scanner.sources.hf_repo import scan_hub_repo
from scanner.sources.inventory import Inventory
from scanner.sources.lineage_walk import _cycle_issues, resolve_lineage
from scanner.sources.targets import TargetKind, parse_target
from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, FakeRepo, World


def client_for(fake: FakeHub, tmp_path: Path, *, offline: bool = False) -> HubClient:
    return HubClient(
        endpoint=fake.url, token=False, cache_dir=tmp_path, offline=offline, backoff_s=0.0
    )


def entry_inventory(client: HubClient, repo_id: str | None) -> Inventory:
    assert repo_id is not None
    info = client.repo_info(repo_id)
    assert isinstance(info, HubRepoInfo)
    return scan_hub_repo(client, info, client.endpoint)


@pytest.fixture
def merge_hub() -> Iterator[tuple[World, FakeHub]]:
    world = worlds.merge()
    with FakeHub(world) as fake:
        yield world, fake


def lineage_edges(inventories: list[Inventory]) -> set[tuple[str, str, RelationKind]]:
    return {
        (rel.src, rel.dst, rel.kind)
        for inv in inventories
        for rel in inv.relations
        if rel.kind in {RelationKind.FINETUNE, RelationKind.MERGE}
    }


def test_diamond_is_resolved_once_per_repo(
    merge_hub: tuple[World, FakeHub], tmp_path: Path
) -> None:
    world, fake = merge_hub
    client = client_for(fake, tmp_path)
    found = resolve_lineage(client, [entry_inventory(client, world.entry)], hub=fake.url, workers=4)
    infos = [r.repo_id or "" for r in fake.requests if r.route == "model_info"]
    assert sorted(infos) == sorted(set(infos))  # the shared Qwen root asked for once
    assert set(infos) == {repo.repo_id for repo in world.repos.values()}
    subjects = [inv.subject_ref for inv in found if inv.components]
    assert len(subjects) == len(set(subjects)) == len(world.repos)
    expected = {
        (f"pkg:huggingface/{e.child}", f"pkg:huggingface/{e.parent}", RelationKind(e.relation))
        for e in world.lineage
    }
    assert lineage_edges(found) == expected


def test_every_sighting_of_a_resolved_repo_is_pinned(
    merge_hub: tuple[World, FakeHub], tmp_path: Path
) -> None:
    world, fake = merge_hub
    client = client_for(fake, tmp_path)
    found = resolve_lineage(client, [entry_inventory(client, world.entry)], hub=fake.url)
    for inventory in found:
        for component in inventory.components:
            if component.kind is ComponentKind.MODEL:
                repo = world.repos[f"model:{component.group}/{component.name}"]
                assert component.version == repo.sha
                assert component.purl == f"{component.ref}@{repo.sha}"


def test_max_depth_zero_follows_nothing(tmp_path: Path) -> None:
    world = worlds.chain(2)
    with FakeHub(world) as fake:
        client = client_for(fake, tmp_path)
        entry = entry_inventory(client, world.entry)
        fake.reset_log()
        found = resolve_lineage(client, [entry], hub=fake.url, max_depth=0)
        assert fake.requests == []
    problems = [issue.problem for inv in found for issue in inv.issues]
    assert problems == ["lineage not followed past --max-depth 0: ai-forever/m1 is not resolved"]


def test_offline_miss_is_low_and_unresolved(tmp_path: Path) -> None:
    world = worlds.chain(1)
    with FakeHub(world) as fake:
        online = client_for(fake, tmp_path / "online")
        entry = entry_inventory(online, world.entry)
        offline = client_for(fake, tmp_path / "cold", offline=True)
        found = resolve_lineage(offline, [entry], hub=fake.url)
    issues = [issue for inv in found for issue in inv.issues if "ai-forever/m1" in issue.location]
    assert [str(issue.severity) for issue in issues] == ["low"]
    m1 = next(c for inv in found for c in inv.components if c.ref.endswith("ai-forever/m1"))
    assert m1.unresolved


def test_base_model_tags_add_ancestors_the_files_do_not_declare(tmp_path: Path) -> None:
    world = World(entry="ai-forever/tagged")
    world.add(
        FakeRepo(
            "ai-forever/tagged",
            files=(FakeFile("README.md", b"# no front matter\n"),),
            tags=("base_model:quantized:ai-forever/m0",),
            derive_tags=False,
        ),
        *worlds.chain(0).repos.values(),
    )
    with FakeHub(world) as fake:
        client = client_for(fake, tmp_path)
        inventory = entry_inventory(client, world.entry)
    relations = {(rel.dst, rel.kind) for rel in inventory.relations if rel.kind != "contains"}
    assert relations == {("pkg:huggingface/ai-forever/m0", RelationKind.QUANTIZED)}


def test_cycle_detection_reports_each_cycle_once() -> None:
    def rel(src: str, dst: str) -> Relation:
        return Relation(
            src=f"pkg:huggingface/o/{src}",
            dst=f"pkg:huggingface/o/{dst}",
            kind=RelationKind.FINETUNE,
        )

    relations = [rel("a", "b"), rel("b", "c"), rel("c", "a"), rel("c", "d"), rel("d", "d")]
    problems = sorted(issue.problem for issue in _cycle_issues("https://hub", relations))
    assert problems == [
        "lineage cycle: o/a → o/b → o/c → o/a; the walk stopped there",
        "lineage cycle: o/d → o/d; the walk stopped there",
    ]
    assert _cycle_issues("https://hub", [rel("a", "b"), rel("b", "c"), rel("a", "c")]) == []


@pytest.mark.parametrize(
    ("raw", "repo_id", "revision"),
    [
        ("hf:ai-forever/m0", "ai-forever/m0", None),
        ("hf:ai-forever/m0@v1.0", "ai-forever/m0", "v1.0"),
        ("hf:gpt2", "gpt2", None),
        ("https://huggingface.co/Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B", None),
        ("https://huggingface.co/Qwen/Qwen2.5-7B/", "Qwen/Qwen2.5-7B", None),
        ("https://huggingface.co/Qwen/Qwen2.5-7B/tree/main", "Qwen/Qwen2.5-7B", "main"),
        ("https://huggingface.co/o/n/tree/refs%2Fpr%2F1", "o/n", "refs/pr/1"),
    ],
)
def test_hub_targets_parse(raw: str, repo_id: str, revision: str | None) -> None:
    target = parse_target(raw)
    assert (target.kind, target.repo_id, target.revision) == (TargetKind.HUB, repo_id, revision)


@pytest.mark.parametrize(
    "raw",
    [
        "hf:",
        "hf:a/b/c",
        "hf:a--b/c",
        "hf:org/name@",
        "hf:org/na me",
        "https://huggingface.co/o/n/blob/main/x",
        "https://huggingface.co/",
    ],
)
def test_bad_hub_targets_are_refused(raw: str) -> None:
    with pytest.raises(TargetError):
        parse_target(raw)


def test_adapter_base_is_resolved_at_its_declared_commit_and_tokenizer_source_pinned(
    tmp_path: Path,
) -> None:
    base = worlds.transformers_repo("ai-forever/base")
    tokenizer_source = worlds.transformers_repo("ai-forever/tok-src")
    adapter_config = {
        "base_model_name_or_path": "ai-forever/base",
        "revision": base.sha,
        "peft_type": "LORA",
    }
    adapter = FakeRepo(
        "ai-forever/lora",
        files=(
            FakeFile("adapter_config.json", json.dumps(adapter_config).encode()),
            FakeFile("tokenizer_config.json", b'{"name_or_path": "ai-forever/tok-src"}'),
        ),
    )
    world = World(entry=adapter.repo_id)
    world.add(adapter, base, tokenizer_source)
    with FakeHub(world) as fake:
        client = client_for(fake, tmp_path)
        found = resolve_lineage(client, [entry_inventory(client, world.entry)], hub=fake.url)
        info_paths = [r.path for r in fake.requests if r.route == "model_info"]
    assert f"/api/models/ai-forever/base/revision/{base.sha}" in info_paths
    assert info_paths.count("/api/models/ai-forever/tok-src") == 1
    by_ref = {c.ref: c for inv in found for c in inv.components}
    assert (
        by_ref["pkg:huggingface/ai-forever/base"].purl
        == f"pkg:huggingface/ai-forever/base@{base.sha}"
    )
    source = by_ref["pkg:huggingface/ai-forever/tok-src"]
    assert source.purl == f"pkg:huggingface/ai-forever/tok-src@{tokenizer_source.sha}"
    # A tokenizer source is pinned, not scanned: its own files are not inventoried.
    assert not any(ref.startswith("file:ai-forever/tok-src/") for ref in by_ref)


def test_independent_branches_are_resolved_concurrently(tmp_path: Path) -> None:
    elapsed: dict[int, float] = {}
    for workers in (1, 6):
        world = worlds.merge(5)  # five parents: one level of five independent branches
        world.latency_s = 0.05
        with FakeHub(world) as fake:
            client = client_for(fake, tmp_path / str(workers))
            entry = entry_inventory(client, world.entry)
            started = time.monotonic()
            found = resolve_lineage(client, [entry], hub=fake.url, workers=workers)
            elapsed[workers] = time.monotonic() - started
        assert len([inv for inv in found if inv.components]) == len(world.repos)
    assert elapsed[6] < 0.7 * elapsed[1], elapsed


def test_progress_is_reported_per_level(tmp_path: Path) -> None:
    world = worlds.chain(3)
    seen: list[tuple[int, int]] = []
    with FakeHub(world) as fake:
        client = client_for(fake, tmp_path)
        entry = entry_inventory(client, world.entry)
        resolve_lineage(
            client, [entry], hub=fake.url, progress=lambda depth, repos: seen.append((depth, repos))
        )
    # Three ancestors, one per level; the entry itself counts as the first repo.
    assert seen == [(1, 2), (2, 3), (3, 4)]
