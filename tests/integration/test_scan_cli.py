"""End to end through the CLI: real folders in, CycloneDX documents out, content asserted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from scanner.core.properties import PropertyName
from tests.conftest import EXAMPLES, MINILM_SHA256, REPO


def scan(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``sovscan scan`` in-process; returns click's Result."""
    return CliRunner().invoke(cli, ["scan", "-q", *args], env=env, catch_exceptions=False)


def scan_bom(target: Path | str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    """Scan to a CycloneDX JSON file and load it."""
    out = tmp_path / "bom.cdx.json"
    result = scan(str(target), "-o", str(out), *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return dict(json.loads(out.read_text()))


def components(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in bom.get("components", [])}


def props(component: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def ancestors(component: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["purl"]: a for a in component.get("pedigree", {}).get("ancestors", []) if "purl" in a}


def file_component(bom: dict[str, Any], path: str) -> dict[str, Any]:
    matches = [c for c in bom["components"] if c["type"] == "file" and c["name"] == path]
    assert len(matches) == 1, f"{path} not among files"
    return matches[0]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the bundled examples ----------------------------------------------------------------------


def test_lora_example_lists_foreign_base_datasets_and_hashes(tmp_path: Path) -> None:
    bom = scan_bom(EXAMPLES / "ru-chat-lora", tmp_path, "--offline")
    subject = bom["metadata"]["component"]
    assert subject["type"] == "machine-learning-model"
    assert subject["name"] == "ru-chat-lora"
    assert props(subject)[PropertyName.KIND] == ["adapter"]
    assert props(subject)[PropertyName.ADAPTER_PEFT_TYPE] == ["LORA"]
    base = "pkg:huggingface/meta-llama/Meta-Llama-3-8B-Instruct"
    assert set(ancestors(subject)) == {base}
    assert "base_model_relation=adapter" in subject["pedigree"]["notes"]
    comps = components(bom)
    assert comps[base]["type"] == "machine-learning-model"
    assert comps[base]["group"] == "meta-llama"
    assert "adapter" in props(comps[base])[PropertyName.RELATION]
    # The adapter needs its base's weights at run time: a dependency, not only pedigree.
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert base in deps[subject["bom-ref"]]
    card = subject["modelCard"]["modelParameters"]
    assert card["task"] == "text-generation"
    assert {d["ref"] for d in card["datasets"]} == {
        "dataset:IlyaGusev/ru_turbo_saiga",
        "dataset:IlyaGusev/ru_sharegpt_cleaned",
    }
    assert comps["dataset:IlyaGusev/ru_turbo_saiga"]["type"] == "data"
    weights = file_component(bom, "adapter_model.safetensors")
    assert weights["hashes"] == [
        {
            "alg": "SHA-256",
            "content": sha256_of(EXAMPLES / "ru-chat-lora/adapter_model.safetensors"),
        }
    ]
    assert props(weights)[PropertyName.SAFETENSORS_TENSORS] == ["2"]
    assert subject["licenses"] == [{"license": {"name": "llama3"}}]


def test_domestic_chain_example(tmp_path: Path) -> None:
    bom = scan_bom(EXAMPLES / "ru-legal-8b", tmp_path, "--offline")
    subject = bom["metadata"]["component"]
    base = "pkg:huggingface/yandex/YandexGPT-5-Lite-8B-pretrain"
    assert set(ancestors(subject)) == {base}
    assert "base_model_relation=finetune" in subject["pedigree"]["notes"]
    params = subject["modelCard"]["modelParameters"]
    assert params["architectureFamily"] == "llama"
    assert params["modelArchitecture"] == "LlamaForCausalLM"
    card_props = props(subject["modelCard"])
    assert card_props["cdx:ai-ml:model:parameter:count"] == [str(2 * 128 * 64)]
    assert subject["licenses"] == [{"license": {"name": "yandexgpt-5-lite-8b"}}]
    # Card base_model and config _name_or_path agree: one ancestor, two pieces of evidence.
    occurrences = components(bom)[base]["evidence"]["occurrences"]
    assert {o["location"] for o in occurrences} >= {"README.md", "config.json"}


def test_gguf_example_follows_source_then_base(tmp_path: Path) -> None:
    bom = scan_bom(EXAMPLES / "ru-legal-8b-gguf", tmp_path, "--offline")
    subject = bom["metadata"]["component"]
    source = "pkg:huggingface/example-org/ru-legal-8b"
    assert set(ancestors(subject)) == {source}
    assert "base_model_relation=quantized" in subject["pedigree"]["notes"]
    comps = components(bom)
    # The GGUF names the base of its source model: the lineage goes two levels up.
    assert set(ancestors(comps[source])) == {"pkg:huggingface/yandex/YandexGPT-5-Lite-8B-pretrain"}
    gguf = file_component(bom, "ru-legal-8b.Q4_K_M.gguf")
    gguf_props = props(gguf)
    assert gguf_props[PropertyName.GGUF_ARCHITECTURE] == ["llama"]
    assert gguf_props[PropertyName.GGUF_ORGANIZATION] == ["Example-Org"]
    assert gguf_props[PropertyName.FILE_FORMAT] == ["gguf"]


def test_summary_on_stdout_without_output_flag() -> None:
    result = scan(str(EXAMPLES / "ru-chat-lora"), "--offline")
    assert result.exit_code == 0
    assert "ru-chat-lora" in result.output
    assert "adapter: meta-llama/Meta-Llama-3-8B-Instruct" in result.output
    assert "Datasets  2" in result.output
    assert "Files     4" in result.output


# --- reproducibility and formats ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".cdx.json", ".cdx.xml"])
def test_same_folder_gives_byte_identical_output(tmp_path: Path, suffix: str) -> None:
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    for out in (first, second):
        result = scan(str(EXAMPLES / "ru-legal-8b"), "-o", str(out), "--no-cache", env=env)
        assert result.exit_code == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()
    assert b"2023-11-14T22:13:20" in first.read_bytes()


def test_one_folder_gives_the_same_bytes_whatever_path_and_cache_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    work = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "ru-chat-lora", work / "models" / "ru-chat-lora")
    (work / "link").symlink_to(work / "models" / "ru-chat-lora")
    (work / "models" / "ru-chat-lora" / "generation_config.json").write_text("{not json")
    monkeypatch.chdir(work)
    cache = tmp_path / "cache"
    spellings = [
        ("models/ru-chat-lora", ()),  # cold cache
        ("models/ru-chat-lora", ()),  # warm: digests from the hash cache
        (str(work / "models" / "ru-chat-lora"), ()),  # absolute
        ("./models//ru-chat-lora/", ()),
        ("link", ()),  # through a symlink
        ("models/ru-chat-lora", ("--no-cache",)),
    ]
    outputs: list[list[bytes]] = []
    for index, (target, extra) in enumerate(spellings):
        paths = [tmp_path / f"{index}{suffix}" for suffix in (".cdx.json", ".sarif", ".md")]
        args = [target, "--cache-dir", str(cache), *extra]
        result = scan(*args, *(item for path in paths for item in ("-o", str(path))))
        assert result.exit_code == 0, result.output + result.stderr
        outputs.append([path.read_bytes() for path in paths])
    for spelling, produced in zip(spellings[1:], outputs[1:], strict=True):
        assert produced == outputs[0], spelling
    bom = json.loads(outputs[0][0])
    assert bom["metadata"]["component"]["name"] == "ru-chat-lora"
    assert "timestamp" not in bom["metadata"]
    assert b"models/ru-chat-lora/generation_config.json" in outputs[0][1]  # an issue, located


def test_xml_output_carries_model_card(tmp_path: Path) -> None:
    out = tmp_path / "bom.cdx.xml"
    assert scan(str(EXAMPLES / "ru-chat-lora"), "-o", str(out)).exit_code == 0
    root = ElementTree.parse(out).getroot()  # noqa: S314  (our own output)
    ns = {"c": "http://cyclonedx.org/schema/bom/1.6"}
    component = root.find("c:metadata/c:component", ns)
    assert component is not None
    assert component.get("type") == "machine-learning-model"
    task = component.find("c:modelCard/c:modelParameters/c:task", ns)
    assert task is not None
    assert task.text == "text-generation"


@pytest.mark.parametrize("version", ["1.5", "1.7"])
def test_other_spec_versions(tmp_path: Path, version: str) -> None:
    bom = scan_bom(EXAMPLES / "ru-chat-lora", tmp_path, "--spec-version", version)
    assert bom["specVersion"] == version
    assert bom["metadata"]["component"]["modelCard"]["modelParameters"]["task"] == "text-generation"


def test_format_to_stdout(tmp_path: Path) -> None:
    result = scan(str(EXAMPLES / "ru-chat-lora"), "--format", "cyclonedx-json", "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.output)["bomFormat"] == "CycloneDX"


# --- the real all-MiniLM-L6-v2 folder from PyPI --------------------------------------------------


def test_minilm_real_folder(minilm_dir: Path, tmp_path: Path) -> None:
    bom = scan_bom(minilm_dir, tmp_path, "--name", "sentence-transformers/all-MiniLM-L6-v2")
    subject = bom["metadata"]["component"]
    assert subject["name"] == "all-MiniLM-L6-v2"
    assert subject["group"] == "sentence-transformers"
    assert subject["purl"] == "pkg:huggingface/sentence-transformers/all-MiniLM-L6-v2"
    # The lineage hint in config.json is an ancestor, not the model's own name.
    assert set(ancestors(subject)) == {"pkg:huggingface/nreimers/MiniLM-L6-H384-uncased"}
    datasets = subject["modelCard"]["modelParameters"]["datasets"]
    assert len(datasets) == 21
    assert {"ref": "dataset:s2orc"} in datasets
    weights = file_component(bom, "model.safetensors")
    assert weights["hashes"] == [{"alg": "SHA-256", "content": MINILM_SHA256}]
    assert props(weights)[PropertyName.FILE_HASH_SOURCE] == ["content"]
    assert subject["modelCard"]["modelParameters"]["modelArchitecture"] == "BertModel"
    subject_props = props(subject)
    assert subject_props[PropertyName.MODEL_TRANSFORMERS_VERSION] == ["4.8.2"]
    assert subject_props["sovscan:sentence-transformers:saved-with:sentence-transformers"] == [
        "2.0.0"
    ]


def test_a_rescan_from_the_hash_cache_gives_the_same_bytes(
    minilm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files installed by pip are old enough for the cache's racy-write guard.
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    texts: list[bytes] = []
    for extra in ((), (), ("--no-cache",)):  # cold, warm (from the cache), without the cache
        out = tmp_path / f"bom{len(texts)}.cdx.json"
        result = scan(str(minilm_dir), "-o", str(out), *extra)
        assert result.exit_code == 0, result.output + result.stderr
        texts.append(out.read_bytes())
    assert texts[0] == texts[1] == texts[2]
    weights = file_component(json.loads(texts[1]), "model.safetensors")
    assert props(weights)[PropertyName.FILE_HASH_SOURCE] == ["content"]
    assert weights["hashes"][0]["content"] == MINILM_SHA256
    assert b'"timestamp"' not in texts[0]


# --- identity ----------------------------------------------------------------------------------


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_identity_never_comes_from_name_or_path(tmp_path: Path) -> None:
    model = tmp_path / "my-finetune"
    _write_json(model / "config.json", {"_name_or_path": "Qwen/Qwen2.5-7B", "model_type": "qwen2"})
    bom = scan_bom(model, tmp_path)
    subject = bom["metadata"]["component"]
    assert subject["name"] == "my-finetune"
    assert "purl" not in subject
    assert set(ancestors(subject)) == {"pkg:huggingface/Qwen/Qwen2.5-7B"}


def test_download_metadata_pins_the_revision(tmp_path: Path) -> None:
    model = tmp_path / "dl"
    weights = model / "model.safetensors"
    weights.parent.mkdir()
    weights.write_bytes((8).to_bytes(8, "little") + b'{"a":1} '[:8])
    commit = "0123456789abcdef0123456789abcdef01234567"
    meta = model / ".cache/huggingface/download/model.safetensors.metadata"
    meta.parent.mkdir(parents=True)
    meta.write_text(f"{commit}\n{sha256_of(weights)}\n1700000000.0\n")
    bom = scan_bom(model, tmp_path, "--name", "acme/dl-model")
    subject = bom["metadata"]["component"]
    assert subject["version"] == commit
    assert subject["purl"] == f"pkg:huggingface/acme/dl-model@{commit}"
    file_props = props(file_component(bom, "model.safetensors"))
    assert file_props[PropertyName.FILE_HUB_ETAG_MATCH] == ["true"]
    assert file_props[PropertyName.FILE_HUB_COMMIT] == [commit]
    # huggingface_hub's bookkeeping is provenance, not model content.
    assert not [c for c in bom["components"] if c["name"].startswith(".cache")]


def test_modified_download_is_reported(tmp_path: Path) -> None:
    model = tmp_path / "dl"
    (model / ".cache/huggingface/download").mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"changed after download")
    (model / ".cache/huggingface/download/weights.bin.metadata").write_text(
        f"{'a' * 40}\n{'b' * 64}\n1700000000.0\n"
    )
    result = scan(str(model))
    assert result.exit_code == 0
    assert "content differs from what was downloaded from the Hub" in result.output


# --- bad input: reported, the scan goes on -------------------------------------------------------


def test_hostile_folder_reports_each_problem_and_still_writes_a_valid_bom(tmp_path: Path) -> None:
    model = tmp_path / "hostile"
    model.mkdir()
    (model / "README.md").write_text("---\nbase_model: [unclosed\n---\n")
    (model / "config.json").write_text('{"model_type": "llama",')
    (model / "model.safetensors").write_bytes((10**9).to_bytes(8, "little") + b"{}")
    (model / "tokenizer_config.json").write_bytes(b'{"name_or_path": "\xff\xfe"}')
    (model / "escape").symlink_to("/etc/passwd")
    (model / "root").symlink_to("/")
    os.mkfifo(model / "pipe")
    (model / "ok.txt").write_text("fine\n")
    out = tmp_path / "bom.cdx.json"
    result = scan(str(model), "-o", str(out), "-o", str(tmp_path / "summary.txt"))
    assert result.exit_code == 0, result.stderr
    summary = (tmp_path / "summary.txt").read_text()
    for name in ("README.md", "config.json", "model.safetensors", "tokenizer_config.json"):
        assert f"hostile/{name}:" in summary, name
    assert "hostile/escape: symlink points outside the scanned folder" in summary
    assert "hostile/pipe: special file (FIFO) not read" in summary
    bom = json.loads(out.read_text())
    names = {c["name"] for c in bom["components"] if c["type"] == "file"}
    assert "ok.txt" in names
    assert "escape" not in names
    assert "pipe" not in names
    # Nothing is lost: every issue is in the BOM too.
    issues = [p["value"] for p in bom["metadata"]["properties"] if p["name"] == PropertyName.ISSUE]
    assert any("escape: symlink points outside" in issue for issue in issues)
    assert any("config.json:" in issue for issue in issues)


# --- the corpus ---------------------------------------------------------------------------------


def test_corpus_lora_folders_yield_their_base(corpus: Path, tmp_path: Path) -> None:
    expected = {
        "DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora": "yandex/YandexGPT-5-Lite-8B-instruct",
        "evilfreelancer__ruGPT-3.5-13B-lora": "ai-forever/ruGPT-3.5-13B",
        "DMalakhov1__QVikhr-3-1.7B-lora": "Vikhrmodels/QVikhr-3-1.7B-Instruction-noreasoning",
    }
    for folder, base in expected.items():
        bom = scan_bom(corpus / "models" / folder, tmp_path)
        subject = bom["metadata"]["component"]
        assert props(subject)[PropertyName.KIND] == ["adapter"], folder
        assert set(ancestors(subject)) == {f"pkg:huggingface/{base}"}, folder
        assert "base_model_relation=adapter" in subject["pedigree"]["notes"], folder
        # The folder name is a flattened Hub id: ORG__NAME.
        assert subject["group"] == folder.split("__")[0]


def test_corpus_lfs_pointer_carries_real_hash(corpus: Path, tmp_path: Path) -> None:
    bom = scan_bom(corpus / "models/evilfreelancer__ruGPT-3.5-13B-lora", tmp_path)
    pointer = file_component(bom, "adapter_model.bin")
    assert props(pointer)[PropertyName.FILE_LFS_POINTER] == ["true"]
    pointer_line = (
        corpus / "models/evilfreelancer__ruGPT-3.5-13B-lora/adapter_model.bin"
    ).read_text()
    oid = next(line for line in pointer_line.splitlines() if line.startswith("oid sha256:"))
    assert pointer["hashes"][0]["content"] == oid.removeprefix("oid sha256:")


def test_corpus_slerp_merge_has_both_parents(corpus: Path, tmp_path: Path) -> None:
    bom = scan_bom(corpus / "models/YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP", tmp_path)
    subject = bom["metadata"]["component"]
    assert set(ancestors(subject)) == {
        "pkg:huggingface/01-ai/Yi-1.5-6B-Chat",
        "pkg:huggingface/01-ai/Yi-1.5-6B",
    }
    assert "base_model_relation=merge" in subject["pedigree"]["notes"]


def test_corpus_pipeline_sub_models_are_used_weights_not_tuning_bases(
    corpus: Path, tmp_path: Path
) -> None:
    bom = scan_bom(corpus / "models/runwayml__stable-diffusion-v1-5", tmp_path)
    subject = bom["metadata"]["component"]
    # The text encoder and safety checker name where their own weights come from.
    assert ancestors(subject) == {}
    found = components(bom)
    for ref in (
        "pkg:huggingface/openai/clip-vit-large-patch14",
        "pkg:huggingface/CompVis/stable-diffusion-safety-checker",
    ):
        assert props(found[ref])[PropertyName.RELATION] == ["submodel"]
        assert props(found[ref])[PropertyName.LAYER] == ["weights"]
    root_needs = next(d for d in bom["dependencies"] if d["ref"] == subject["bom-ref"])
    assert "pkg:huggingface/openai/clip-vit-large-patch14" in root_needs["dependsOn"]
    # They are the pipeline's weights all the same: sovereign counts them as foreign.
    result = scan(str(corpus / "models/runwayml__stable-diffusion-v1-5"), "--policy", "sovereign")
    assert result.exit_code == 1
    assert "submodel: openai/clip-vit-large-patch14 — OpenAI (US)" in result.output


def test_corpus_chatglm_remote_code(corpus: Path, tmp_path: Path) -> None:
    bom = scan_bom(corpus / "models/THUDM__chatglm-6b", tmp_path)
    code = {c["name"] for c in bom["components"] if props(c).get(PropertyName.KIND) == ["code"]}
    assert {"configuration_chatglm.py", "modeling_chatglm.py"} <= code
    result = scan(str(corpus / "models/THUDM__chatglm-6b"))
    # The corpus holds no .py files: the missing remote code is reported, not ignored.
    assert (
        "modeling_chatglm.py is not in the folder but config.json:auto_map.AutoModel, "
        "config.json:auto_map.AutoModelForSeq2SeqLM need it" in result.output
    )


def test_corpus_quantized_reupload_named_gguf(corpus: Path, tmp_path: Path) -> None:
    # The card declares the base but not the relation; the repo name says it is a GGUF copy.
    bom = scan_bom(corpus / "models/Qwen__Qwen2.5-1.5B-Instruct-GGUF", tmp_path)
    subject = bom["metadata"]["component"]
    assert set(ancestors(subject)) == {"pkg:huggingface/Qwen/Qwen2.5-1.5B-Instruct"}
    assert "base_model_relation=quantized" in subject["pedigree"]["notes"]


def test_corpus_gguf_files_metadata(corpus: Path, tmp_path: Path) -> None:
    truncated = corpus / "gguf/rupersonaagent_model-q4_K.TRUNCATED-header-only.gguf"
    bom = scan_bom(truncated, tmp_path)
    gguf = file_component(bom, truncated.name)
    gguf_props = props(gguf)
    assert gguf_props[PropertyName.GGUF_ARCHITECTURE] == ["llama"]
    assert gguf_props[PropertyName.GGUF_VERSION] == ["2"]
    assert gguf["hashes"][0]["content"] == sha256_of(truncated)
    vocab = scan_bom(corpus / "gguf/ggml-vocab-phi-3.gguf", tmp_path)
    assert props(file_component(vocab, "ggml-vocab-phi-3.gguf"))[PropertyName.GGUF_TOKENIZER_MODEL]


def test_every_corpus_folder_scans_to_a_valid_bom(corpus: Path, tmp_path: Path) -> None:
    folders = sorted(p for p in (corpus / "models").iterdir() if p.is_dir())
    assert len(folders) >= 20
    for folder in folders:
        bom = scan_bom(folder, tmp_path)
        assert bom["metadata"]["component"]["type"] == "machine-learning-model", folder.name


# --- usage and start-up -------------------------------------------------------------------------


def test_missing_target_is_a_usage_error(tmp_path: Path) -> None:
    result = scan(str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


def test_unsupported_output_is_refused_before_scanning(tmp_path: Path) -> None:
    result = scan(str(EXAMPLES / "ru-chat-lora"), "-o", str(tmp_path / "x.spdx.json"))
    assert result.exit_code == 2
    assert "SPDX output is not available" in result.stderr
    assert not (tmp_path / "x.spdx.json").exists()


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from scanner.cli import cli\n"
        "try:\n    cli(['scan', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('huggingface_hub', 'cyclonedx', 'requests') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert "HEAVY []" in out.stdout
    assert "Exit codes" in out.stdout
