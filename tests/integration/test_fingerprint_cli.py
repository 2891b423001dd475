"""``sovscan fingerprint TARGET``: which published tokenizer a vocabulary is, on real files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from click.testing import CliRunner

from scanner.cli import cli

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
