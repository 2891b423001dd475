"""A model's shape read alike from config.json, GGUF headers and the weights' tensor shapes;
hostile values refused."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.formats.model.architecture_shape import (
    shape_from_config,
    shape_from_gguf,
    shape_from_tensors,
    shapes_from_tensors,
)
from scanner.formats.model.gguf import read_gguf_metadata
from scanner.formats.model.hf_config import read_model_config
from scanner.formats.model.safetensors import TensorLayout, read_safetensors_header

if TYPE_CHECKING:
    from pathlib import Path


def test_the_real_mistral_config_reads_its_published_shape(corpus: Path) -> None:
    config = read_model_config(corpus / "models/mistralai__Mistral-7B-v0.1/config_original.json")
    assert config.shape is not None
    assert config.shape.dimensions == (4096, 32, 32, 8, 14336, 0)
    assert (config.shape.vocab_size, config.shape.rope_theta) == (32000, 10000.0)
    assert config.shape.context == 32768


def test_a_gguf_header_reads_the_same_shape_as_a_config(corpus: Path) -> None:
    # llama.cpp's Llama 2 test file carries Llama 2 7B's hyperparameters.
    meta = read_gguf_metadata(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    shape = shape_from_gguf(meta.values, meta.architecture, meta.vocab_size)
    config = shape_from_config(
        {
            "hidden_size": 4096,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "intermediate_size": 11008,
            "vocab_size": 32000,
        }
    )
    assert shape is not None
    assert config is not None
    assert shape.dimensions == config.dimensions
    assert shape.vocab_size == config.vocab_size == 32000


def test_other_spellings_and_defaults() -> None:
    # GPT-2 spells its widths n_embd/n_layer/n_head and leaves the MLP at four times the width.
    gpt2 = shape_from_config({"n_embd": 768, "n_layer": 12, "n_head": 12, "vocab_size": 50257})
    assert gpt2 is not None
    assert gpt2.dimensions == (768, 12, 12, 12, 3072, 0)
    assert gpt2.generic
    # Falcon's early configs say multi_query instead of a KV head count.
    falcon = shape_from_config(
        {"hidden_size": 4544, "n_layer": 32, "n_head": 71, "multi_query": True}
    )
    assert falcon is not None
    assert falcon.kv_heads == 1


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"hidden_size": 4096, "num_hidden_layers": 32},
        {"hidden_size": True, "num_hidden_layers": 32, "num_attention_heads": 32},
        {"hidden_size": -1, "num_hidden_layers": 32, "num_attention_heads": 32},
        {"hidden_size": 1 << 60, "num_hidden_layers": 32, "num_attention_heads": 32},
        {"hidden_size": "4096", "num_hidden_layers": 32, "num_attention_heads": 32},
        {"hidden_size": 4096.5, "num_hidden_layers": 32, "num_attention_heads": 32},
    ],
)
def test_a_config_without_a_sound_shape_has_none(document: dict[str, object]) -> None:
    assert shape_from_config(document) is None


@given(
    st.dictionaries(
        st.sampled_from(["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"]),
        st.one_of(st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(), st.none()),
    )
)
def test_any_values_give_a_shape_or_none(document: dict[str, object]) -> None:
    shape = shape_from_config(document)
    if shape is not None:
        assert shape.hidden_size > 0
        assert shape.layers > 0


# --- the shape the weights' tensors show -------------------------------------------------


def test_a_real_bert_checkpoint_shows_the_shape_its_config_declares(minilm_dir: Path) -> None:
    header = read_safetensors_header(minilm_dir / "model.safetensors")
    shape = shape_from_tensors([header.layout])
    config = read_model_config(minilm_dir / "config.json").shape
    assert shape is not None
    assert config is not None
    assert (shape.hidden_size, shape.layers, shape.vocab_size) == (384, 6, 30522)
    assert shape.intermediate_size == config.intermediate_size == 1536
    assert shape.heads_per_kv_head == 1
    assert shape.embedding == "embeddings.word_embeddings.weight"
    assert shape.agrees_with(config)
    assert not shape.identifying  # textbook widths


def test_a_real_mixture_of_experts_checkpoint_shows_its_experts(corpus: Path) -> None:
    # Mistral-DNA's real Mixtral-architecture checkpoint (and its config, edited to match it).
    folder = corpus / "models/RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0"
    shape = shape_from_tensors([read_safetensors_header(folder / "model.safetensors").layout])
    config = read_model_config(folder / "config.json").shape
    assert shape is not None
    assert config is not None
    assert (shape.hidden_size, shape.layers, shape.vocab_size) == (64, 4, 4096)
    assert (shape.experts, shape.intermediate_size) == (config.experts, config.intermediate_size)
    assert shape.heads_per_kv_head == Fraction(config.heads, config.kv_heads)
    assert shape.agrees_with(config)
    assert not shape.agrees_with(dataclasses.replace(config, layers=5))
    assert not shape.agrees_with(dataclasses.replace(config, kv_heads=2))


def layout(shapes: dict[str, tuple[int, ...]], blocks: dict[str, range]) -> TensorLayout:
    return TensorLayout(
        shapes=tuple(sorted(shapes.items())),
        stacks=tuple((stack, frozenset(indices)) for stack, indices in blocks.items()),
    )


def test_shards_are_read_together_and_the_language_model_s_stack_counts() -> None:
    # A vision-language checkpoint in two shards: the embedding and blocks 0-13 in the first,
    # blocks 14-27 in the second, and a vision tower of 32 blocks under another prefix.
    first = layout(
        {
            "model.embed_tokens.weight": (152064, 3584),
            "model.layers.0.self_attn.q_proj.weight": (3584, 3584),
            "model.layers.0.self_attn.k_proj.weight": (512, 3584),
            "model.layers.0.mlp.gate_proj.weight": (18944, 3584),
            "visual.blocks.0.mlp.fc1.weight": (5120, 1280),
        },
        {"model.layers": range(14), "visual.blocks": range(32)},
    )
    second = layout({}, {"model.layers": range(14, 28)})
    shape = shape_from_tensors([first, second])
    assert shape is not None
    assert (shape.hidden_size, shape.layers, shape.vocab_size) == (3584, 28, 152064)
    assert (shape.intermediate_size, shape.heads_per_kv_head) == (18944, Fraction(7))


def test_quantized_or_fused_tensors_leave_unknown_what_they_hide() -> None:
    # GPTQ packs the projections (qweight); the embedding stays as it was.
    gptq = layout(
        {
            "model.embed_tokens.weight": (32000, 4096),
            "model.layers.0.mlp.gate_proj.qweight": (512, 11008),
            "model.layers.0.self_attn.q_proj.qweight": (512, 4096),
        },
        {"model.layers": range(32)},
    )
    shape = shape_from_tensors([gptq])
    assert shape is not None
    assert (shape.intermediate_size, shape.heads_per_kv_head) == (None, None)
    # Phi-3's fused projections: query as wide as the model, key and value alike.
    fused = layout(
        {
            "model.embed_tokens.weight": (32064, 3072),
            "model.layers.0.self_attn.qkv_proj.weight": (9216, 3072),
            "model.layers.0.mlp.gate_up_proj.weight": (16384, 3072),
        },
        {"model.layers": range(32)},
    )
    phi3 = shape_from_tensors([fused])
    assert phi3 is not None
    assert (phi3.intermediate_size, phi3.heads_per_kv_head) == (8192, Fraction(1))


@pytest.mark.parametrize(
    "shapes",
    [
        {},  # no embedding
        {"model.embed_tokens.weight": (32000,)},  # not a matrix
        {"model.embed_tokens.weight": (0, 4096)},  # empty
        {"encoder.embed_tokens.weight": (32000, 4096)},  # no stack under its prefix
    ],
)
def test_tensors_without_an_embedding_over_a_stack_show_no_shape(
    shapes: dict[str, tuple[int, ...]],
) -> None:
    assert shape_from_tensors([layout(shapes, {"model.layers": range(32)})]) is None


def test_per_layer_gguf_values_read_as_their_widest() -> None:
    # llama.cpp accepts per-layer arrays for head counts and MLP widths (OpenELM writes them).
    values = {
        "qwen2.embedding_length": 3584,
        "qwen2.block_count": 28,
        "qwen2.attention.head_count": (28,) * 28,
        "qwen2.attention.head_count_kv": (4,) * 28,
        "qwen2.feed_forward_length": 18944,
    }
    shape = shape_from_gguf(values, "qwen2", 152064)
    assert shape is not None
    assert (shape.heads, shape.kv_heads) == (28, 4)
    assert shape_from_gguf({**values, "qwen2.attention.head_count": ("x",)}, "qwen2", 1) is None


def test_every_stack_under_the_embedding_is_a_candidate() -> None:
    found = shapes_from_tensors(
        [
            layout(
                {"model.embed_tokens.weight": (151936, 896)},
                {"model.layers": range(24), "model.h": range(100)},
            )
        ]
    )
    assert [shape.layers for shape in found] == [100, 24]
