"""A transformer's shape — widths, depth, heads, vocabulary size, RoPE base — read alike from a
``config.json`` and from a GGUF file's ``<arch>.*`` keys, so that the same model's shape reads
the same whichever file it ships in.

The shape says which published configuration a model copies; it does not say whose weights it
holds (a model trained from scratch on Llama's architecture has Llama's widths). Readers take
parsed values and never execute anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

#: ``config.json`` keys of each dimension, in the spellings of the transformers model types
#: (Llama/Qwen/Mistral/Gemma, GPT-2, GPT-NeoX, Falcon, Phi, MPT, T5-style ``d_model``).
_CONFIG_KEYS: Final = {
    "hidden_size": ("hidden_size", "n_embd", "d_model", "model_dim"),
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "kv_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"),
    "intermediate_size": ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "rope_theta": ("rope_theta", "rotary_emb_base", "rope_base"),
    "experts": ("num_local_experts", "num_experts", "n_routed_experts"),
    "context": ("max_position_embeddings", "n_positions", "seq_length", "max_seq_len"),
}
#: Largest value taken for any dimension (a hostile config may say anything).
_MAX_DIMENSION: Final = 1 << 40


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchitectureShape:
    """The dimensions that identify a published transformer configuration."""

    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    """Key-value heads (grouped-query attention); ``heads`` when not declared."""
    intermediate_size: int
    """The MLP's width; four times ``hidden_size`` when not declared (GPT-2, GPT-NeoX, Falcon)."""
    vocab_size: int | None = None
    rope_theta: float | None = None
    experts: int = 0
    context: int | None = None
    """Longest context declared: informative, not part of the identity (it is often raised)."""

    @property
    def dimensions(self) -> tuple[int, int, int, int, int, int]:
        """The widths and depth alone: what reusing an architecture copies."""
        return (
            self.hidden_size,
            self.layers,
            self.heads,
            self.kv_heads,
            self.intermediate_size,
            self.experts,
        )

    @property
    def generic(self) -> bool:
        """Whether the widths are the textbook defaults (full attention, an MLP four times the
        hidden size, no experts), which GPT-2, BERT and Pythia share: such widths alone identify
        no configuration."""
        return (
            self.kv_heads == self.heads
            and self.intermediate_size == 4 * self.hidden_size
            and not self.experts
        )

    def describe(self) -> str:
        """The shape in words: ``hidden 4096, 32 layers, 32 heads (8 KV), MLP 14336, …``."""
        parts = [
            f"hidden {self.hidden_size}",
            f"{self.layers} layers",
            f"{self.heads} heads ({self.kv_heads} KV)",
            f"MLP {self.intermediate_size}",
        ]
        if self.experts:
            parts.append(f"{self.experts} experts")
        if self.vocab_size is not None:
            parts.append(f"vocabulary {self.vocab_size}")
        if self.rope_theta is not None:
            parts.append(f"RoPE base {self.rope_theta:g}")
        return ", ".join(parts)


def shape_from_config(document: Mapping[str, object]) -> ArchitectureShape | None:
    """The shape a ``config.json`` object declares; None without its widths and depth."""
    values = {
        name: next((v for key in keys if (v := _number(document.get(key))) is not None), None)
        for name, keys in _CONFIG_KEYS.items()
    }
    if document.get("multi_query") is True and values["kv_heads"] is None:
        values["kv_heads"] = 1.0  # Falcon's early configs
    return _shape(values)


def shape_from_gguf(
    values: Mapping[str, object], architecture: str | None, vocab_size: int | None
) -> ArchitectureShape | None:
    """The shape a GGUF file's ``<architecture>.*`` keys declare (its vocabulary size is the
    count of its tokens); None without its widths and depth."""
    if not architecture:
        return None

    def value(key: str) -> float | None:
        return _number(values.get(f"{architecture}.{key}"))

    return _shape(
        {
            "hidden_size": value("embedding_length"),
            "layers": value("block_count"),
            "heads": value("attention.head_count"),
            "kv_heads": value("attention.head_count_kv"),
            "intermediate_size": value("feed_forward_length"),
            "vocab_size": value("vocab_size") or _number(vocab_size),
            "rope_theta": value("rope.freq_base"),
            "experts": value("expert_count"),
            "context": value("context_length"),
        }
    )


def _shape(values: Mapping[str, float | None]) -> ArchitectureShape | None:
    hidden, layers, heads = values["hidden_size"], values["layers"], values["heads"]
    if hidden is None or layers is None or heads is None:
        return None
    if not (hidden.is_integer() and layers.is_integer() and heads.is_integer()):
        return None

    def whole(name: str) -> int | None:
        found = values.get(name)
        return int(found) if found is not None and found.is_integer() else None

    return ArchitectureShape(
        hidden_size=int(hidden),
        layers=int(layers),
        heads=int(heads),
        kv_heads=whole("kv_heads") or int(heads),
        intermediate_size=whole("intermediate_size") or 4 * int(hidden),
        vocab_size=whole("vocab_size"),
        rope_theta=values.get("rope_theta"),
        experts=whole("experts") or 0,
        context=whole("context"),
    )


def _number(value: object) -> float | None:
    """A positive number within the caps; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value <= _MAX_DIMENSION:
        return None
    return float(value)
