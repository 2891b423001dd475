"""A transformer's shape — widths, depth, heads, vocabulary size, RoPE base — read alike from a
``config.json`` and from a GGUF file's ``<arch>.*`` keys, so that the same model's shape reads
the same whichever file it ships in.

The shape says which published configuration a model copies; it does not say whose weights it
holds (a model trained from scratch on Llama's architecture has Llama's widths). Readers take
parsed values and never execute anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from scanner.formats.model.safetensors import TensorLayout

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

    @property
    def identifying(self) -> bool:
        """Whether the widths and depth alone tell configurations apart (not ``generic``)."""
        return not self.generic

    def agrees_with(self, published: ArchitectureShape) -> bool:
        """Whether the widths and depth are ``published``'s."""
        return self.dimensions == published.dimensions

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
        found = values.get(f"{architecture}.{key}")
        if isinstance(found, tuple) and found:  # per-layer values (llama.cpp accepts arrays)
            numbers = [_number(item) for item in found]
            return max(numbers) if None not in numbers else None  # type: ignore[type-var]
        return _number(found)

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


#: Tensor names (their endings) of a language model's token embedding, ``[vocabulary, hidden]``.
_EMBEDDINGS: Final = (
    "embed_tokens.weight",  # Llama, Qwen, Mistral, Gemma, Phi-3, OPT
    "wte.weight",  # GPT-2, GPT-J, StarCoder
    "embed_in.weight",  # GPT-NeoX, Pythia
    "word_embeddings.weight",  # Falcon, BLOOM, ChatGLM, BERT
    "tok_embeddings.weight",  # InternLM2, Meta's original checkpoints
)
#: A block's MLP input projection, and whether its rows (``[mlp, hidden]``) or columns
#: (GPT-2's Conv1D, ``[hidden, mlp]``) are the MLP's width; fused gate+up halves it.
_MLP_INPUTS: Final = (
    ("mlp.gate_proj.weight", "rows", 1),
    ("mlp.up_proj.weight", "rows", 1),
    ("feed_forward.w1.weight", "rows", 1),
    ("mlp.fc1.weight", "rows", 1),
    ("mlp.dense_h_to_4h.weight", "rows", 1),
    ("mlp.c_fc.weight", "columns", 1),
    ("mlp.gate_up_proj.weight", "rows", 2),
    ("intermediate.dense.weight", "rows", 1),  # BERT
    ("block_sparse_moe.experts.0.w1.weight", "rows", 1),  # Mixtral: each expert's width
    ("mlp.experts.0.gate_proj.weight", "rows", 1),  # Qwen-MoE, DeepSeek-MoE
)
#: A block's query and key projections (``[heads * head size, hidden]``).
_QUERY_KEY: Final = (
    ("self_attn.q_proj.weight", "self_attn.k_proj.weight"),
    ("attention.wq.weight", "attention.wk.weight"),
    ("attn.q_proj.weight", "attn.k_proj.weight"),
    ("attention.self.query.weight", "attention.self.key.weight"),  # BERT
)
#: Fused query-key-value projections, whose query part is ``hidden`` wide and whose key and
#: value parts are equal: rows (``[q + 2kv, hidden]``) or GPT-2's columns.
_FUSED_QKV: Final = (
    ("self_attn.qkv_proj.weight", "rows"),
    ("self_attention.query_key_value.weight", "rows"),
    ("attention.query_key_value.weight", "rows"),
    ("attention.wqkv.weight", "rows"),
    ("attn.c_attn.weight", "columns"),
)
#: Most (embedding, stack) pairings a checkpoint's tensors are read as.
MAX_TENSOR_SHAPES: Final = 8
_EXPERT: Final = re.compile(r"(?:^|\.)experts\.(\d{1,6})\.")


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorShape:
    """A language model's shape as its weights' tensor shapes show it, where no configuration
    declares it: the embedding's ``[vocabulary, hidden]``, the number of blocks, the MLP's
    width and the ratio of query to key-value heads (when the names are the usual ones).

    The head count itself is not in the shapes (the head size is not), nor the RoPE base."""

    hidden_size: int
    layers: int
    vocab_size: int
    intermediate_size: int | None = None
    """The MLP's width (each expert's in a mixture of experts); None when its tensors are
    quantized, fused in an unknown way or unnamed."""
    heads_per_kv_head: Fraction | None = None
    """Query heads per key-value head, from the projections' widths."""
    experts: int = 0
    rope_theta: None = None
    embedding: str = ""
    """The embedding tensor's name."""

    @property
    def identifying(self) -> bool:
        """Whether the widths and depth alone tell configurations apart: the MLP's width and
        the heads' grouping are known and not the textbook ones."""
        if self.intermediate_size is None or self.heads_per_kv_head is None:
            return False
        return not (
            self.heads_per_kv_head == 1
            and self.intermediate_size == 4 * self.hidden_size
            and not self.experts
        )

    def agrees_with(self, published: ArchitectureShape) -> bool:
        """Whether nothing the tensors show differs from ``published``'s widths and depth
        (a mixture of experts' MLP width is each expert's, not compared)."""
        return (
            self.hidden_size == published.hidden_size
            and self.layers == published.layers
            and self.experts == published.experts
            and (
                self.intermediate_size is None
                or self.experts > 0
                or self.intermediate_size == published.intermediate_size
            )
            and (
                self.heads_per_kv_head is None
                or self.heads_per_kv_head == Fraction(published.heads, published.kv_heads)
            )
        )

    def describe(self) -> str:
        """The shape in words: ``embedding 152064 x 3584, 28 blocks, MLP 18944, …``."""
        parts = [f"embedding {self.vocab_size} x {self.hidden_size}", f"{self.layers} blocks"]
        if self.intermediate_size is not None:
            parts.append(f"MLP {self.intermediate_size}")
        if self.heads_per_kv_head is not None:
            parts.append(f"{self.heads_per_kv_head} query heads per KV head")
        if self.experts:
            parts.append(f"{self.experts} experts")
        return ", ".join(parts) + f" (tensor shapes, {self.embedding})"


