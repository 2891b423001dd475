"""The ``cdx:ai:*`` properties cdxgen's AI rules read (``cdx-audit``, its ``ai-bom`` rule set),
where a fact of ours means the same: beside sovscan's own properties, never instead of them.

- ``cdx:ai:kind`` ``model`` on every model and adapter;
- ``cdx:ai:variant`` from the model's declared lineage: finetune → ``fine-tuned``, merge →
  ``merged``, adapter → ``adapter``, quantized → ``quantized`` (a relation only a fingerprint
  found is no declaration, so it gives none);
- ``cdx:ai:quantization`` and ``cdx:ai:parameterCount`` from the model card's facts;
- ``cdx:ai:artifactFormat`` (``gguf``, ``safetensors``, ``onnx``) when the model's weight files
  are all of one format;
- ``cdx:ai:source`` ``local-artifact`` for a model scanned from local files.
"""

from __future__ import annotations

from collections.abc import Iterable

from scanner.core.model import Component, ComponentKind

#: Our lineage relation → cdxgen's variant.
VARIANTS = {
    "finetune": "fine-tuned",
    "merge": "merged",
    "adapter": "adapter",
    "quantized": "quantized",
}
#: Weight file suffix → cdxgen's artifact format.
FORMATS = {".gguf": "gguf", ".safetensors": "safetensors", ".onnx": "onnx"}


def ai_properties(
    component: Component,
    lineage: Iterable[str],
    weight_files: Iterable[str],
    *,
    local: bool,
) -> list[tuple[str, str]]:
    """The ``cdx:ai:*`` pairs of ``component``: ``lineage`` holds the kinds of its declared
    relations to its bases, ``weight_files`` the paths of the weight files it contains."""
    if component.kind not in {ComponentKind.MODEL, ComponentKind.ADAPTER}:
        return []
    pairs = [("cdx:ai:kind", "model")]
    pairs += [("cdx:ai:variant", VARIANTS[k]) for k in sorted(set(lineage)) if k in VARIANTS]
    card = component.model_card
    if card is not None and card.quantization:
        pairs.append(("cdx:ai:quantization", card.quantization))
    if card is not None and card.parameter_count is not None:
        pairs.append(("cdx:ai:parameterCount", str(card.parameter_count)))
    formats = {
        FORMATS.get("." + path.rsplit(".", 1)[-1].lower()) for path in weight_files if "." in path
    }
    if len(formats) == 1 and None not in formats:
        pairs.append(("cdx:ai:artifactFormat", str(formats.pop())))
    if local:
        pairs.append(("cdx:ai:source", "local-artifact"))
    return pairs
