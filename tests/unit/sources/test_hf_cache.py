"""scan_hf_cache over hand-built Hugging Face cache layouts: identity, blob names, --verify."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner.core.config import ScanConfig
from scanner.core.errors import TargetError
from scanner.core.model import Component, ComponentKind, Severity
from scanner.core.properties import PropertyName
from scanner.hashing.digest import HashOutcome, HashRequest, hash_files
from scanner.sources import hf_cache
from scanner.sources.hf_cache import (
    HASH_SOURCE_BLOB_NAME,
    default_hf_cache,
    list_snapshots,
    scan_hf_cache,
)
from scanner.sources.inventory import Inventory
from scanner.sources.targets import TargetKind, parse_target

BASE_COMMIT = "a" * 40
LORA_COMMIT = "b" * 40
ADAPTER_CONFIG = json.dumps({"base_model_name_or_path": "acme/base", "peft_type": "LORA"}).encode()


def safetensors_bytes(values: int = 2) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * (4 * values)


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def add_repo(
    cache: Path,
    repo_id: str,
    commit: str,
    files: dict[str, bytes],
    lfs: Sequence[str] = (),
    blob_names: dict[str, str] | None = None,
) -> Path:
    """models--ORG--NAME with blobs named as huggingface_hub names them, and snapshot links."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir(exist_ok=True)
    snapshot = repo / "snapshots" / commit
    for name, content in files.items():
        blob = hashlib.sha256(content).hexdigest() if name in lfs else git_sha1(content)
        blob = (blob_names or {}).get(name, blob)
        (repo / "blobs" / blob).write_bytes(content)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        depth = len(Path(name).parts) + 1
        link.symlink_to(Path(*[".."] * depth) / "blobs" / blob)
    return snapshot


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    add_repo(
        root,
        "acme/base",
        BASE_COMMIT,
        {
            "config.json": json.dumps({"model_type": "llama"}).encode(),
            "model.safetensors": safetensors_bytes(),
        },
        lfs=["model.safetensors"],
    )
    add_repo(
        root,
        "acme/lora",
        LORA_COMMIT,
        {
            "adapter_config.json": ADAPTER_CONFIG,
            "adapter_model.safetensors": safetensors_bytes(3),
        },
        lfs=["adapter_model.safetensors"],
    )
    return root


def config(tmp_path: Path, *, verify: bool = False) -> ScanConfig:
    return ScanConfig(
        cache_dir=tmp_path / "sovscan", jobs=2, progress=False, verify=verify, offline=True
    )


def by_ref(inventories: list[tuple[str, Inventory]]) -> dict[str, Inventory]:
    return {inv.subject_ref: inv for _, inv in inventories}


def file_component(inventory: Inventory, path: str) -> Component:
    return next(c for c in inventory.components if c.kind is ComponentKind.FILE and c.path == path)


def prop(component: Component, name: str) -> list[str]:
    return [value for key, value in component.properties if key == name]