def shape_from_tensors(layouts: Iterable[TensorLayout]) -> TensorShape | None:
    """The first of ``shapes_from_tensors``; None when there is none."""
    return next(iter(shapes_from_tensors(layouts)), None)


def shapes_from_tensors(layouts: Iterable[TensorLayout]) -> list[TensorShape]:
    """The shapes the tensors of one checkpoint (its shards' layouts together) may show: each
    ``[vocabulary, hidden]`` embedding with each stack of blocks under its prefix, the deepest
    first (a stack added to mislead the count stands beside the real one, and the caller
    matches each)."""
    shapes: dict[str, tuple[int, ...]] = {}
    stacks: dict[str, set[int]] = {}
    for layout in layouts:
        shapes.update(layout.shapes)
        for stack, indices in layout.stacks:
            stacks.setdefault(stack, set()).update(indices)
    candidates = []
    for name, shape in shapes.items():
        ending = next((e for e in _EMBEDDINGS if name == e or name.endswith("." + e)), None)
        if ending is None or len(shape) != 2 or not all(shape):
            continue
        prefix = name[: -len(ending)]
        for container in ("embeddings.", "embedding."):  # BERT's, ChatGLM's
            prefix = prefix.removesuffix(container)
        candidates += [
            (len(stacks[stack]), shape[0], name, stack)
            for stack in stacks
            if stack.startswith(prefix)
        ]
    found = []
    for layers, _, embedding, stack in sorted(candidates, reverse=True)[:MAX_TENSOR_SHAPES]:
        vocab_size, hidden = shapes[embedding]
        block = {
            name[len(stack) + 3 :]: shape
            for name, shape in shapes.items()
            if name.startswith(stack + ".0.")
        }
        experts = {int(m[1]) for name in block if (m := _EXPERT.search(name))}
        found.append(
            TensorShape(
                hidden_size=hidden,
                layers=layers,
                vocab_size=vocab_size,
                intermediate_size=_mlp_width(block, hidden),
                heads_per_kv_head=_heads_per_kv_head(block, hidden),
                experts=len(experts),
                embedding=embedding,
            )
        )
    return found


def _mlp_width(block: Mapping[str, tuple[int, ...]], hidden: int) -> int | None:
    for name, axis, fused in _MLP_INPUTS:
        shape = block.get(name)
        if shape is None or len(shape) != 2:
            continue
        width, other = (shape[0], shape[1]) if axis == "rows" else (shape[1], shape[0])
        if other == hidden and width % fused == 0:
            return width // fused
    return None


def _heads_per_kv_head(block: Mapping[str, tuple[int, ...]], hidden: int) -> Fraction | None:
    for query_name, key_name in _QUERY_KEY:
        query, key = block.get(query_name), block.get(key_name)
        if query and key and len(query) == len(key) == 2 and key[0] and query[1] == hidden:
            return Fraction(query[0], key[0])
    for name, axis in _FUSED_QKV:
        shape = block.get(name)
        if shape is None or len(shape) != 2:
            continue
        total, other = (shape[0], shape[1]) if axis == "rows" else (shape[1], shape[0])
        key_width, odd = divmod(total - hidden, 2)
        if other == hidden and key_width > 0 and not odd:
            return Fraction(hidden, key_width)
    return None
