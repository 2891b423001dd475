"""cdxgen's AI property names, filled only with facts of the same meaning."""

from __future__ import annotations

from scanner.core.model import Component, ComponentKind, ModelCardFacts
from scanner.sbom.cdx_ai_properties import ai_properties

GGUF_MODEL = Component(
    ref="model:m",
    kind=ComponentKind.MODEL,
    name="m",
    model_card=ModelCardFacts(quantization="Q4_K_M", parameter_count=8_030_261_248),
)


def test_a_local_quantized_gguf_model() -> None:
    pairs = ai_properties(GGUF_MODEL, ["quantized", "derived"], ["a.gguf", "b.GGUF"], local=True)
    assert pairs == [
        ("cdx:ai:kind", "model"),
        ("cdx:ai:variant", "quantized"),  # "derived" (a fingerprint) declares nothing
        ("cdx:ai:quantization", "Q4_K_M"),
        ("cdx:ai:parameterCount", "8030261248"),
        ("cdx:ai:artifactFormat", "gguf"),
        ("cdx:ai:source", "local-artifact"),
    ]


def test_mixed_or_unknown_formats_and_non_models_say_nothing() -> None:
    mixed = ai_properties(GGUF_MODEL, [], ["a.gguf", "b.safetensors"], local=False)
    assert not [p for p in mixed if p[0] == "cdx:ai:artifactFormat"]
    pickled = ai_properties(GGUF_MODEL, [], ["pytorch_model.bin"], local=False)
    assert not [p for p in pickled if p[0] == "cdx:ai:artifactFormat"]
    library = Component(ref="pkg:pypi/x@1", kind=ComponentKind.LIBRARY, name="x")
    assert ai_properties(library, ["finetune"], [], local=True) == []