class RecordingHash:
    """Stands in for hash_files, recording every path asked for."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def __call__(self, requests: list[HashRequest], **kwargs: object) -> dict[Path, HashOutcome]:
        self.paths += [r.path for r in requests]
        return hash_files(requests, **kwargs)  # type: ignore[arg-type]


def test_each_snapshot_is_a_subject_named_by_the_cache_path(cache: Path, tmp_path: Path) -> None:
    scanned = by_ref(scan_hf_cache(cache, config(tmp_path), None))
    assert set(scanned) == {"pkg:huggingface/acme/base", "pkg:huggingface/acme/lora"}
    base = scanned["pkg:huggingface/acme/base"]
    subject = next(c for c in base.components if c.ref == base.subject_ref)
    assert subject.version == BASE_COMMIT
    assert subject.purl == f"pkg:huggingface/acme/base@{BASE_COMMIT}"
    assert {e.method for e in subject.evidence} == {"hf-cache-layout"}
    lora = scanned["pkg:huggingface/acme/lora"]
    assert any(
        r.src == lora.subject_ref and r.dst.startswith("pkg:huggingface/acme/base")
        for r in lora.relations
    )


def test_lfs_digest_is_the_blob_name_and_the_blob_is_not_read(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = RecordingHash()
    monkeypatch.setattr(hf_cache, "hash_files", recorder)
    base = by_ref(scan_hf_cache(cache, config(tmp_path), None))["pkg:huggingface/acme/base"]
    weights = file_component(base, "model.safetensors")
    assert weights.hashes[0].value == hashlib.sha256(safetensors_bytes()).hexdigest()
    assert prop(weights, PropertyName.FILE_HASH_SOURCE) == [HASH_SOURCE_BLOB_NAME]
    assert prop(weights, PropertyName.SAFETENSORS_TENSORS) == ["1"]  # header read through the link
    config_file = file_component(base, "config.json")
    assert prop(config_file, PropertyName.FILE_HASH_SOURCE) == ["content"]
    assert {p.name for p in recorder.paths} == {
        git_sha1(json.dumps({"model_type": "llama"}).encode()),
        git_sha1(
            json.dumps({"base_model_name_or_path": "acme/base", "peft_type": "LORA"}).encode()
        ),
    }


def test_verify_rehashes_and_reports_a_modified_blob(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    declared = hashlib.sha256(b"the original").hexdigest()
    add_repo(
        root,
        "acme/base",
        BASE_COMMIT,
        {"model.safetensors": safetensors_bytes(), "other.bin": b"fine"},
        lfs=["model.safetensors", "other.bin"],
        blob_names={"model.safetensors": declared},
    )
    trusted = scan_hf_cache(root, config(tmp_path), None)[0][1]
    assert file_component(trusted, "model.safetensors").hashes[0].value == declared
    assert not [i for i in trusted.issues if "modified" in i.problem]

    checked = scan_hf_cache(root, config(tmp_path, verify=True), None)[0][1]
    weights = file_component(checked, "model.safetensors")
    actual = hashlib.sha256(safetensors_bytes()).hexdigest()
    assert weights.hashes[0].value == actual
    assert prop(weights, PropertyName.FILE_VERIFIED) == ["false"]
    assert prop(weights, PropertyName.FILE_HASH_SOURCE) == ["content"]
    assert prop(file_component(checked, "other.bin"), PropertyName.FILE_VERIFIED) == ["true"]
    modified = [i for i in checked.issues if "modified in the cache" in i.problem]
    assert len(modified) == 1
    assert modified[0].severity is Severity.HIGH
    assert modified[0].location.endswith(f"snapshots/{BASE_COMMIT}/model.safetensors")
    offline = [i for i in checked.issues if "could not be compared with the Hub" in i.problem]
    assert [i.severity for i in offline] == [Severity.LOW]


def test_symlinks_outside_the_repo_blobs_are_refused(cache: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(safetensors_bytes())
    snapshot = cache / "models--acme--base" / "snapshots" / BASE_COMMIT
    (snapshot / "escape.safetensors").symlink_to(secret)
    other_blob = next((cache / "models--acme--lora" / "blobs").iterdir())
    (snapshot / "neighbour.json").symlink_to(
        Path("../../../models--acme--lora/blobs") / other_blob.name
    )
    base = by_ref(scan_hf_cache(cache, config(tmp_path), None))["pkg:huggingface/acme/base"]
    paths = {c.path for c in base.components if c.kind is ComponentKind.FILE}
    assert paths == {"config.json", "model.safetensors"}
    refused = sorted(i.location.rsplit("/", 1)[1] for i in base.issues if "outside" in i.problem)
    assert refused == ["escape.safetensors", "neighbour.json"]
    assert all(i.severity is Severity.HIGH for i in base.issues if "outside" in i.problem)


def test_corrupted_repos_become_issues_and_datasets_are_skipped(
    cache: Path, tmp_path: Path
) -> None:
    (cache / "models--acme--broken").mkdir()  # no snapshots folder
    add_repo(cache, "acme/data", "c" * 40, {"x.txt": b"x"})
    (cache / "models--acme--data").rename(cache / "datasets--acme--data")
    scanned = scan_hf_cache(cache, config(tmp_path), None, display="hf-cache:X")
    assert {inv.subject_ref for _, inv in scanned} == {
        "pkg:huggingface/acme/base",
        "pkg:huggingface/acme/lora",
    }
    assert scanned[0][0] == f"hf-cache:X/models--acme--base/snapshots/{BASE_COMMIT}"
    problems = [i for _, inv in scanned for i in inv.issues if "cache entry skipped" in i.problem]
    assert len(problems) == 1
    assert "models--acme--broken" in problems[0].problem
    assert problems[0].location == "hf-cache:X"


def test_a_cache_with_nothing_readable_is_a_target_error(tmp_path: Path) -> None:
    (tmp_path / "models--acme--broken").mkdir()
    with pytest.raises(TargetError, match="no model could be read"):
        scan_hf_cache(tmp_path, config(tmp_path), None)


def test_list_snapshots_reports_refs(cache: Path) -> None:
    snapshots, issues = list_snapshots(cache)
    assert [(s.repo_id, s.commit, s.refs) for s in snapshots] == [
        ("acme/base", BASE_COMMIT, ("main",)),
        ("acme/lora", LORA_COMMIT, ("main",)),
    ]
    assert issues == []


def test_default_cache_follows_the_environment_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert default_hf_cache() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "explicit"))
    assert default_hf_cache() == tmp_path / "explicit"


def test_hf_cache_targets(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = parse_target(f"hf-cache:{cache}")
    assert (explicit.kind, explicit.path) == (TargetKind.HF_CACHE, cache)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert parse_target("hf-cache:").path == cache
    with pytest.raises(TargetError, match="no Hugging Face cache folder"):
        parse_target(f"hf-cache:{tmp_path / 'missing'}")


def test_a_blob_that_links_out_of_the_cache_is_refused(cache: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    repo = cache / "models--acme--base"
    (repo / "blobs" / ("f" * 64)).symlink_to(secret)
    (repo / "snapshots" / BASE_COMMIT / "relay.json").symlink_to(Path("../../blobs") / ("f" * 64))
    base = by_ref(scan_hf_cache(cache, config(tmp_path), None))["pkg:huggingface/acme/base"]
    assert "relay.json" not in {c.path for c in base.components}
    assert [i.location.rsplit("/", 1)[1] for i in base.issues if "outside" in i.problem] == [
        "relay.json"
    ]


def test_two_cached_revisions_stay_two_subjects(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    for commit, values in ((BASE_COMMIT, 2), (LORA_COMMIT, 3)):
        weights = {"model.safetensors": safetensors_bytes(values)}
        add_repo(root, "acme/base", commit, weights, lfs=["model.safetensors"])
    scanned = by_ref(scan_hf_cache(root, config(tmp_path), None))
    assert set(scanned) == {
        f"pkg:huggingface/acme/base@{BASE_COMMIT}",
        f"pkg:huggingface/acme/base@{LORA_COMMIT}",
    }
    for commit, values in ((BASE_COMMIT, 2), (LORA_COMMIT, 3)):
        inventory = scanned[f"pkg:huggingface/acme/base@{commit}"]
        weights_file = file_component(inventory, "model.safetensors")
        assert weights_file.ref == f"file:acme/base@{commit}/model.safetensors"
        assert weights_file.hashes[0].value == hashlib.sha256(safetensors_bytes(values)).hexdigest()
        assert {(r.src, r.dst) for r in inventory.relations} == {
            (inventory.subject_ref, weights_file.ref)
        }
