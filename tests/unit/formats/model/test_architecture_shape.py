"""A model's shape read alike from config.json and GGUF headers; hostile values refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.formats.model.architecture_shape import shape_from_config, shape_from_gguf
from scanner.formats.model.gguf import read_gguf_metadata
from scanner.formats.model.hf_config import read_model_config

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
