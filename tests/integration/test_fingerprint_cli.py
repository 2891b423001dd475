"""``sovscan fingerprint TARGET``: which published tokenizer a vocabulary is, on real files."""

from __future__ import annotations

import dataclasses
import json
import shutil
from typing import TYPE_CHECKING

from click.testing import CliRunner

from scanner.cli import cli
from tests.conftest import CORPUS

if TYPE_CHECKING:
    from pathlib import Path


def fingerprint(target: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["fingerprint", str(target)], catch_exceptions=False)
    return result.exit_code, result.output + result.stderr


def test_a_model_folder_s_tokenizer_is_named_with_its_evidence(minilm_dir: Path) -> None:
    code, output = fingerprint(minilm_dir)
    assert code == 0
    assert (
        f"{minilm_dir / 'tokenizer.json'}: wordpiece vocabulary read from its tokenizer.json"
        in (output)
    )
    assert "29523 ordinary of 30522 declared" in output
    assert "published as:    google-bert/bert-base-uncased (identical, high confidence)" in output
    assert "also shipped by: BAAI/bge-small-en-v1.5" in output
    assert "github.com/google-research/bert" in output


def test_a_gguf_file_is_fingerprinted_from_its_metadata(corpus: Path) -> None:
    code, output = fingerprint(corpus / "gguf/ggml-vocab-phi-3.gguf")
    assert code == 0
    assert "meta-llama/Llama-2-7b-hf (identical, high confidence)" in output


def test_a_vocabulary_of_its_own_is_said_to_match_nothing(corpus: Path) -> None:
    code, output = fingerprint(corpus / "gguf/ggml-vocab-baichuan.gguf")
    assert code == 0
    assert "no known vocabulary" in output


def test_a_file_without_a_vocabulary_exits_2(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# card\n")
    code, output = fingerprint(tmp_path / "README.md")
    assert code == 2
    assert "no tokenizer vocabulary found" in output


def test_a_broken_tokenizer_file_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{")
    code, output = fingerprint(tmp_path / "tokenizer.json")
    assert code == 2
    assert f"{tmp_path / 'tokenizer.json'}: not JSON" in output


def test_a_folder_s_shape_and_vocabulary_name_its_base(corpus: Path, tmp_path: Path) -> None:
    # llama.cpp's Llama 2 test file: Llama 2 7B's widths in its header, Llama 2's vocabulary.
    (tmp_path / "model.gguf").write_bytes((corpus / "gguf/ggml-vocab-llama-spm.gguf").read_bytes())
    code, output = fingerprint(tmp_path)
    assert code == 0
    assert "shape:           hidden 4096, 32 layers, 32 heads (32 KV), MLP 11008" in output
    assert (
        "derived from:    meta-llama/Llama-2-7b-hf (architecture+vocabulary, high confidence)"
        in output
    )


def test_widths_alone_are_said_to_be_reuse(corpus: Path, tmp_path: Path) -> None:
    from tests.integration.test_detected_base import OWN_VOCABULARY_ON_LLAMA_3 as config
    from tests.integration.test_undeclared_lineage import DNA_TOKENIZER

    (tmp_path / "config.json").write_text(json.dumps(config))
    # A vocabulary of its own shows the widths are reused; without one they could be a copy.
    code, output = fingerprint(tmp_path)
    assert code == 0
    assert "derived from:    meta-llama/Meta-Llama-3-8B (architecture, medium confidence)" in output
    shutil.copy(corpus / DNA_TOKENIZER, tmp_path / "tokenizer.json")
    code, output = fingerprint(tmp_path)
    assert code == 0
    assert "(dimensions)" in output
    assert "ancestor:        none shown (the widths alone are architecture reuse" in output


def test_a_checkpoint_s_tensors_give_the_shape(tmp_path: Path) -> None:
    from tests.integration.test_detected_base import write_qwen_checkpoint

    write_qwen_checkpoint(tmp_path / "model.safetensors")
    code, output = fingerprint(tmp_path)
    assert code == 0
    assert "shape:           embedding 151936 x 896, 24 blocks, MLP 4864" in output
    assert "copies:          Qwen/Qwen2.5-0.5B (exact)" in output
    assert "derived from:    Qwen/Qwen2.5-0.5B (architecture, medium confidence)" in output


def test_a_folder_with_neither_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# nothing\n")
    code, output = fingerprint(tmp_path)
    assert code == 2
    assert (
        "no tokenizer vocabulary, model shape, or published chat template or special tokens found"
        in output
    )


def test_a_hub_repo_is_fingerprinted_from_its_metadata(qwen_tiktoken: Path, tmp_path: Path) -> None:
    from tests.fakes.hub import FakeFile, FakeHub
    from tests.integration.test_detected_base import QVIKHR_TEMPLATE, QWEN_2_5_7B
    from tests.integration.test_hub_load_analysis import world_with

    template = (CORPUS / QVIKHR_TEMPLATE).read_bytes() if CORPUS.is_dir() else b""
    files = (
        FakeFile("qwen.tiktoken", qwen_tiktoken.read_bytes(), lfs=True),
        *((FakeFile("chat_template.jinja", template),) if template else ()),
    )
    world = world_with(*files, repo_id="acme/from-scratch")
    repo = world.repos["model:acme/from-scratch"]
    world.repos["model:acme/from-scratch"] = dataclasses.replace(
        repo,
        files=tuple(
            FakeFile("config.json", json.dumps(QWEN_2_5_7B).encode())
            if f.path == "config.json"
            else f
            for f in repo.files
        ),
    )
    with FakeHub(world) as fake:
        args = ["fingerprint", "hf:acme/from-scratch", "--hub-endpoint", fake.url]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        weights = fake.weight_downloads()
    assert result.exit_code == 0, result.output
    assert "published as:    qwen2 (identical, high)" in result.output
    signals = "architecture+chat-template+vocabulary" if template else "architecture+vocabulary"
    assert f"derived from:    Qwen/Qwen2.5-7B ({signals}, high confidence)" in result.output
    if template:  # Qwen3's template, fetched with the metadata, supports Qwen's authorship
        assert "chat template:   Qwen/Qwen3-0.6B (near, " in result.output
    assert weights == []


def test_a_chat_template_alone_is_reported_as_supporting(corpus: Path, tmp_path: Path) -> None:
    from tests.integration.test_detected_base import QVIKHR_TEMPLATE

    shutil.copy(corpus / QVIKHR_TEMPLATE, tmp_path / "chat_template.jinja")
    code, output = fingerprint(tmp_path)
    assert code == 0
    assert "supporting signals (never decisive alone)" in output
    assert "chat template:   Qwen/Qwen3-0.6B (near, 9" in output
    assert "derived from" not in output


def test_every_vocabulary_of_a_folder_is_reported(qwen_tiktoken: Path, tmp_path: Path) -> None:
    # A decoy vocab.txt read first does not stand alone in the report.
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n\u2581и\n\u2581в\n")
    shutil.copy(qwen_tiktoken, tmp_path / "qwen.tiktoken")
    code, output = fingerprint(tmp_path)
    assert code == 0
    assert f"{tmp_path / 'vocab.txt'}: wordpiece vocabulary" in output
    assert "published as:    Qwen/Qwen1.5-7B (identical, high confidence)" in output
