"""read_folder_facts: which reader reads which file, and every unreadable file as an issue."""

from __future__ import annotations

import json
import struct
from pathlib import Path, PurePosixPath

import pytest

from scanner.core.model import Evidence, ScanIssue, Severity
from scanner.sources.folder_facts import FolderFacts, read_folder_facts
from scanner.sources.walk import FileEntry, WalkResult, walk_target

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OID = "a" * 64
#: The Git LFS spec's limit: a pointer file is smaller than 1024 bytes (1024 tolerated).
POINTER_LIMIT = 1024


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


def facts_of(folder: Path, files: dict[str, object] | None = None) -> FolderFacts:
    if files is not None:
        write(folder, files)
    return read_folder_facts(walk_target(folder))


def safetensors(values: int = 2) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * (4 * values)


def pointer(padding: int = 0, oid: str = OID) -> bytes:
    """A Git LFS pointer, padded with an extra key to the size asked for."""
    text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 5000000000\n"
    if padding:
        text += "x-pad " + "p" * (padding - len("x-pad \n")) + "\n"
    return text.encode()


def paths(items: tuple[tuple[PurePosixPath, object], ...]) -> list[str]:
    return [path.as_posix() for path, _ in items]


def located(issues: tuple[ScanIssue, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for issue in issues:
        found.setdefault(issue.location, []).append(issue.problem)
    return found


# --- real folders --------------------------------------------------------------------------------


def test_real_sentence_transformers_folder(minilm_dir: Path) -> None:
    facts = facts_of(minilm_dir)
    assert facts.issues == ()
    assert facts.card is not None
    assert facts.card.license == "apache-2.0"
    assert paths(facts.configs) == ["1_Pooling/config.json", "config.json"]
    config = facts.config()
    assert config is not None
    assert (config.model_type, config.architectures) == ("bert", ("BertModel",))
    assert facts.tokenizer is not None
    assert facts.tokenizer.name_or_path == "nreimers/MiniLM-L6-H384-uncased"
    assert facts.st_modules is not None
    assert [m.type for m in facts.st_modules.modules] == [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ]
    assert facts.st_config is not None
    assert ("sentence_transformers", "2.0.0") in facts.st_config.versions
    ((path, header),) = facts.safetensors
    assert path == PurePosixPath("model.safetensors")
    assert (header.tensor_count, header.parameter_count) == (104, 22_713_728)
    assert facts.python_files == ()
    assert facts.lfs_pointers == ()
    assert (facts.adapter, facts.model_index, facts.generation) == (None, None, None)


def test_card_evidence_names_the_line_of_the_field(minilm_dir: Path) -> None:
    facts = facts_of(minilm_dir)
    assert facts.card_evidence("license", "apache-2.0") == Evidence(
        location="README.md", field="license", value="apache-2.0", method="model-card", line=3
    )
    assert facts.card_evidence("base_model", "x").line is None  # not in this card


def test_card_evidence_without_a_card_has_no_line() -> None:
    assert FolderFacts().card_evidence("license", "mit") == Evidence(
        location="README.md", field="license", value="mit", method="model-card", line=None
    )


def test_lfs_pointers_stand_in_for_weights_in_a_clone_without_lfs(corpus: Path) -> None:
    facts = facts_of(corpus / "models" / "THUDM__chatglm-6b")
    shards = [f"pytorch_model-0000{i}-of-00008.bin" for i in range(1, 9)]
    assert paths(facts.lfs_pointers) == ["ice_text.model", *shards]
    first = dict(facts.lfs_pointers)[PurePosixPath(shards[0])]
    assert first.sha256 == "14dafdc73e1b1da131fec6668f58774bf6eab1215963f92bdd5c7d81dc6ca383"
    assert first.size == 1_740_651_802
    assert paths(facts.safetensors_indexes) == ["pytorch_model.bin.index.json"]
    assert facts.tokenizer is not None
    assert facts.tokenizer.auto_map == (("AutoTokenizer", "tokenization_chatglm.ChatGLMTokenizer"),)
    assert facts.issues == ()


def test_a_diffusers_pipeline_has_only_nested_configs(corpus: Path) -> None:
    facts = facts_of(corpus / "models" / "runwayml__stable-diffusion-v1-5")
    assert paths(facts.configs) == [
        "safety_checker/config.json",
        "text_encoder/config.json",
        "unet/config.json",
        "vae/config.json",
    ]
    assert facts.config() is None
    assert facts.model_index is not None
    assert facts.model_index.class_name == "StableDiffusionPipeline"
    assert [c.name for c in facts.model_index.components] == [
        "feature_extractor",
        "safety_checker",
        "scheduler",
        "text_encoder",
        "tokenizer",
        "unet",
        "vae",
    ]
    # The .safetensors files of this clone are LFS pointers: never read as headers.
    assert facts.safetensors == ()
    assert "unet/diffusion_pytorch_model.safetensors" in paths(facts.lfs_pointers)
    assert facts.issues == ()


def test_gguf_files_are_read_anywhere_by_suffix(corpus: Path) -> None:
    facts = facts_of(corpus / "gguf")
    assert paths(facts.gguf) == [
        "ggml-vocab-baichuan.gguf",
        "ggml-vocab-bert-bge.gguf",
        "ggml-vocab-llama-spm.gguf",
        "ggml-vocab-phi-3.gguf",
        "rupersonaagent_model-q4_K.TRUNCATED-header-only.gguf",
    ]
    assert [meta.architecture for _, meta in facts.gguf] == [
        "baichuan",
        "bert",
        "llama",
        "phi3",
        "llama",
    ]


# --- which reader reads which file -------------------------------------------------------------


def test_single_file_readers_apply_at_the_top_level_only(tmp_path: Path) -> None:
    card = "---\nlicense: mit\nbase_model: acme/base\n---\n# card\n"
    facts = facts_of(
        tmp_path / "m",
        {
            "sub/README.md": card,
            "sub/adapter_config.json": {"peft_type": "LORA", "base_model_name_or_path": "a/b"},
            "sub/tokenizer_config.json": {"tokenizer_class": "X"},
            "sub/modules.json": [],
            "sub/config.json": {"model_type": "llama"},
        },
    )
    assert (facts.card, facts.adapter, facts.tokenizer, facts.st_modules) == (None,) * 4
    assert paths(facts.configs) == ["sub/config.json"]
    top = facts_of(tmp_path / "m", {"README.md": card})
    assert top.card is not None
    assert top.card.base_models == ("acme/base",)


def test_shard_indexes_are_recognised_by_name(tmp_path: Path) -> None:
    index = {"metadata": {"total_size": 8}, "weight_map": {"w": "model-00001-of-00002.safetensors"}}
    facts = facts_of(
        tmp_path / "m",
        {
            "model.safetensors.index.json": index,
            "sub/pytorch_model.bin.index.json": index,
            "notes.index.json": index,
        },
    )
    assert paths(facts.safetensors_indexes) == [
        "model.safetensors.index.json",
        "sub/pytorch_model.bin.index.json",
    ]


def test_python_files_are_collected_anywhere_in_walk_order(tmp_path: Path) -> None:
    facts = facts_of(
        tmp_path / "m",
        {"z.py": "", "a/b/c.py": "", "modeling.py": "", "README.py.txt": "", "setup.pyc": ""},
    )
    assert [p.as_posix() for p in facts.python_files] == ["a/b/c.py", "modeling.py", "z.py"]


def test_listed_facts_are_sorted_by_path(tmp_path: Path) -> None:
    facts = facts_of(
        tmp_path / "m",
        {"z/model.safetensors": safetensors(), "a/model.safetensors": safetensors(3)},
    )
    assert paths(facts.safetensors) == ["a/model.safetensors", "z/model.safetensors"]
    assert [h.parameter_count for _, h in facts.safetensors] == [3, 2]


# --- Git LFS pointers ----------------------------------------------------------------------------


def test_a_pointer_is_never_read_as_the_format_it_stands_for(tmp_path: Path) -> None:
    facts = facts_of(tmp_path / "m", {"model.safetensors": pointer(), "config.json": pointer()})
    assert paths(facts.lfs_pointers) == ["config.json", "model.safetensors"]
    assert (facts.safetensors, facts.configs, facts.issues) == ((), (), ())


@pytest.mark.parametrize(
    ("size", "is_pointer"),
    [(POINTER_LIMIT, True), (POINTER_LIMIT + 1, False)],
    ids=["at-the-limit", "one-byte-over"],
)
def test_pointer_size_limit(tmp_path: Path, size: int, is_pointer: bool) -> None:
    content = pointer(padding=size - len(pointer()))
    assert len(content) == size
    facts = facts_of(tmp_path / "m", {"model.safetensors": content})
    assert bool(facts.lfs_pointers) is is_pointer
    # Over the limit it is content, and content that is no safetensors file is an issue.
    assert bool(facts.issues) is not is_pointer
    if not is_pointer:
        ((location, _),) = located(facts.issues).items()
        assert location == "model.safetensors"


def test_a_broken_pointer_is_an_issue_naming_the_file(tmp_path: Path) -> None:
    facts = facts_of(tmp_path / "m", {"weights/model.bin": pointer(oid="not-a-digest")})
    assert facts.lfs_pointers == ()
    (issue,) = facts.issues
    assert issue.location == "weights/model.bin"
    assert issue.severity is Severity.HIGH
    assert "oid" in issue.problem


# --- malformed and hostile content ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "content", "complaint"),
    [
        ("config.json", "{", "JSON"),
        ("sub/config.json", "[" * 500 + "]" * 500, "nesting depth"),
        ("tokenizer_config.json", "[1, 2]", "array"),
        ("adapter_config.json", '"just a string"', "string"),
        ("generation_config.json", b"\xff\xfe{}", "UTF-8"),
        ("modules.json", "{}", "not an array"),
        ("model_index.json", "null", "null"),
        ("README.md", "---\nlicense: [unclosed\n---\n", "YAML"),
        ("README.md", "---\nlicense: mit\n", "never closed"),
        ("model.safetensors", struct.pack("<Q", 2**40) + b"{}", "header"),
        ("m.gguf", b"GGUF" + b"\xff" * 20, "GGUF"),
        ("x.onnx", b"\x08\x07\x3a\xff\xff\xff\x0f", "truncated"),
    ],
    ids=[
        "truncated-json",
        "too-deep",
        "array-not-object",
        "string-not-object",
        "not-utf8",
        "modules-not-array",
        "null",
        "bad-yaml",
        "unclosed-front-matter",
        "huge-safetensors-header",
        "broken-gguf",
        "broken-onnx",
    ],
)
def test_a_malformed_file_is_a_high_issue_and_no_fact(
    tmp_path: Path, rel: str, content: object, complaint: str
) -> None:
    facts = facts_of(tmp_path / "m", {rel: content, "config_ok/config.json": {"model_type": "x"}})
    (issue,) = facts.issues
    assert issue.location == rel
    assert issue.severity is Severity.HIGH
    assert complaint.lower() in issue.problem.lower()
    # The bad file adds nothing, the good one is still read.
    assert paths(facts.configs) == ["config_ok/config.json"]
    assert (facts.card, facts.tokenizer, facts.adapter, facts.generation) == (None,) * 4
    assert (facts.st_modules, facts.model_index) == (None, None)
    assert (facts.safetensors, facts.gguf, facts.onnx) == ((), (), ())


def test_reader_problems_are_issues_at_the_file_and_the_fact_is_kept(tmp_path: Path) -> None:
    facts = facts_of(
        tmp_path / "m",
        {
            "text_encoder/config.json": {
                "model_type": "clip",
                "auto_map": {"AutoModel": "../../evil.Cls"},
                "architectures": "NotAList",
            },
            "README.md": "---\nlicense: {a: b}\n---\n",
        },
    )
    ((path, config),) = facts.configs
    assert path == PurePosixPath("text_encoder/config.json")
    assert config.auto_map == (("AutoModel", "../../evil.Cls"),)  # kept: still remote code
    problems = located(facts.issues)
    assert set(problems) == {"text_encoder/config.json", "README.md"}
    assert any("auto_map.AutoModel" in p for p in problems["text_encoder/config.json"])
    assert any("architectures" in p for p in problems["text_encoder/config.json"])
    assert any("license" in p for p in problems["README.md"])
    assert {i.severity for i in facts.issues} == {Severity.MEDIUM}
    assert facts.card is not None


def test_a_file_that_vanished_after_the_walk_is_a_cannot_read_issue(tmp_path: Path) -> None:
    gone = FileEntry(relpath=PurePosixPath("config.json"), path=tmp_path / "config.json", size=4096)
    facts = read_folder_facts(WalkResult(files=(gone,), hf_metadata=(), issues=()))
    assert facts.issues == (
        ScanIssue(
            location="config.json",
            problem="cannot read: No such file or directory",
            severity=Severity.HIGH,
        ),
    )
    assert facts.configs == ()


# --- huggingface_hub download metadata ----------------------------------------------------------


def test_download_metadata_is_keyed_by_the_downloaded_file(tmp_path: Path) -> None:
    meta = f"{COMMIT}\n{OID}\n1717000000.5\n"
    facts = facts_of(
        tmp_path / "m",
        {
            "config.json": {"model_type": "llama"},
            ".cache/huggingface/download/config.json.metadata": meta,
            ".cache/huggingface/download/sub/model.safetensors.metadata": meta,
            ".cache/huggingface/download/config.json.lock": "",
            ".cache/huggingface/.gitignore": "*\n",
        },
    )
    assert paths(facts.downloads) == ["config.json", "sub/model.safetensors"]
    assert {m.commit for _, m in facts.downloads} == {COMMIT}
    # Bookkeeping is not model content: not read as configs, not python, no issues.
    assert paths(facts.configs) == ["config.json"]
    assert facts.issues == ()


def test_malformed_download_metadata_is_an_issue_at_its_own_path(tmp_path: Path) -> None:
    facts = facts_of(
        tmp_path / "m",
        {".cache/huggingface/download/model.safetensors.metadata": "main\nnot a commit\n"},
    )
    assert facts.downloads == ()
    (issue,) = facts.issues
    assert issue.location == ".cache/huggingface/download/model.safetensors.metadata"
    assert issue.severity is Severity.HIGH
