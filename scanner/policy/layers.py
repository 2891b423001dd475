"""Which policy layers each component counts in, derived from the relations."""

from __future__ import annotations

from collections import deque

from scanner.core.model import WEIGHTS_RELATIONS, ComponentKind, Layer, RelationKind, ScanResult

#: Layers a component of this kind always counts in, wherever it sits.
_KIND_LAYERS = {
    ComponentKind.TOKENIZER: Layer.TOKENIZER,
    ComponentKind.CODE: Layer.CODE,
    ComponentKind.DATASET: Layer.DATASETS,
    ComponentKind.LIBRARY: Layer.PYTHON,
    ComponentKind.FILE: Layer.FILES,
}
#: Layers the target of a relation counts in.
_TARGET_LAYERS = {
    RelationKind.TOKENIZER_FROM: Layer.TOKENIZER,
    RelationKind.REMOTE_CODE_FROM: Layer.CODE,
    RelationKind.TRAINED_ON: Layer.DATASETS,
}


def component_layers(result: ScanResult) -> dict[str, frozenset[Layer]]:
    """Every component's layers (possibly several; empty when it sits in none).

    The subjects (except project folders without a model, kind APPLICATION, which count in no
    layer) and everything reachable from them through lineage relations (finetune,
    adapter, quantized, merge; transitively) are WEIGHTS; tokenizer components and the targets
    of tokenizer-from are TOKENIZER; code components and remote-code-from targets CODE;
    trained-on targets and datasets DATASETS; libraries PYTHON; files FILES. A component the
    relations place nowhere keeps its own ``Component.layer``, so nothing is silently dropped.
    """
    refs = {component.ref for component in result.components}
    layers: dict[str, set[Layer]] = {ref: set() for ref in refs}
    for ref in _lineage_closure(result, refs):
        layers[ref].add(Layer.WEIGHTS)
    for component in result.components:
        kind_layer = _KIND_LAYERS.get(component.kind)
        if kind_layer is not None:
            layers[component.ref].add(kind_layer)
    for relation in result.relations:
        target_layer = _TARGET_LAYERS.get(relation.kind)
        if target_layer is not None and relation.dst in refs:
            layers[relation.dst].add(target_layer)
    for component in result.components:
        if not layers[component.ref] and component.layer is not None:
            layers[component.ref].add(component.layer)
    return {ref: frozenset(found) for ref, found in layers.items()}


def _lineage_closure(result: ScanResult, refs: set[str]) -> set[str]:
    """The subjects and all their weights ancestors."""
    bases: dict[str, list[str]] = {}
    for relation in result.relations:
        if relation.kind in WEIGHTS_RELATIONS and relation.dst in refs:
            bases.setdefault(relation.src, []).append(relation.dst)
    applications = {c.ref for c in result.components if c.kind is ComponentKind.APPLICATION}
    # A scanned project folder holds no weights: it is a subject but not in the weights layer.
    seen = {ref for ref in result.subjects if ref in refs and ref not in applications}
    queue = deque(seen)
    while queue:
        for base in bases.get(queue.popleft(), ()):
            if base not in seen:
                seen.add(base)
                queue.append(base)
    return seen
