"""The database of published shapes, and how a shape is matched against it."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest

from scanner.formats.model.architecture_shape import ArchitectureShape, TensorShape
from scanner.formats.model.hf_config import read_model_config
from scanner.sources.architecture_families import load_shapes, match_shape, parse_shapes

if TYPE_CHECKING:
    from pathlib import Path


def published(repo: str) -> ArchitectureShape:
    [found] = [entry.shape for entry in load_shapes() if entry.repo == repo]
    return found


def test_every_published_shape_matches_itself_exactly() -> None:
    shapes = load_shapes()
    assert len(shapes) > 150
    for entry in shapes:
        found = match_shape(entry.shape)
        assert found is not None
        assert found.level == "exact"
        assert entry in found.members
        assert entry.config.startswith(f"https://huggingface.co/{entry.repo}/blob/")
        assert entry.config.endswith("/config.json")
        assert entry.source.startswith(("PyPI litgpt ", f"config.json of {entry.repo} "))


@pytest.mark.parametrize("repo", ["deepseek-ai/DeepSeek-R1", "Qwen/Qwen-7B-Chat"])
def test_bases_litgpt_lacks_are_read_from_their_own_configs(repo: str, corpus: Path) -> None:
    config = read_model_config(corpus / "models" / repo.replace("/", "__") / "config.json")
    assert config.shape is not None
    assert published(repo) == config.shape
    found = match_shape(config.shape)
    assert found is not None
    assert (found.level, found.publishers) == ("exact", (repo.partition("/")[0],))


def test_fine_tunes_of_another_publisher_s_model_are_left_out() -> None:
    repos = {entry.repo for entry in load_shapes()}
    assert "meta-llama/Llama-2-7b-hf" in repos
    assert "openlm-research/open_llama_7b" in repos  # a from-scratch reproduction: kept
    assert "garage-bAInd/Platypus2-7B" not in repos
    assert "deepseek-ai/DeepSeek-R1-Distill-Llama-8B" not in repos


def test_llama_3_and_mistral_share_widths_and_differ_in_vocabulary() -> None:
    llama = published("meta-llama/Meta-Llama-3-8B")
    mistral = published("mistralai/Mistral-7B-v0.1")
    assert llama.dimensions == mistral.dimensions
    found = match_shape(llama)
    assert found is not None
    assert found.level == "exact"
    assert found.publishers == ("meta-llama",)


def test_widths_with_a_vocabulary_of_its_own_are_reuse() -> None:
    own = dataclasses.replace(published("meta-llama/Meta-Llama-3-8B"), vocab_size=129024)
    found = match_shape(own)
    assert found is not None
    assert found.level == "dimensions"
    assert {"meta-llama", "mistralai"} <= set(found.publishers)


@pytest.mark.parametrize(("added", "level"), [(2, "exact"), (128, "exact"), (129, "dimensions")])
def test_a_few_added_tokens_keep_the_shape(added: int, level: str) -> None:
    base = published("mistralai/Mistral-7B-v0.1")
    assert base.vocab_size is not None
    found = match_shape(dataclasses.replace(base, vocab_size=base.vocab_size + added))
    assert found is not None
    assert found.level == level


def test_textbook_widths_alone_match_nothing() -> None:
    # BERT-base's widths are GPT-2 small's and Pythia-160m's: they identify nothing.
    bert = ArchitectureShape(
        hidden_size=768,
        layers=12,
        heads=12,
        kv_heads=12,
        intermediate_size=3072,
        vocab_size=30522,
    )
    assert bert.generic
    assert match_shape(bert) is None


@pytest.mark.parametrize("rope_theta", [1.1e6, 5e5, 1e9])
def test_a_changed_rope_base_does_not_hide_the_shape(rope_theta: float) -> None:
    # A RoPE base nudged off the published one loads and runs; it must not launder the shape.
    qwen = dataclasses.replace(published("Qwen/Qwen2.5-7B"), rope_theta=rope_theta)
    found = match_shape(qwen)
    assert found is not None
    assert found.level == "exact"
    assert found.publishers == ("Qwen",)
    assert found.members[0].repo == "Qwen/Qwen2.5-7B"
    assert f"its RoPE base {rope_theta:g} is not the published one" in found.describe()


def test_the_rope_base_narrows_the_members_when_some_have_it() -> None:
    # Llama 2 7B's shape with its RoPE base: Meta's and OpenLLaMA's, not CodeLlama's (1e6).
    found = match_shape(published("meta-llama/Llama-2-7b-hf"))
    assert found is not None
    assert found.publishers == ("openlm-research", "meta-llama")
    assert found.note == ""


def smollm_tensors(**changes: object) -> TensorShape:
    # SmolLM2-135M's widths as its weights show them: embedding 49152 x 576, 30 blocks, an MLP
    # of 1536, 9 query heads over 3 KV heads.
    shape = TensorShape(
        hidden_size=576,
        layers=30,
        vocab_size=49152,
        intermediate_size=1536,
        heads_per_kv_head=Fraction(3),
        embedding="model.embed_tokens.weight",
    )
    return dataclasses.replace(shape, **changes)  # type: ignore[arg-type]


def test_tensor_shapes_match_a_published_configuration() -> None:
    found = match_shape(smollm_tensors())
    assert found is not None
    assert found.level == "exact"
    assert found.members[0].repo == "HuggingFaceTB/SmolLM2-135M"
    # What the tensors hide is not held against them; what they show must agree.
    assert match_shape(smollm_tensors(intermediate_size=None, heads_per_kv_head=None))
    assert match_shape(smollm_tensors(heads_per_kv_head=Fraction(1))) is None
    assert match_shape(smollm_tensors(layers=29)) is None


def test_tensor_widths_alone_are_reuse_only_when_they_show_enough() -> None:
    reuse = match_shape(smollm_tensors(vocab_size=32000))
    assert reuse is not None
    assert reuse.level == "dimensions"
    # Without the MLP's width and the heads' grouping, widths and depth identify nothing.
    assert match_shape(smollm_tensors(vocab_size=32000, intermediate_size=None)) is None


def test_a_malformed_database_is_refused() -> None:
    with pytest.raises(TypeError):
        parse_shapes({"shapes": "none"})
    with pytest.raises(TypeError):
        parse_shapes(
            {"source": "x", "as_of": "y", "shapes": [{"repo": "a/b", "hidden_size": "4096"}]}
        )
