"""``sovscan scan hf-cache:DIR`` over a REAL cache written by hf_hub_download from the fake Hub."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli
from scanner.core.properties import PropertyName
from scanner.hashing.digest import HashOutcome, HashRequest, hash_files
from scanner.sources import hf_cache
from tests.fakes.hub import FakeFile, FakeHub, FakeRepo, World

BASE_SHA = "1" * 40
TAMPERED_SHA = "2" * 40
LORA_SHA = "3" * 40
ADAPTER_CONFIG = json.dumps({"base_model_name_or_path": "acme/base", "peft_type": "LORA"}).encode()


def safetensors_bytes(values: int) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\1" * (4 * values)


BASE_WEIGHTS = safetensors_bytes(4)
TAMPERED_WEIGHTS = safetensors_bytes(5)
#: What the Hub (and so the blob name) declares for the tampered repo's weights.
DECLARED = hashlib.sha256(b"what was really uploaded").hexdigest()


def world() -> World:
    return World(
        repos={
            "base": FakeRepo(
                "acme/base",
                sha=BASE_SHA,
                config={"model_type": "llama", "architectures": ["LlamaForCausalLM"]},
                card_data={"license": "apache-2.0"},
                files=(FakeFile("model.safetensors", BASE_WEIGHTS),),
            ),
            "lora": FakeRepo(
                "acme/lora",
                sha=LORA_SHA,
                files=(FakeFile("adapter_config.json", ADAPTER_CONFIG),),
            ),
            "tampered": FakeRepo(
                "acme/tampered",
                sha=TAMPERED_SHA,
                config={"model_type": "llama"},
                files=(FakeFile("model.safetensors", TAMPERED_WEIGHTS, lfs_sha256=DECLARED),),
            ),
        }
    )


@pytest.fixture
def hub() -> Any:
    with FakeHub(world()) as fake:
        yield fake


@pytest.fixture
def real_cache(hub: FakeHub, tmp_path: Path) -> Path:
    """A cache written by huggingface_hub itself."""
    from huggingface_hub import hf_hub_download

    cache = tmp_path / "hf-cache"
    for repo_id, files in (
        ("acme/base", ("config.json", "README.md", "model.safetensors")),
        ("acme/tampered", ("config.json", "model.safetensors")),
    ):
        for name in files:
            hf_hub_download(repo_id, name, cache_dir=cache, endpoint=hub.url, token=False)
    hub.reset_log()
    return cache


def scan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["scan", "-q", *args], catch_exceptions=False)


def scan_bom(cache: Path, tmp_path: Path, *extra: str) -> tuple[Result, dict[str, Any]]:
    out = tmp_path / "bom.cdx.json"
    result = scan(f"hf-cache:{cache}", "-o", str(out), *extra)
    return result, json.loads(out.read_text()) if out.exists() else {}


def components(bom: dict[str, Any]) -> list[dict[str, Any]]:
    return [bom["metadata"]["component"], *bom["components"]]


def weights_of(bom: dict[str, Any], repo_id: str) -> dict[str, Any]:
    return next(
        c
        for c in components(bom)
        if c["type"] == "file"
        and c["name"] == "model.safetensors"
        and c["bom-ref"].startswith(f"file:{repo_id}/")
    )


def props(component: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in component.get("properties", []) if p["name"] == name]


def issues(bom: dict[str, Any]) -> str:
    return "\n".join(props(bom["metadata"], PropertyName.ISSUE))


def test_models_named_from_the_cache_path_with_blob_name_digests(
    real_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Path] = []

    def recording(requests: list[HashRequest], **kwargs: Any) -> dict[Path, HashOutcome]:
        asked.extend(r.path for r in requests)
        return hash_files(requests, **kwargs)

    monkeypatch.setattr(hf_cache, "hash_files", recording)
    result, bom = scan_bom(real_cache, tmp_path, "--offline")
    assert result.exit_code == 0, result.output
    models = {
        c["purl"] for c in components(bom) if c["type"] == "machine-learning-model" and "purl" in c
    }
    assert f"pkg:huggingface/acme/base@{BASE_SHA}" in models
    assert f"pkg:huggingface/acme/tampered@{TAMPERED_SHA}" in models
    weights = weights_of(bom, "acme/base")
    assert weights["hashes"] == [
        {"alg": "SHA-256", "content": hashlib.sha256(BASE_WEIGHTS).hexdigest()}
    ]
    assert props(weights, PropertyName.FILE_HASH_SOURCE) == ["hf-cache-blob-name"]
    # Without --verify the tampered blob is trusted by its name, and no LFS blob is read.
    assert weights_of(bom, "acme/tampered")["hashes"][0]["content"] == DECLARED
    assert asked
    assert not [p for p in asked if len(p.name) == 64]
    assert "modified in the cache" not in issues(bom)


def test_verify_offline_catches_the_modified_blob(real_cache: Path, tmp_path: Path) -> None:
    result, bom = scan_bom(real_cache, tmp_path, "--offline", "--verify")
    assert result.exit_code == 0, result.output
    tampered = weights_of(bom, "acme/tampered")
    assert tampered["hashes"][0]["content"] == hashlib.sha256(TAMPERED_WEIGHTS).hexdigest()
    assert props(tampered, PropertyName.FILE_VERIFIED) == ["false"]
    assert props(weights_of(bom, "acme/base"), PropertyName.FILE_VERIFIED) == ["true"]
    text = issues(bom)
    assert "modified in the cache" in text
    assert f"models--acme--tampered/snapshots/{TAMPERED_SHA}/model.safetensors" in text
    assert "could not be compared with the Hub" in text


def test_verify_online_compares_with_the_hub(
    hub: FakeHub, real_cache: Path, tmp_path: Path
) -> None:
    result, bom = scan_bom(real_cache, tmp_path, "--verify", "--hub-endpoint", hub.url)
    assert result.exit_code == 0, result.output
    assert props(weights_of(bom, "acme/base"), PropertyName.FILE_HUB_VERIFIED) == ["true"]
    assert props(weights_of(bom, "acme/tampered"), PropertyName.FILE_HUB_VERIFIED) == ["false"]
    assert "differs from the Hub" in issues(bom)
    assert hub.weight_downloads() == []
    paths = {r.path for r in hub.requests}
    assert any(BASE_SHA in p for p in paths)


def test_no_network_without_verify(hub: FakeHub, real_cache: Path, tmp_path: Path) -> None:
    result, _ = scan_bom(real_cache, tmp_path, "--hub-endpoint", hub.url)
    assert result.exit_code == 0, result.output
    assert hub.requests == []


def test_missing_cache_folder_is_exit_2(tmp_path: Path) -> None:
    result = scan(f"hf-cache:{tmp_path / 'nope'}")
    assert result.exit_code == 2
    assert "no Hugging Face cache folder" in result.output


def test_an_empty_cache_is_exit_2(tmp_path: Path) -> None:
    result = scan(f"hf-cache:{tmp_path}", "--offline")
    assert result.exit_code == 2
    assert "no model in this Hugging Face cache" in result.output


def test_resolve_pins_the_ancestors_of_cached_models(hub: FakeHub, tmp_path: Path) -> None:
    from huggingface_hub import hf_hub_download

    cache = tmp_path / "lora-only"
    hf_hub_download(
        "acme/lora", "adapter_config.json", cache_dir=cache, endpoint=hub.url, token=False
    )
    offline, bom = scan_bom(cache, tmp_path, "--offline")
    assert offline.exit_code == 0, offline.output
    assert not any(
        c.get("purl") == f"pkg:huggingface/acme/base@{BASE_SHA}" for c in components(bom)
    )
    resolved, bom = scan_bom(cache, tmp_path, "--resolve", "--hub-endpoint", hub.url)
    assert resolved.exit_code == 0, resolved.output
    purls = {c.get("purl") for c in components(bom)}
    assert f"pkg:huggingface/acme/lora@{LORA_SHA}" in purls
    assert f"pkg:huggingface/acme/base@{BASE_SHA}" in purls
