"""A base model the card leaves out, found from the configuration's shape and the vocabulary
together (issue #13), and architecture reuse told apart from lineage.

Every vocabulary is a real published file: Qwen's as Alibaba Cloud ships it (PyPI dashscope
2.0.2), Llama 2's and Phi-3's in llama.cpp's GGUF test files (whose headers also carry each
model's widths), a Russian persona model's GGUF header (corpus), and Mistral-DNA's own DNA
tokenizer. The configurations are the published values of the models they name, with the URL
of each; a tokenizer trained in the test with the ``tokenizers`` library stands for a model's
own.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
from typing import TYPE_CHECKING

import pytest

from scanner.core.properties import PropertyName
from tests.fakes.worlds import gguf_bytes
from tests.integration.test_attacks import baseline
from tests.integration.test_undeclared_lineage import (
    DNA_TOKENIZER,
    FROM_SCRATCH,
    lineage_findings,
    props,
    scan_tiers,
    sovereign_rules,
    tokenizer,
)

if TYPE_CHECKING:
    from pathlib import Path

#: https://huggingface.co/Qwen/Qwen2.5-7B/blob/main/config.json
QWEN_2_5_7B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 131072,
    "rope_theta": 1000000.0,
    "vocab_size": 152064,
    "torch_dtype": "bfloat16",
}
#: Llama 3 8B's widths (https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json)
#: with a 129,024-token vocabulary of the model's own, as YandexGPT-5-Lite-8B's config declares:
#: a model trained from scratch on the Llama architecture.
OWN_VOCABULARY_ON_LLAMA_3 = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 32768,
    "rope_theta": 500000.0,
    "vocab_size": 129024,
}
#: https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json
LLAMA_2_7B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
    "vocab_size": 32000,
}


#: https://huggingface.co/Qwen/Qwen2.5-0.5B/blob/main/config.json: its widths, as the tensors of
#: its model.safetensors hold them (transformers' Qwen2 names; the embedding is tied).
QWEN_2_5_HALF_B = {"hidden": 896, "layers": 24, "kv": 128, "mlp": 4864, "vocab": 151936}


def write_qwen_checkpoint(path: Path, *, layers: int = 24, vocab: int = 151936) -> Path:
    """A header-true safetensors checkpoint of Qwen2.5-0.5B's tensors (names and BF16 shapes);
    its data, which no reader here looks at, is left as a hole in a sparse file."""
    hidden, kv, mlp = QWEN_2_5_HALF_B["hidden"], QWEN_2_5_HALF_B["kv"], QWEN_2_5_HALF_B["mlp"]
    shapes: dict[str, list[int]] = {
        "model.embed_tokens.weight": [vocab, hidden],
        "model.norm.weight": [hidden],
    }
    for n in range(layers):
        block = f"model.layers.{n}."
        shapes |= {
            block + "input_layernorm.weight": [hidden],
            block + "post_attention_layernorm.weight": [hidden],
            block + "self_attn.q_proj.weight": [hidden, hidden],
            block + "self_attn.q_proj.bias": [hidden],
            block + "self_attn.k_proj.weight": [kv, hidden],
            block + "self_attn.k_proj.bias": [kv],
            block + "self_attn.v_proj.weight": [kv, hidden],
            block + "self_attn.v_proj.bias": [kv],
            block + "self_attn.o_proj.weight": [hidden, hidden],
            block + "mlp.gate_proj.weight": [mlp, hidden],
            block + "mlp.up_proj.weight": [mlp, hidden],
            block + "mlp.down_proj.weight": [hidden, mlp],
        }
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    with path.open("wb") as stream:
        stream.write(struct.pack("<Q", len(raw)) + raw)
        stream.truncate(8 + len(raw) + offset)
    return path


@pytest.fixture
def domestic(tmp_path: Path) -> Path:
    folder = baseline(tmp_path / "m")
    (folder / "README.md").write_text(FROM_SCRATCH)
    return folder


def with_config(folder: Path, config: dict[str, object]) -> Path:
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def component(bom: dict[str, object], ref: str) -> dict[str, object]:
    components = bom["components"]
    assert isinstance(components, list)
    [found] = [c for c in components if c["bom-ref"] == ref]
    return found


def subject(bom: dict[str, object]) -> dict[str, object]:
    metadata = bom["metadata"]
    assert isinstance(metadata, dict)
    return metadata["component"]


def derived_refs(bom: dict[str, object]) -> set[str]:
    return {
        c["bom-ref"]
        for c in bom["components"]  # type: ignore[attr-defined]
        if "derived" in props(c, PropertyName.RELATION)
    }


def test_a_laundered_qwen_fails_sovereign(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # The case: Qwen2.5-7B's configuration and Qwen's tokenizer, a card that says
    # "trained from scratch", a Russian origins entry and a full RU attestation.
    with_config(domestic, QWEN_2_5_7B)
    shutil.copy(qwen_tiktoken, domestic / "qwen.tiktoken")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert "SOV005" in sovereign_rules(tmp_path)
    base = component(bom, "pkg:huggingface/Qwen/Qwen2.5-7B")
    relations = props(base, PropertyName.RELATION)
    assert "derived" in relations
    assert "detected:architecture+vocabulary" in relations
    assert base["supplier"]["name"].startswith("Alibaba Cloud")  # type: ignore[index]
    same_shape = props(base, PropertyName.DETECTED_SAME_SHAPE)[0]
    assert "Qwen/Qwen2.5-7B-Instruct" in same_shape
    # The vocabulary alone names Qwen too, from another format of it (GGUF in the database).
    assert props(tokenizer(bom), PropertyName.TOKENIZER_FAMILY) == ["qwen2 (identical, high)"]
    assert props(subject(bom), PropertyName.ARCHITECTURE_SHAPE_OF) == ["Qwen/Qwen2.5-7B (exact)"]
    # Declared ("from scratch", YandexGPT's tokenizer named) against detected: findings.
    messages = lineage_findings(tmp_path)
    assert any(
        "yet its configuration and vocabulary are Qwen/Qwen2.5-7B's (high confidence)" in m
        for m in messages
    )


def test_the_same_shape_with_a_vocabulary_of_its_own_is_reuse_not_lineage(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    # YandexGPT-5-Lite's case: Llama 3's widths, its own tokenizer and vocabulary size.
    with_config(domestic, OWN_VOCABULARY_ON_LLAMA_3)
    shutil.copy(corpus / DNA_TOKENIZER, domestic / "tokenizer.json")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "PASS"
    assert derived_refs(bom) == set()
    assert lineage_findings(tmp_path) == []
    [reuse] = props(subject(bom), PropertyName.ARCHITECTURE_SHAPE_OF)
    assert reuse.startswith("meta-llama/Meta-Llama-3-8B, ")
    assert reuse.endswith("(dimensions)")


def test_a_freshly_trained_tokenizer_matches_no_family(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    # A byte-level BPE trained here on a Russian text: a vocabulary no one published.
    trained = tokenizers.ByteLevelBPETokenizer()
    text = (corpus / "models/IlyaGusev__saiga_llama3_8b_gguf/README.md").read_text()
    trained.train_from_iterator([text] * 3, vocab_size=2000, min_frequency=1)
    trained.save(str(domestic / "tokenizer.json"))
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "PASS"
    found = tokenizer(bom)
    assert props(found, PropertyName.TOKENIZER_FAMILY) == []
    assert len(props(found, PropertyName.TOKENIZER_VOCABULARY_SHA256)) == 1
    assert derived_refs(bom) == set()


@pytest.mark.parametrize(
    ("gguf", "base"),
    [
        # llama.cpp's Llama 2 test file: Llama 2 7B's widths and Llama 2's vocabulary.
        ("ggml-vocab-llama-spm.gguf", "meta-llama/Llama-2-7b-hf"),
        # Phi-3 ships Llama 2's vocabulary on widths of Microsoft's own: the vocabulary's
        # other publisher decides.
        ("ggml-vocab-phi-3.gguf", "microsoft/Phi-3-mini-4k-instruct"),
    ],
)
def test_a_gguf_header_gives_the_shape_and_the_vocabulary(
    gguf: str, base: str, domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    shutil.copy(corpus / "gguf" / gguf, domestic / "model.gguf")
    (domestic / "config.json").unlink()
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert derived_refs(bom) == {f"pkg:huggingface/{base}"}
    # OpenLLaMA has Llama 2's shape with its own vocabulary: the vocabulary decides.


def test_a_shape_without_a_vocabulary_that_shows_whose_is_unknown_on_every_tier(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    # A Russian persona model's real GGUF header: Mistral 7B's widths and vocabulary size (two
    # chat tokens added), a vocabulary the database does not hold.
    shutil.copy(
        corpus / "gguf/rupersonaagent_model-q4_K.TRUNCATED-header-only.gguf",
        domestic / "model.gguf",
    )
    (domestic / "config.json").unlink()
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/mistralai/Mistral-7B-v0.1"}
    assert verdicts["sovereign"] == "UNKNOWN"
    assert "SOV006" in sovereign_rules(tmp_path)
    # A doubtful ancestor fails no tier: the deny list's tier is UNKNOWN on it, not FAIL.
    assert verdicts["adversary"] == "UNKNOWN"
    sarif = json.loads((tmp_path / "x.sarif").read_text())
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert "GEN002" in rules
    assert "ADV001" not in rules


def test_a_shape_matching_several_publishers_without_a_vocabulary_names_each(
    domestic: Path, tmp_path: Path
) -> None:
    # Llama 2 7B's published configuration alone: Meta's model, and OpenLLaMA's reproduction.
    with_config(domestic, LLAMA_2_7B)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {
        "pkg:huggingface/meta-llama/Llama-2-7b-hf",
        "pkg:huggingface/openlm-research/open_llama_7b",
    }
    assert verdicts["sovereign"] == "UNKNOWN"


def test_a_declared_base_of_the_same_publisher_is_not_detected_again(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    with_config(domestic, LLAMA_2_7B)
    shutil.copy(corpus / "gguf/ggml-vocab-llama-spm.gguf", domestic / "model.gguf")
    card = "---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-2-7b-chat-hf\n---\n# acme\n"
    (domestic / "README.md").write_text(card)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert derived_refs(bom) == set()
    assert "SOV001" in sovereign_rules(tmp_path)


def test_the_publisher_s_own_shape_is_not_an_ancestor(corpus: Path, tmp_path: Path) -> None:
    folder = baseline(tmp_path / "m")
    with_config(folder, LLAMA_2_7B)
    shutil.copy(corpus / "gguf/ggml-vocab-llama-spm.gguf", folder / "model.gguf")
    from tests.integration.test_scan_cli import scan

    out = tmp_path / "bom.cdx.json"
    result = scan(str(folder), "--name", "meta-llama/Llama-2-7b-hf", "--offline", "-o", str(out))
    assert result.exit_code in {0, 1, 3}, result.output
    bom = json.loads(out.read_text())
    assert "pkg:huggingface/meta-llama/Llama-2-7b-hf" not in derived_refs(bom)
    assert "pkg:huggingface/openlm-research/open_llama_7b" not in derived_refs(bom)


@pytest.mark.parametrize("stripped", ["vocab_size", "rope_theta", "num_key_value_heads"])
def test_stripping_the_configuration_does_not_hide_the_vocabulary(
    stripped: str, domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # Without the keys that make the shape exact, the tokenizer still names Qwen.
    with_config(domestic, {k: v for k, v in QWEN_2_5_7B.items() if k != stripped})
    shutil.copy(qwen_tiktoken, domestic / "qwen.tiktoken")
    verdicts, _ = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert "SOV005" in sovereign_rules(tmp_path)


# --- the shape the weights show, whatever the configuration says -------------------------


def test_weights_without_a_configuration_show_whose_they_are(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # config.json removed: Qwen2.5-0.5B's tensors and Qwen's vocabulary still name it.
    (domestic / "config.json").unlink()
    write_qwen_checkpoint(domestic / "model.safetensors")
    shutil.copy(qwen_tiktoken, domestic / "qwen.tiktoken")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert "SOV005" in sovereign_rules(tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-0.5B"}
    [shape] = props(subject(bom), PropertyName.ARCHITECTURE_SHAPE)
    assert shape == (
        "embedding 151936 x 896, 24 blocks, MLP 4864, 7 query heads per KV head "
        "(tensor shapes, model.embed_tokens.weight)"
    )
    assert any(
        "yet its weights and vocabulary are Qwen/Qwen2.5-0.5B's (high confidence)" in m
        for m in lineage_findings(tmp_path)
    )


def test_weights_alone_are_a_possible_ancestor(domestic: Path, tmp_path: Path) -> None:
    (domestic / "config.json").unlink()
    write_qwen_checkpoint(domestic / "model.safetensors")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-0.5B"}
    assert verdicts["sovereign"] == "UNKNOWN"
    assert "SOV006" in sovereign_rules(tmp_path)


def test_a_configuration_that_lies_does_not_hide_the_weights(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # A config.json declaring a depth and widths that are no published model's; the tensors
    # are Qwen2.5-0.5B's (transformers loads them, warning of unused weights).
    with_config(
        domestic,
        {
            "model_type": "llama",
            "hidden_size": 896,
            "num_hidden_layers": 23,
            "num_attention_heads": 14,
            "num_key_value_heads": 2,
            "intermediate_size": 4864,
            "vocab_size": 151936,
        },
    )
    write_qwen_checkpoint(domestic / "model.safetensors")
    shutil.copy(qwen_tiktoken, domestic / "qwen.tiktoken")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-0.5B"}
    relation = component(bom, "pkg:huggingface/Qwen/Qwen2.5-0.5B")
    assert "detected:architecture+vocabulary" in props(relation, PropertyName.RELATION)


def test_a_nudged_rope_base_does_not_launder_the_shape(domestic: Path, tmp_path: Path) -> None:
    # Qwen2.5-7B's configuration with its RoPE base raised by a tenth, no tokenizer files.
    with_config(domestic, {**QWEN_2_5_7B, "rope_theta": 1100000.0})
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "UNKNOWN"
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-7B"}
    base = component(bom, "pkg:huggingface/Qwen/Qwen2.5-7B")
    evidence = json.dumps(base)
    assert "its RoPE base 1.1e+06 is not the published one" in evidence


def test_widths_without_any_vocabulary_cannot_be_told_from_lineage(
    domestic: Path, tmp_path: Path
) -> None:
    # Llama 3's widths with a vocabulary size of its own, and no tokenizer to show the
    # vocabulary is its own: reuse and a re-sized copy look alike, so no tier passes.
    with_config(domestic, OWN_VOCABULARY_ON_LLAMA_3)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "UNKNOWN"
    assert "pkg:huggingface/meta-llama/Meta-Llama-3-8B" in derived_refs(bom)


# --- the chat template: supporting evidence, never decisive --------------------------------

#: https://huggingface.co/Qwen/Qwen3-0.6B/blob/main/config.json
QWEN_3_HALF_B = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_attention_heads": 16,
    "num_hidden_layers": 28,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rope_theta": 1000000,
    "vocab_size": 151936,
}
#: Vikhr's Qwen3-based model's chat template: Qwen3's, revised.
QVIKHR_TEMPLATE = "models/DMalakhov1__QVikhr-3-1.7B-lora/chat_template.jinja"


def test_a_publisher_s_chat_template_joins_the_evidence_of_its_shape(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    with_config(domestic, QWEN_3_HALF_B)
    shutil.copy(corpus / QVIKHR_TEMPLATE, domestic / "chat_template.jinja")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen3-0.6B"}
    base = component(bom, "pkg:huggingface/Qwen/Qwen3-0.6B")
    assert "detected:architecture+chat-template" in props(base, PropertyName.RELATION)
    # Supporting only: the shape alone is medium, and so is the ancestor.
    assert verdicts["sovereign"] == "UNKNOWN"
    assert "SOV006" in sovereign_rules(tmp_path)
    [label] = props(tokenizer(bom), PropertyName.TOKENIZER_CHAT_TEMPLATE_OF)
    assert label.startswith("Qwen/Qwen3-0.6B (near, 9")
    assert label.endswith("%, chat_template.jinja)")


def test_a_chat_template_alone_makes_no_ancestor(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    # A model of its own (its own vocabulary, its own widths) that copied Qwen3's template.
    shutil.copy(corpus / DNA_TOKENIZER, domestic / "tokenizer.json")
    shutil.copy(corpus / QVIKHR_TEMPLATE, domestic / "chat_template.jinja")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "PASS"
    assert derived_refs(bom) == set()
    assert lineage_findings(tmp_path) == []
    assert props(tokenizer(bom), PropertyName.TOKENIZER_CHAT_TEMPLATE_OF)


# --- a GGUF's names: a converter's declaration, supporting evidence only -------------------


def qwen_gguf(**names: str) -> bytes:
    """A header-only GGUF with Qwen2.5-7B's widths (llama.cpp's qwen2 keys) and ``names``."""
    widths = [
        ("qwen2.embedding_length", 3584),
        ("qwen2.block_count", 28),
        ("qwen2.attention.head_count", 28),
        ("qwen2.attention.head_count_kv", 4),
        ("qwen2.feed_forward_length", 18944),
        ("qwen2.vocab_size", 152064),
    ]
    pairs: list[tuple[str, str | int | list[str]]] = [("general.architecture", "qwen2")]
    pairs += [(f"general.{key}", value) for key, value in names.items()]
    return gguf_bytes([*pairs, *widths])


#: What llama.cpp's converter writes for Qwen/Qwen2.5-7B-Instruct: gguf-py 0.19.0's
#: Metadata.get_model_id_components("Qwen/Qwen2.5-7B-Instruct") gives basename "Qwen2.5",
#: size label "7B" and fine-tune "Instruct"; general.name is the id in title case.
QWEN_GGUF_NAMES = {
    "name": "Qwen2.5 7B Instruct",
    "basename": "Qwen2.5",
    "size_label": "7B",
    "finetune": "Instruct",
}


def test_a_gguf_naming_the_publisher_s_model_supports_its_shape(
    domestic: Path, tmp_path: Path
) -> None:
    (domestic / "config.json").unlink()
    (domestic / "model.gguf").write_bytes(qwen_gguf(**QWEN_GGUF_NAMES))
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-7B"}
    base = component(bom, "pkg:huggingface/Qwen/Qwen2.5-7B")
    assert "detected:architecture+gguf-name" in props(base, PropertyName.RELATION)
    assert verdicts["sovereign"] == "UNKNOWN"  # supporting: the ancestor stays medium
    assert set(props(subject(bom), PropertyName.GGUF_NAMES_PUBLISHED)) == {
        "Qwen/Qwen2.5-7B-Instruct (general.name)",
        "Qwen/Qwen2.5-7B-Instruct (general.basename)",
    }


def test_a_gguf_name_alone_makes_no_ancestor(domestic: Path, tmp_path: Path) -> None:
    # The names of Qwen's model on widths that are no published model's.
    (domestic / "config.json").unlink()
    content = qwen_gguf(**QWEN_GGUF_NAMES).replace(
        struct.pack("<II", 4, 28), struct.pack("<II", 4, 27), 1
    )
    (domestic / "model.gguf").write_bytes(content)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == set()
    assert props(subject(bom), PropertyName.GGUF_NAMES_PUBLISHED)
    assert verdicts["sovereign"] == "PASS"


def test_deepseek_r1_s_real_configuration_names_it(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    # DeepSeek-R1's own config.json (auto_map and all) under a card that says "from scratch".
    shutil.copy(corpus / "models/deepseek-ai__DeepSeek-R1/config.json", domestic / "config.json")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert "pkg:huggingface/deepseek-ai/DeepSeek-R1" in derived_refs(bom)
    assert verdicts["sovereign"] != "PASS"
    assert props(subject(bom), PropertyName.ARCHITECTURE_SHAPE_OF) == [
        "deepseek-ai/DeepSeek-R1 (exact)"
    ]


# --- special tokens at a publisher's ids: supporting evidence only ---------------------------

#: A LoRA on a Qwen2.5 re-upload: its tokenizer_config.json declares Qwen's added tokens.
QWEN_TOKENIZER_CONFIG = "models/datmieu204__qwen2.5-0.5b_ner_model/tokenizer_config.json"


def test_a_publisher_s_special_tokens_join_the_evidence_of_its_shape(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    with_config(domestic, QWEN_2_5_7B)
    shutil.copy(corpus / QWEN_TOKENIZER_CONFIG, domestic / "tokenizer_config.json")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    base = component(bom, "pkg:huggingface/Qwen/Qwen2.5-7B")
    assert "detected:architecture+special-tokens" in props(base, PropertyName.RELATION)
    assert verdicts["sovereign"] == "UNKNOWN"  # supporting: still medium
    [label] = props(tokenizer(bom), PropertyName.TOKENIZER_SPECIALS_OF)
    assert label.startswith("Qwen/Qwen1.5-7B (3 at its ids")


def test_special_tokens_alone_make_no_ancestor(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    shutil.copy(corpus / QWEN_TOKENIZER_CONFIG, domestic / "tokenizer_config.json")
    shutil.copy(corpus / DNA_TOKENIZER, domestic / "tokenizer.json")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == set()
    assert props(tokenizer(bom), PropertyName.TOKENIZER_SPECIALS_OF)
    assert verdicts["sovereign"] == "PASS"
