"""Special tokens declared at a published tokenizer's ids, told from the ones every
SentencePiece or BERT tokenizer declares."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from scanner.formats.model.hf_config import read_tokenizer_config
from scanner.sources.special_tokens import MIN_AGREEING, match_special_tokens
from scanner.sources.tokenizer_families import load_families

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("folder", "repo"),
    [
        # Vikhr's Qwen3-based model and a LoRA on a Qwen2.5 re-upload: Qwen's ids.
        ("DMalakhov1__QVikhr-3-1.7B-lora", "Qwen/Qwen1.5-7B"),
        ("datmieu204__qwen2.5-0.5b_ner_model", "Qwen/Qwen1.5-7B"),
        # Generic ids and texts (<unk>, <s>, </s>; BERT's [PAD] ...) name nobody.
        ("mistralai__Mistral-7B-v0.1", None),
        ("CaoThanhNammm__tinyLlama_llama2_lora_qa_human_hybrid", None),
        ("YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP", None),
        ("cointegrated__rubert-tiny2", None),
        ("DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora", None),
        ("evilfreelancer__ruGPT-3.5-13B-lora", None),
    ],
)
def test_real_tokenizer_configs(folder: str, repo: str | None, corpus: Path) -> None:
    config = read_tokenizer_config(corpus / "models" / folder / "tokenizer_config.json")
    assert config.added_tokens
    found = match_special_tokens(config.added_tokens)
    assert (found.repo if found else None) == repo
    if found is not None:
        assert found.agreeing[:2] == ((151643, "<|endoftext|>"), (151644, "<|im_start|>"))
        assert "at the same ids (<|endoftext|> at 151643" in found.describe()


def test_only_pairs_of_a_single_publisher_count() -> None:
    # <|endoftext|> at 0 is GPT-NeoX's, MPT's, StarCoder's and Refact's: it names nobody.
    shared = [(0, "<|endoftext|>"), (1, "<|padding|>")]
    assert match_special_tokens(shared) is None
    # Llama 3's header markers at their ids name Meta.
    llama = [(128000, "<|begin_of_text|>"), (128006, "<|start_header_id|>")]
    found = match_special_tokens(llama)
    assert found is not None
    assert found.repo == "meta-llama/Meta-Llama-3-8B"
    # The same texts at other ids are another vocabulary's.
    assert match_special_tokens([(5, "<|begin_of_text|>"), (6, "<|start_header_id|>")]) is None
    assert match_special_tokens(llama[:1]) is None  # fewer than MIN_AGREEING
    assert MIN_AGREEING == 2


def test_the_database_keeps_each_tokenizer_s_control_tokens() -> None:
    specials = {family.id: family.specials for family in load_families()}
    assert (151644, "<|im_start|>", "Qwen/Qwen1.5-7B") in specials["qwen2"]
    # Phi-3 ships Llama 2's vocabulary with control tokens of its own.
    assert (32001, "<|assistant|>", "microsoft/Phi-3-mini-4k-instruct") in specials["llama-spm"]
    # llama.cpp's [PADn] fillers are not tokens anyone published; BERT's [PAD] is.
    tokens = [token for found in specials.values() for _, token, _ in found]
    assert not any(re.fullmatch(r"\[PAD\d+\]", token) for token in tokens)
    assert "[PAD]" in tokens
