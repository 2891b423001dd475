"""Inventory: which relation each declared ancestor gets, and the evidence behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.core.config import ScanConfig
from scanner.core.model import ComponentKind, RelationKind
from scanner.core.properties import PropertyName
from scanner.sources.inventory import Inventory
from scanner.sources.local_dir import scan_local
from tests.fakes.worlds import gguf_bytes


def _scan(folder: Path, files: dict[str, object], name: str | None = None) -> Inventory:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
    config = ScanConfig(cache_dir=folder.parent / "cache", jobs=2, name=name, progress=False)
    return scan_local(folder, config, cache=None)


def _card(**fields: object) -> str:
    lines = ["---"]
    for key, value in fields.items():
        lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join([*lines, "---", "# card"]) + "\n"


def _lineage(inv: Inventory) -> dict[str, RelationKind]:
    return {
        r.dst: r.kind
        for r in inv.relations
        if r.src == inv.subject_ref
        and r.kind not in {RelationKind.CONTAINS, RelationKind.DEPENDS_ON}
        and r.kind is not RelationKind.TRAINED_ON
    }


BASE = "pkg:huggingface/acme/base"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"README.md": _card(base_model="acme/base")}, RelationKind.FINETUNE),
        (
            {
                "README.md": _card(base_model="acme/base"),
                "adapter_config.json": {
                    "peft_type": "LORA",
                    "base_model_name_or_path": "acme/base",
                },
            },
            RelationKind.ADAPTER,
        ),
        ({"README.md": _card(base_model="acme/base", tags=["gguf"])}, RelationKind.QUANTIZED),
        (
            {
                "README.md": _card(base_model="acme/base"),
                "config.json": {"quantization_config": {"quant_method": "gptq", "bits": 4}},
            },
            RelationKind.QUANTIZED,
        ),
        (
            {"README.md": _card(base_model="acme/base", base_model_relation="merge")},
            RelationKind.MERGE,
        ),
    ],
    ids=["finetune", "adapter", "gguf-tag", "quantization-config", "explicit"],
)
def test_relation_inference(
    tmp_path: Path, files: dict[str, object], expected: RelationKind
) -> None:
    inv = _scan(tmp_path / "m", files)
    assert _lineage(inv) == {BASE: expected}


def test_two_bases_are_a_merge(tmp_path: Path) -> None:
    inv = _scan(tmp_path / "m", {"README.md": _card(base_model=["acme/a", "acme/b"])})
    assert _lineage(inv) == {
        "pkg:huggingface/acme/a": RelationKind.MERGE,
        "pkg:huggingface/acme/b": RelationKind.MERGE,
    }


def test_card_and_config_hint_merge_into_one_relation(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {"README.md": _card(base_model="acme/base"), "config.json": {"_name_or_path": "acme/base"}},
    )
    (relation,) = [r for r in inv.relations if r.dst == BASE]
    assert {(e.location, e.method) for e in relation.evidence} == {
        ("README.md", "model-card"),
        ("config.json", "config-hint"),
    }


@pytest.mark.parametrize(
    "files",
    [
        # AutoGPTQ's quantize_config.json records the model it read (here beside TheBloke's
        # real settings); so does a config.json's quantization_config.
        {
            "quantize_config.json": {
                "bits": 4,
                "group_size": -1,
                "desc_act": True,
                "model_name_or_path": "acme/base",
                "model_file_base_name": "model",
            }
        },
        {
            "config.json": {
                "quantization_config": {"quant_method": "gptq", "model_name_or_path": "acme/base"}
            }
        },
    ],
    ids=["quantize_config.json", "quantization_config"],
)
def test_the_model_a_quantizer_read_is_a_quantized_hint(
    tmp_path: Path, files: dict[str, object]
) -> None:
    inv = _scan(tmp_path / "m", files)
    assert _lineage(inv) == {BASE: RelationKind.QUANTIZED}
    (relation,) = [r for r in inv.relations if r.dst == BASE]
    assert {e.method for e in relation.evidence} == {"config-hint"}
    assert {e.field for e in relation.evidence} <= {
        "model_name_or_path",
        "quantization_config.model_name_or_path",
    }


def test_local_path_hints_are_not_ancestors(tmp_path: Path) -> None:
    inv = _scan(tmp_path / "m", {"config.json": {"_name_or_path": "/content/drive/out"}})
    assert _lineage(inv) == {}


def test_unresolvable_adapter_base_stays_in_the_inventory(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {"adapter_config.json": {"base_model_name_or_path": "/kaggle/input/llama-7b"}},
    )
    (ref,) = _lineage(inv)
    base = next(c for c in inv.components if c.ref == ref)
    assert base.unresolved
    assert base.name == "llama-7b"
    assert any("not a Hugging Face repo id" in i.problem for i in inv.issues)


def test_unknown_relation_is_reported_and_inferred(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {"README.md": _card(base_model="acme/base", base_model_relation="distilled")},
    )
    assert _lineage(inv) == {BASE: RelationKind.FINETUNE}
    assert any("unknown base_model_relation" in i.problem for i in inv.issues)


def test_remote_code_from_another_repo(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {
            "config.json": {
                "auto_map": {
                    "AutoModel": "deepseek-ai/DeepSeek-V3--modeling_deepseek.DeepseekV3Model"
                }
            }
        },
    )
    code = next(c for c in inv.components if c.kind is ComponentKind.CODE)
    assert code.purl == "pkg:huggingface/deepseek-ai/DeepSeek-V3"
    assert code.name == "modeling_deepseek.py"
    assert (PropertyName.CODE_CLASS, "DeepseekV3Model") in code.properties
    assert _lineage(inv) == {code.ref: RelationKind.REMOTE_CODE_FROM}


def test_local_remote_code_is_hashed(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {
            "config.json": {"auto_map": {"AutoModel": "modeling_x.XModel"}},
            "modeling_x.py": "class XModel: ...\n",
        },
    )
    code = next(c for c in inv.components if c.kind is ComponentKind.CODE)
    assert code.path == "modeling_x.py"
    assert len(code.hashes) == 1


def test_tokenizer_from_another_repo(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {
            "tokenizer_config.json": {
                "name_or_path": "acme/tok",
                "tokenizer_class": "LlamaTokenizer",
                "chat_template": "x",
            }
        },
    )
    tokenizer = next(c for c in inv.components if c.kind is ComponentKind.TOKENIZER)
    assert (PropertyName.TOKENIZER_CHAT_TEMPLATE, "true") in tokenizer.properties
    (rel,) = [
        r for r in inv.relations if r.src == tokenizer.ref and r.kind is RelationKind.TOKENIZER_FROM
    ]
    assert rel.dst == "pkg:huggingface/acme/tok"


def test_missing_shard_reported(tmp_path: Path) -> None:
    inv = _scan(
        tmp_path / "m",
        {
            "model.safetensors.index.json": {
                "metadata": {"total_size": 10},
                "weight_map": {"a": "model-00001-of-00002.safetensors"},
            }
        },
    )
    assert any("model-00001-of-00002.safetensors" in i.problem for i in inv.issues)


def test_non_hub_dataset_recorded_with_issue(tmp_path: Path) -> None:
    inv = _scan(tmp_path / "m", {"README.md": _card(datasets=["my private data (v2)"])})
    dataset = next(c for c in inv.components if c.kind is ComponentKind.DATASET)
    assert dataset.external_urls == ()
    assert any("not a Hugging Face dataset id" in i.problem for i in inv.issues)


def _gguf(version: str | None) -> bytes:
    pairs: list[tuple[str, str | int | list[str]]] = [("general.architecture", "llama")]
    if version is not None:
        pairs.append(("general.version", version))
    return gguf_bytes(pairs)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.gguf": _gguf("v2.1"), "b.gguf": _gguf("v2.1")}, "v2.1"),
        ({"a.gguf": _gguf("v2.1"), "b.gguf": _gguf("v3")}, None),  # which one is the model's?
        ({"a.gguf": _gguf("v2.1"), "b.gguf": _gguf(None)}, None),
        ({"a.gguf": _gguf(None)}, None),  # never invented
    ],
)
def test_a_model_s_version_is_the_one_its_gguf_files_declare(
    tmp_path: Path, files: dict[str, object], expected: str | None
) -> None:
    inv = _scan(tmp_path / "m", files)
    subject = next(c for c in inv.components if c.ref == inv.subject_ref)
    assert subject.version == expected
    declared = [e for e in subject.evidence if e.field == "general.version"]
    assert [e.value for e in declared] == ([expected] if expected else [])
