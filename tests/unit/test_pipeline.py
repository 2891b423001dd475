"""pipeline.run and the merge helpers: targets in, one assessed ScanResult out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import struct
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.core.config import ScanConfig
from scanner.core.errors import UpstreamError
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Hash,
    ModelCardFacts,
    OriginBasis,
    Relation,
    RelationKind,
    ScanIssue,
    ScanResult,
    Severity,
    Verdict,
)
from scanner.core.properties import PropertyName
from scanner.hashing.digest_cache import DB_FILE_NAME
from scanner.pipeline import merge, merge_parts, merged_components, run, unique_relations
from scanner.resolve import package_index
from scanner.sources.inventory import Inventory
from scanner.sources.python.components import INSTALLED_METADATA_METHOD, PythonParts
from scanner.sources.targets import Target, parse_target
from tests.conftest import MINILM_SHA256
from tests.fakes import worlds
from tests.fakes.hub import FakeHub
from tests.fakes.package_index import FakePackageIndex, default_projects

TODAY = dt.date(2026, 12, 5)
MINILM = "pkg:huggingface/sentence-transformers/all-MiniLM-L6-v2"
MINILM_BASE = "pkg:huggingface/nreimers/MiniLM-L6-H384-uncased"
COMMIT = "c" * 40


def config(tmp_path: Path, **fields: Any) -> ScanConfig:
    base = ScanConfig(cache_dir=tmp_path / "cache", jobs=2, progress=False, today=TODAY)
    return replace(base, **fields)


def targets(*raw: str | Path) -> list[Target]:
    return [parse_target(str(item)) for item in raw]


def write(folder: Path, files: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


def card(**fields: object) -> str:
    lines = [f"{key}: {json.dumps(value)}" for key, value in fields.items()]
    return "\n".join(["---", *lines, "---", "# card"]) + "\n"


def safetensors(values: int = 2) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * (4 * values)


def models(result: ScanResult) -> dict[str, Component]:
    return {c.ref: c for c in result.components if c.kind is ComponentKind.MODEL}


def edges(result: ScanResult, kind: RelationKind) -> set[tuple[str, str]]:
    return {(r.src, r.dst) for r in result.relations if r.kind is kind}


def verdicts(result: ScanResult) -> dict[str, Verdict]:
    return {v.tier: v.verdict for v in result.verdicts}


# --- merge, merged_components, unique_relations, merge_parts -------------------------------------

CARD = Evidence(location="README.md", field="base_model", value="acme/base", method="model-card")
FOLDER = Evidence(location=".", field="folder", value="acme/base", method="folder-name")


def _inventory(
    subject: str,
    *components: Component,
    relations: tuple[Relation, ...] = (),
    issues: tuple[ScanIssue, ...] = (),
    findings: tuple[Finding, ...] = (),
) -> Inventory:
    own = Component(ref=subject, kind=ComponentKind.MODEL, name=subject)
    return Inventory(
        subject_ref=subject,
        components=(own, *components),
        relations=relations,
        issues=issues,
        findings=findings,
    )


def test_merge_keeps_every_sighting_of_a_component() -> None:
    named = Component(
        ref="pkg:huggingface/acme/base", kind=ComponentKind.MODEL, name="base", evidence=(CARD,)
    )
    scanned = Component(
        ref="pkg:huggingface/acme/base",
        kind=ComponentKind.MODEL,
        name="base",
        licenses=("apache-2.0",),
        evidence=(FOLDER,),
        model_card=ModelCardFacts(task="text-generation"),
    )
    lora = _inventory("model:lora", named)
    base = _inventory("pkg:huggingface/acme/base")
    base = replace(base, components=(scanned,))
    result = merge([lora, base, lora])
    assert result.subjects == ("model:lora", "pkg:huggingface/acme/base")
    assert [c.ref for c in result.components] == ["model:lora", "pkg:huggingface/acme/base"]
    merged = result.component("pkg:huggingface/acme/base")
    assert merged.licenses == ("apache-2.0",)
    assert merged.model_card == ModelCardFacts(task="text-generation")
    assert merged.evidence == (FOLDER, CARD)  # the scanned sighting's identity first


def test_merge_deduplicates_issues_sorted_and_findings_in_order() -> None:
    late = ScanIssue(location="b/config.json", problem="invalid JSON", severity=Severity.HIGH)
    early = ScanIssue(location="a/README.md", problem="front matter never closed")
    second = Finding(rule_id="SEC002", severity=Severity.MEDIUM, component_ref="f2", message="m")
    first = Finding(rule_id="SEC001", severity=Severity.HIGH, component_ref="f1", message="m")
    result = merge(
        [
            _inventory("model:a", issues=(late, early), findings=(second, first)),
            _inventory("model:b", issues=(early,), findings=(first,)),
        ]
    )
    assert result.issues == (early, late)
    assert result.findings == (second, first)


def test_unique_relations_keep_the_first_sighting_sorted() -> None:
    a = Relation(src="m", dst="b", kind=RelationKind.FINETUNE, evidence=(CARD,))
    again = Relation(src="m", dst="b", kind=RelationKind.FINETUNE, evidence=(FOLDER,))
    other_kind = Relation(src="m", dst="b", kind=RelationKind.ADAPTER)
    earlier = Relation(src="m", dst="a", kind=RelationKind.CONTAINS)
    assert unique_relations([a, again, other_kind, earlier]) == (earlier, other_kind, a)


def test_merged_components_one_per_ref_sorted_by_ref() -> None:
    hashed = Hash(alg="SHA-256", value="1" * 64)
    z = Component(ref="z", kind=ComponentKind.FILE, name="z")
    a1 = Component(ref="a", kind=ComponentKind.FILE, name="a", evidence=(CARD,))
    a2 = Component(ref="a", kind=ComponentKind.FILE, name="a", hashes=(hashed,))
    merged = merged_components(iter([z, a1, a2]))
    assert [c.ref for c in merged] == ["a", "z"]
    assert (merged[0].hashes, merged[0].evidence) == ((hashed,), (CARD,))


def test_merge_parts_adds_libraries_edges_and_issues() -> None:
    subject = Component(ref="model:m", kind=ComponentKind.MODEL, name="m")
    lib = Component(ref="pkg:pypi/numpy@2.1.0", kind=ComponentKind.LIBRARY, name="numpy")
    known = ScanIssue(location="z.txt", problem="kept")
    result = ScanResult(subjects=("model:m",), components=(subject,), issues=(known,))
    new = ScanIssue(location="requirements.txt", problem="line 3: not a requirement")
    parts = PythonParts(
        components=(lib, replace(lib, evidence=(CARD,))),
        relations=(Relation(src="model:m", dst=lib.ref, kind=RelationKind.DEPENDS_ON),),
        issues=(new, known),
    )
    merged = merge_parts(result, parts)
    assert [c.ref for c in merged.components] == ["model:m", "pkg:pypi/numpy@2.1.0"]
    assert merged.component(lib.ref).evidence == (CARD,)
    assert edges(merged, RelationKind.DEPENDS_ON) == {("model:m", lib.ref)}
    assert merged.issues == (new, known)


# --- run: local folders --------------------------------------------------------------------------


def test_a_real_model_folder_end_to_end(minilm_dir: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, offline=True, name="sentence-transformers/all-MiniLM-L6-v2")
    (target,) = targets(minilm_dir)
    result = run(cfg, [target])
    assert result.subjects == (MINILM,)
    assert result.roots == ((MINILM, target.display),)
    weights = next(c for c in result.components if c.path == "model.safetensors")
    assert weights.hashes == (Hash(alg="SHA-256", value=MINILM_SHA256),)
    assert edges(result, RelationKind.FINETUNE) == {(MINILM, MINILM_BASE)}
    assert len(edges(result, RelationKind.TRAINED_ON)) == 21
    assert models(result)[MINILM_BASE].version is None  # offline: named, not resolved
    # The model's digest: sha256sum of every file, sorted by path, hashed again.
    files = sorted(
        (p.relative_to(minilm_dir).as_posix(), p) for p in minilm_dir.rglob("*") if p.is_file()
    )
    listing = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}\n" for rel, path in files
    )
    subject = result.component(MINILM)
    assert Hash(alg="SHA-256", value=hashlib.sha256(listing.encode()).hexdigest()) in (
        subject.hashes
    )
    assert (
        PropertyName.MODEL_DIGEST,
        f"sovscan-manifest-v1 over {len(files)} files",
    ) in subject.properties
    # Assessed: the namespace is attributed (Hugging Face, US), the individual's base is not.
    origin = subject.origin
    assert origin is not None
    assert (origin.country, origin.basis) == ("US", OriginBasis.CURATED)
    base_origin = result.component(MINILM_BASE).origin
    assert base_origin is not None
    assert base_origin.country is None
    assert (result.jurisdiction, result.policy) == ("RU", None)
    assert verdicts(result) == {
        "sovereign": Verdict.FAIL,  # a US model is foreign to RU
        "national": Verdict.UNKNOWN,  # the base declares no licence
        "trusted": Verdict.UNKNOWN,
        "adversary": Verdict.FAIL,  # the US is on Russia's list
    }


def test_the_same_folder_twice_is_one_subject(tmp_path: Path) -> None:
    folder = write(tmp_path / "m", {"README.md": card(license="mit"), "model.safetensors": b"x"})
    result = run(config(tmp_path), targets(folder, folder))
    assert result.subjects == ("model:m",)
    assert len(result.roots) == 1


def test_an_ancestor_scanned_as_another_target_is_one_component(tmp_path: Path) -> None:
    lora = write(
        tmp_path / "ru-lora",
        {
            "README.md": card(license="mit", base_model="acme/base"),
            "adapter_config.json": {"peft_type": "LORA", "base_model_name_or_path": "acme/base"},
            "adapter_model.safetensors": safetensors(),
        },
    )
    base = write(
        tmp_path / "acme__base",
        {
            "README.md": card(license="apache-2.0"),
            "config.json": {"model_type": "llama"},
            "model.safetensors": safetensors(3),
        },
    )
    result = run(config(tmp_path), targets(lora, base))
    ref = "pkg:huggingface/acme/base"
    assert result.subjects == ("model:ru-lora", ref)
    assert [s for s, _ in result.roots] == ["model:ru-lora", ref]
    assert [c.ref for c in result.components] == sorted(c.ref for c in result.components)
    assert [c.ref for c in result.components].count(ref) == 1
    merged = result.component(ref)
    assert merged.licenses == ("apache-2.0",)
    assert {e.method for e in merged.evidence} >= {"model-card", "adapter-config", "folder-name"}
    assert edges(result, RelationKind.ADAPTER) == {("model:ru-lora", ref)}
    contained = {
        result.component(dst).path
        for src, dst in edges(result, RelationKind.CONTAINS)
        if src == ref
    }
    assert contained == {"README.md", "config.json", "model.safetensors"}


def test_a_single_file_is_rooted_at_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "models", {"tiny.safetensors": safetensors()})
    result = run(config(tmp_path), targets("models/tiny.safetensors"))
    (subject,) = result.subjects
    assert result.roots == ((subject, "models"),)
    (weights,) = [c for c in result.components if c.kind is ComponentKind.FILE]
    assert weights.path == "tiny.safetensors"
    assert weights.hashes[0].value == hashlib.sha256(safetensors()).hexdigest()


def test_a_bad_file_is_an_issue_located_from_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "broken",
        {"README.md": card(license="mit"), "config.json": "{", "model.safetensors": b"\0" * 7},
    )
    result = run(config(tmp_path), targets("./broken/"))
    high = {i.location for i in result.issues if i.severity is Severity.HIGH}
    assert high == {"broken/config.json", "broken/model.safetensors"}
    # The scan went on: the files are still inventoried.
    paths = {c.path for c in result.components if c.kind is ComponentKind.FILE}
    assert paths == {"README.md", "config.json", "model.safetensors"}


@pytest.mark.parametrize("use_cache", [True, False], ids=["cache", "no-cache"])
def test_the_hash_cache_is_used_only_when_allowed(tmp_path: Path, use_cache: bool) -> None:
    folder = write(tmp_path / "m", {"model.safetensors": safetensors()})
    run(config(tmp_path, use_cache=use_cache), targets(folder))
    assert (tmp_path / "cache" / DB_FILE_NAME).exists() is use_cache


# --- run: the Hub --------------------------------------------------------------------------------


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    world = worlds.combine(worlds.chain(2), worlds.remote_code(), worlds.with_datasets())
    with FakeHub(world) as fake:
        yield fake


def repo_sha(hub: FakeHub, repo_id: str, repo_type: str = "model") -> str:
    repo = hub.world.get(repo_type, repo_id)
    assert repo is not None
    return repo.sha


def test_a_local_folder_names_ancestors_without_asking_the_hub(
    hub: FakeHub, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "ru-tune", {"README.md": card(license="mit", base_model="ai-forever/m1")}
    )
    result = run(config(tmp_path, hub_endpoint=hub.url), targets(folder))
    assert hub.requests == []
    assert {ref: c.version for ref, c in models(result).items()} == {
        "model:ru-tune": None,
        "pkg:huggingface/ai-forever/m1": None,
    }


def test_resolve_pins_a_local_folders_ancestors_on_the_hub(hub: FakeHub, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "ru-tune", {"README.md": card(license="mit", base_model="ai-forever/m1")}
    )
    result = run(config(tmp_path, hub_endpoint=hub.url, resolve=True), targets(folder))
    assert hub.requests != []
    assert {ref: c.version for ref, c in models(result).items()} == {
        "model:ru-tune": None,
        "pkg:huggingface/ai-forever/m1": repo_sha(hub, "ai-forever/m1"),
        "pkg:huggingface/ai-forever/m2": repo_sha(hub, "ai-forever/m2"),
    }
    assert edges(result, RelationKind.FINETUNE) == {
        ("model:ru-tune", "pkg:huggingface/ai-forever/m1"),
        ("pkg:huggingface/ai-forever/m1", "pkg:huggingface/ai-forever/m2"),
    }


def test_a_hub_target_is_scanned_and_its_lineage_resolved(hub: FakeHub, tmp_path: Path) -> None:
    result = run(config(tmp_path, hub_endpoint=hub.url), targets("hf:ai-forever/m0"))
    m0 = "pkg:huggingface/ai-forever/m0"
    assert result.subjects == (m0,)
    assert result.roots == ((m0, "hf:ai-forever/m0"),)
    pinned = {ref: c.purl for ref, c in models(result).items()}
    assert pinned == {
        f"pkg:huggingface/ai-forever/m{i}": (
            f"pkg:huggingface/ai-forever/m{i}@{repo_sha(hub, f'ai-forever/m{i}')}"
        )
        for i in range(3)
    }
    assert edges(result, RelationKind.FINETUNE) == {
        (m0, "pkg:huggingface/ai-forever/m1"),
        ("pkg:huggingface/ai-forever/m1", "pkg:huggingface/ai-forever/m2"),
    }
    assert {c.origin.country for c in models(result).values() if c.origin} == {"RU"}
    assert result.issues == ()


def test_remote_code_in_other_repos_is_resolved_to_their_commits(
    hub: FakeHub, tmp_path: Path
) -> None:
    result = run(config(tmp_path, hub_endpoint=hub.url), targets("hf:ai-forever/phi3-mini-ru-sft"))
    subject = "pkg:huggingface/ai-forever/phi3-mini-ru-sft"
    phi3 = repo_sha(hub, "microsoft/Phi-3-mini-4k-instruct")
    tokenizer = repo_sha(hub, "Vikhrmodels/ru-tokenizer-code")
    remote = {
        dst: result.component(dst).purl
        for src, dst in edges(result, RelationKind.REMOTE_CODE_FROM)
        if src == subject
    }
    assert remote == {
        "remote-code:microsoft/Phi-3-mini-4k-instruct/configuration_phi3.py": (
            f"pkg:huggingface/microsoft/Phi-3-mini-4k-instruct@{phi3}"
        ),
        "remote-code:microsoft/Phi-3-mini-4k-instruct/modeling_phi3.py": (
            f"pkg:huggingface/microsoft/Phi-3-mini-4k-instruct@{phi3}"
        ),
        "remote-code:Vikhrmodels/ru-tokenizer-code/tokenization_ru.py": (
            f"pkg:huggingface/Vikhrmodels/ru-tokenizer-code@{tokenizer}"
        ),
    }
    # Nothing was downloaded and run: no weight download, and the code is described, not read.
    assert hub.weight_downloads() == []


def test_a_dataset_target_is_a_dataset_subject(hub: FakeHub, tmp_path: Path) -> None:
    result = run(config(tmp_path, hub_endpoint=hub.url), targets("hf:datasets/ai-forever/MERA"))
    assert result.subjects == ("dataset:ai-forever/MERA",)
    subject = result.component("dataset:ai-forever/MERA")
    assert subject.kind is ComponentKind.DATASET
    assert subject.version == repo_sha(hub, "ai-forever/MERA", "dataset")
    assert subject.licenses == ("mit",)


@pytest.mark.parametrize(
    ("offline", "message"),
    [
        (False, r"hf:ai-forever/gone: .*not found.*; nothing to report"),
        (True, r"hf:ai-forever/m0: .*not in the cache: scan it once without --offline"),
    ],
    ids=["missing-repo", "offline-and-not-cached"],
)
def test_a_hub_target_that_cannot_be_read_is_an_upstream_error(
    hub: FakeHub, tmp_path: Path, offline: bool, message: str
) -> None:
    raw = "hf:ai-forever/m0" if offline else "hf:ai-forever/gone"
    with pytest.raises(UpstreamError, match=message):
        run(config(tmp_path, hub_endpoint=hub.url, offline=offline), targets(raw))
    if offline:
        assert hub.requests == []


# --- run: hf-cache targets -----------------------------------------------------------------------


def hf_cache(root: Path) -> Path:
    """A Hugging Face cache holding ai-forever/m1 at COMMIT (blobs and snapshot symlinks)."""
    repo = root / "models--ai-forever--m1"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for name, content in {
        "config.json": json.dumps({"model_type": "llama"}).encode(),
        "model.safetensors": safetensors(),
    }.items():
        blob = hashlib.sha256(content).hexdigest()
        (repo / "blobs" / blob).write_bytes(content)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob))
    return root


@pytest.mark.parametrize(
    ("verify", "offline", "asks"),
    [(False, False, False), (True, True, False), (True, False, True)],
    ids=["trusted-names", "verify-offline", "verify"],
)
def test_a_cache_target_asks_the_hub_only_to_verify(
    hub: FakeHub, tmp_path: Path, verify: bool, offline: bool, asks: bool
) -> None:
    root = hf_cache(tmp_path / "hf")
    cfg = config(tmp_path, hub_endpoint=hub.url, verify=verify, offline=offline)
    result = run(cfg, targets(f"hf-cache:{root}"))
    assert bool(hub.requests) is asks
    ref = "pkg:huggingface/ai-forever/m1"
    assert result.subjects == (ref,)
    assert result.component(ref).version == COMMIT
    ((_, shown),) = result.roots
    assert (
        shown == f"hf-cache:{root.resolve().as_posix()}/models--ai-forever--m1/snapshots/{COMMIT}"
    )


# --- run: Python environments and the package index ----------------------------------------------


def make_env(where: Path) -> Path:
    """A real venv (no pip) holding one distribution, acme-runtime 1.2.0, as pip installs it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = Path(sysconfig.get_path("purelib", "venv", vars={"base": str(where)}))
    dist = site / "acme_runtime-1.2.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-runtime\nVersion: 1.2.0\n"
        "Author-email: Acme Labs <dev@acme-labs.example>\nLicense-Expression: MIT\n\n",
        encoding="utf-8",
    )
    (dist / "INSTALLER").write_text("pip\n", encoding="utf-8")
    (dist / "REQUESTED").write_text("", encoding="utf-8")
    (dist / "RECORD").write_text(
        f"{dist.name}/METADATA,,\n{dist.name}/RECORD,,\n", encoding="utf-8"
    )
    return where / "bin" / "python"


