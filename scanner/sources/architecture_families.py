"""Which published model configurations a model's shape copies: its widths, depth, heads,
vocabulary size and RoPE base matched against a database of published ``config.json`` shapes
(``sources/data/architecture_families.json``), each with its Hub repo and source.

A shape is weak evidence on its own. Models trained from scratch reuse popular architectures
unchanged (OpenLLaMA has Llama's widths and vocabulary size; YandexGPT-5-Lite has Llama 3's
widths with a vocabulary of its own), and several publishers' models share one shape. So a
match says only what the shape copies: ``exact`` (the widths, depth, vocabulary size and RoPE
base of the members) or ``dimensions`` (the widths and depth alone: architecture reuse). Whose
weights a model holds is decided with the tokenizer's fingerprint (``detected_lineage``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from scanner.core.detection import ARCHITECTURE_FINGERPRINT
from scanner.formats.model.architecture_shape import ArchitectureShape, TensorShape

#: The ``Evidence.method`` of a fact found by a shape; its ``field`` is
#: ``architecture:<level>:<confidence>``.
EVIDENCE_METHOD: Final = ARCHITECTURE_FINGERPRINT
#: Tokens a model may add to a published vocabulary (chat markers, a padding token) and still
#: have its shape: Hermes-style fine-tunes of Mistral declare 32,002 for Mistral's 32,000.
ADDED_TOKENS_ALLOWED: Final = 128
_DATA: Final = "architecture_families.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedShape:
    """One published configuration of the database."""

    id: str
    repo: str
    """The Hub repo (``ORG/NAME``) whose ``config.json`` this is."""
    shape: ArchitectureShape
    config: str
    """The URL of the configuration."""
    source: str
    """Where its values were read (a package, version and path)."""
    as_of: str

    @property
    def publisher(self) -> str:
        """The Hub namespace that published it."""
        return self.repo.partition("/")[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchitectureMatch:
    """The published configurations a shape copies."""

    level: str
    """``exact`` (widths, depth, vocabulary size and RoPE base) or ``dimensions`` (widths and
    depth only: the architecture is reused)."""
    members: tuple[PublishedShape, ...]
    """Every published configuration of that shape (those of its RoPE base when some have
    it), in the database's order (a publisher's base model before its other versions)."""
    note: str = ""
    """What differs from the members despite the match (a RoPE base none of them has)."""

    @property
    def publishers(self) -> tuple[str, ...]:
        """The namespaces that published the shape, in order."""
        return tuple(dict.fromkeys(member.publisher for member in self.members))

    def of(self, publisher: str) -> tuple[PublishedShape, ...]:
        """The members ``publisher`` published."""
        return tuple(m for m in self.members if m.publisher.lower() == publisher.lower())

    def label(self) -> str:
        """The first model of each publisher of the shape, and the level."""
        firsts = [self.of(publisher)[0].repo for publisher in self.publishers]
        more = f" and {len(firsts) - 3} more publishers" if len(firsts) > 3 else ""
        return f"{', '.join(firsts[:3])}{more} ({self.level})"

    def describe(self, members: tuple[PublishedShape, ...] | None = None) -> str:
        """One sentence: what the shape copies, with the repos and the source."""
        chosen = members or self.members
        first = chosen[0]
        names = ", ".join(m.repo for m in chosen[:4]) + (
            f" and {len(chosen) - 4} more" if len(chosen) > 4 else ""
        )
        what = (
            "its shape is that of"
            if self.level == "exact"
            else "its widths and depth (not its vocabulary size) are those of"
        )
        note = f"; {self.note}" if self.note else ""
        return f"{what} {names} ({first.shape.describe()}; read from {first.source}){note}"


def match_shape(
    shape: ArchitectureShape | TensorShape, shapes: tuple[PublishedShape, ...] | None = None
) -> ArchitectureMatch | None:
    """The published configurations ``shape`` copies; None when it copies none.

    ``exact`` needs the widths, depth and vocabulary size. The RoPE base only narrows the
    members down to those of the same base when there are some: fine-tunes raise it to stretch
    the context (CodeLlama, Qwen2.5-1M), and a changed base must not hide whose weights a
    model holds. Widths that do not tell configurations
    apart (``identifying`` False: textbook widths, or tensors that do not show them) count only
    with the vocabulary size."""
    known = load_shapes() if shapes is None else shapes
    same = tuple(m for m in known if shape.agrees_with(m.shape))
    if not same:
        return None
    exact = tuple(m for m in same if _same_vocabulary(m.shape, shape.vocab_size))
    if exact:
        same_rope = tuple(m for m in exact if _same_rope(m.shape, shape.rope_theta))
        note = (
            ""
            if same_rope or shape.rope_theta is None
            else f"its RoPE base {shape.rope_theta:g} is not the published one"
        )
        return ArchitectureMatch(level="exact", members=same_rope or exact, note=note)
    if not shape.identifying:
        return None
    return ArchitectureMatch(level="dimensions", members=same)


def _same_vocabulary(published: ArchitectureShape, vocab_size: int | None) -> bool:
    """The vocabulary size is the published one, give or take ``ADDED_TOKENS_ALLOWED`` added
    tokens (it must be declared)."""
    if vocab_size is None or published.vocab_size is None:
        return False
    return 0 <= vocab_size - published.vocab_size <= ADDED_TOKENS_ALLOWED


def _same_rope(published: ArchitectureShape, rope_theta: float | None) -> bool:
    """The RoPE base is the published one, when both declare one."""
    return (
        rope_theta is None
        or published.rope_theta is None
        or abs(rope_theta - published.rope_theta) <= 1e-6 * published.rope_theta
    )


@cache
def load_shapes() -> tuple[PublishedShape, ...]:
    """The database shipped with sovscan."""
    text = resources.files("scanner.sources.data").joinpath(_DATA).read_text(encoding="utf-8")
    return parse_shapes(json.loads(text))


def parse_shapes(document: object) -> tuple[PublishedShape, ...]:
    """The shapes of a database document (as written by the build script)."""
    if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
        raise TypeError("not an architecture database: no 'shapes' list")
    try:
        source, as_of = str(document["source"]), str(document["as_of"])
        return tuple(_published(entry, source, as_of) for entry in document["shapes"])
    except KeyError as missing:
        raise TypeError(f"an architecture database entry lacks {missing}") from None


def _published(entry: dict[str, object], source: str, as_of: str) -> PublishedShape:
    def whole(key: str) -> int:
        value = entry[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{entry.get('repo')}: {key} is not an integer")
        return value

    rope = entry.get("rope_theta")
    return PublishedShape(
        id=str(entry["id"]),
        repo=str(entry["repo"]),
        shape=ArchitectureShape(
            hidden_size=whole("hidden_size"),
            layers=whole("layers"),
            heads=whole("heads"),
            kv_heads=whole("kv_heads"),
            intermediate_size=whole("intermediate_size"),
            vocab_size=whole("vocab_size"),
            rope_theta=float(rope) if isinstance(rope, int | float) else None,
            experts=whole("experts"),
            context=whole("context"),
        ),
        config=str(entry["config"]),
        source=str(entry.get("source") or source),
        as_of=as_of,
    )
