"""Layers come from the relations: lineage, tokenizer, code, datasets, libraries, files."""

from __future__ import annotations

from scanner.core.model import Component, ComponentKind, Layer, Relation, RelationKind, ScanResult
from scanner.policy.layers import component_layers

W, T, C, D, P, F = (
    Layer.WEIGHTS,
    Layer.TOKENIZER,
    Layer.CODE,
    Layer.DATASETS,
    Layer.PYTHON,
    Layer.FILES,
)


def comp(ref: str, kind: ComponentKind = ComponentKind.MODEL, layer: Layer | None = None):
    return Component(ref=ref, kind=kind, name=ref, layer=layer)


def edge(src: str, dst: str, kind: RelationKind) -> Relation:
    return Relation(src=src, dst=dst, kind=kind)


def test_every_layer_from_a_realistic_scan() -> None:
    result = ScanResult(
        subjects=("gguf",),
        components=(
            comp("gguf", layer=W),
            comp("ft", layer=W),
            comp("base", layer=W),
            comp("merge-parent", layer=W),
            comp("tok", ComponentKind.TOKENIZER, T),
            comp("code:remote", ComponentKind.CODE, C),
            comp("code:local", ComponentKind.CODE, C),
            comp("dataset:x", ComponentKind.DATASET, D),
            comp("pkg:pypi/numpy", ComponentKind.LIBRARY, P),
            comp("file:model.gguf", ComponentKind.FILE, F),
        ),
        relations=(
            edge("gguf", "ft", RelationKind.QUANTIZED),
            edge("ft", "base", RelationKind.FINETUNE),
            edge("ft", "merge-parent", RelationKind.MERGE),
            edge("gguf", "tok", RelationKind.DEPENDS_ON),
            edge("tok", "base", RelationKind.TOKENIZER_FROM),
            edge("gguf", "code:remote", RelationKind.REMOTE_CODE_FROM),
            edge("gguf", "code:local", RelationKind.DEPENDS_ON),
            edge("gguf", "dataset:x", RelationKind.TRAINED_ON),
            edge("gguf", "pkg:pypi/numpy", RelationKind.DEPENDS_ON),
            edge("gguf", "file:model.gguf", RelationKind.CONTAINS),
        ),
    )
    assert component_layers(result) == {
        "gguf": {W},
        "ft": {W},
        "base": {W, T},  # the base AND the tokenizer source
        "merge-parent": {W},
        "tok": {T},
        "code:remote": {C},
        "code:local": {C},
        "dataset:x": {D},
        "pkg:pypi/numpy": {P},
        "file:model.gguf": {F},
    }


def test_tokenizer_source_is_not_weights_unless_in_the_lineage() -> None:
    result = ScanResult(
        subjects=("m",),
        components=(
            comp("m", layer=W),
            comp("tok", ComponentKind.TOKENIZER, T),
            # A Hub model named only as tokenizer source; the builder gives it the tokenizer layer.
            comp("src", layer=T),
            comp("src-base", layer=W),
        ),
        relations=(
            edge("m", "tok", RelationKind.DEPENDS_ON),
            edge("tok", "src", RelationKind.TOKENIZER_FROM),
            edge("src", "src-base", RelationKind.FINETUNE),
        ),
    )
    layers = component_layers(result)
    assert layers["src"] == {T}
    # Not reachable from a subject through lineage: it keeps its own layer.
    assert layers["src-base"] == {W}


def test_remote_code_target_and_datasets_of_ancestors() -> None:
    result = ScanResult(
        subjects=("m",),
        components=(
            comp("m"),
            comp("base"),
            comp("repo"),
            comp("dataset:y", ComponentKind.DATASET),
        ),
        relations=(
            edge("m", "base", RelationKind.ADAPTER),
            edge("m", "repo", RelationKind.REMOTE_CODE_FROM),
            edge("base", "dataset:y", RelationKind.TRAINED_ON),
        ),
    )
    layers = component_layers(result)
    assert layers["m"] == {W}
    assert layers["base"] == {W}
    assert layers["repo"] == {C}
    assert layers["dataset:y"] == {D}


def test_lineage_is_directed_and_cycles_terminate() -> None:
    result = ScanResult(
        subjects=("m",),
        components=(comp("m"), comp("a"), comp("b"), comp("child")),
        relations=(
            edge("m", "a", RelationKind.FINETUNE),
            edge("a", "b", RelationKind.FINETUNE),
            edge("b", "a", RelationKind.MERGE),
            edge("child", "m", RelationKind.FINETUNE),  # a derivative of the subject
            edge("m", "ghost", RelationKind.FINETUNE),  # a ref with no component
        ),
    )
    layers = component_layers(result)
    assert layers["a"] == layers["b"] == {W}
    assert layers["child"] == frozenset()  # no layer of its own, not an ancestor
    assert "ghost" not in layers


def test_several_subjects() -> None:
    result = ScanResult(
        subjects=("m1", "m2"),
        components=(comp("m1"), comp("m2"), comp("shared")),
        relations=(
            edge("m1", "shared", RelationKind.FINETUNE),
            edge("m2", "shared", RelationKind.QUANTIZED),
        ),
    )
    assert component_layers(result) == {"m1": {W}, "m2": {W}, "shared": {W}}