@pytest.mark.skipif(os.name != "posix", reason="venv layout of POSIX systems")
def test_an_interpreters_packages_are_dependencies_of_every_subject(tmp_path: Path) -> None:
    python = make_env(tmp_path / "venv")
    first = write(tmp_path / "a", {"model.safetensors": safetensors()})
    second = write(tmp_path / "b", {"model.safetensors": safetensors(3)})
    with FakePackageIndex(default_projects()) as index:
        cfg = config(tmp_path, python=python, index_url=index.url)
        result = run(cfg, targets(first, second))
        assert index.requests == []  # installed metadata describes the bytes present
    ref = "pkg:pypi/acme-runtime@1.2.0"
    library = result.component(ref)
    assert (library.kind, library.version, library.licenses) == (
        ComponentKind.LIBRARY,
        "1.2.0",
        ("MIT",),
    )
    assert any(e.method == INSTALLED_METADATA_METHOD for e in library.evidence)
    assert {(src, dst) for src, dst in edges(result, RelationKind.DEPENDS_ON) if dst == ref} == {
        ("model:a", ref),
        ("model:b", ref),
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (no model): one pinned requirement."""
    return write(tmp_path / "app", {"requirements.txt": "requests==2.31.0\n"})


def test_index_url_asks_the_index_for_library_metadata(project: Path, tmp_path: Path) -> None:
    with FakePackageIndex(default_projects()) as index:
        result = run(config(tmp_path, index_url=index.url), targets(project))
        assert index.request_lines() == ["GET /pypi/requests/2.31.0/json 200"]
    requests = result.component("pkg:pypi/requests@2.31.0")
    assert requests.licenses == ("Apache 2.0",)
    assert requests.description == "Python HTTP for Humans."


@pytest.fixture
def default_index(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePackageIndex]:
    """The fake index standing in for pypi.org (the default index) inside the pipeline."""
    with FakePackageIndex(default_projects()) as index:
        monkeypatch.setattr(package_index, "DEFAULT_INDEX_URL", index.url)
        yield index


def test_without_being_asked_the_index_is_not_consulted(
    default_index: FakePackageIndex, project: Path, tmp_path: Path
) -> None:
    result = run(config(tmp_path), targets(project))
    assert default_index.requests == []
    requests = result.component("pkg:pypi/requests@2.31.0")
    assert not any(e.method == "package-index" for e in requests.evidence)
    # Its licence, if any, is the knowledge base's (offline knowledge), never the index's.
    assert all(
        p[0] != "sovscan:license:basis" or p[1] == "knowledge-base" for p in requests.properties
    )
    assert result.issues == ()  # a cache miss is expected, not worth an issue


@pytest.mark.parametrize("how", ["resolve", "hub-target"])
def test_resolve_or_a_hub_target_asks_the_default_index(
    default_index: FakePackageIndex, hub: FakeHub, project: Path, tmp_path: Path, how: str
) -> None:
    cfg = config(tmp_path, hub_endpoint=hub.url, resolve=how == "resolve")
    extra = targets("hf:ai-forever/m2") if how == "hub-target" else []
    result = run(cfg, [*targets(project), *extra])
    assert default_index.request_lines() == ["GET /pypi/requests/2.31.0/json 200"]
    assert result.component("pkg:pypi/requests@2.31.0").licenses == ("Apache 2.0",)


def test_offline_reports_the_packages_it_could_not_describe(
    default_index: FakePackageIndex, project: Path, tmp_path: Path
) -> None:
    result = run(config(tmp_path, offline=True, index_url=default_index.url), targets(project))
    assert default_index.requests == []
    (issue,) = [i for i in result.issues if i.location == default_index.url]
    assert issue.problem.startswith(
        "no cached metadata from this index for 1 package(s) (requests); "
    )
