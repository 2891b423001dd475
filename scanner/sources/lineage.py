"""Declared ancestors of a folder's model and how it derives from each."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath

from scanner.core.ids import parse_hub_id
from scanner.core.model import Evidence, Layer, RelationKind, Severity
from scanner.formats.model.hf_config import ModelConfig
from scanner.sources.folder_facts import FolderFacts
from scanner.sources.inventory_builder import InventoryBuilder

_RELATION_NAMES = {
    "finetune": RelationKind.FINETUNE,
    "adapter": RelationKind.ADAPTER,
    "quantized": RelationKind.QUANTIZED,
    "merge": RelationKind.MERGE,
}
_QUANTIZED_TAGS = frozenset({"gguf", "gptq", "awq", "exl2", "bnb", "4-bit", "8-bit", "mlx"})
#: Repo-name endings that re-uploaders use for quantized copies (``…-GGUF``, ``…-AWQ``, …).
_QUANTIZED_NAME = re.compile(r"[-_.](gguf|gptq|awq|exl2|mlx|bnb-4bit|4bit|8bit|int4|int8)$", re.I)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def add_lineage(builder: InventoryBuilder, subject_ref: str, facts: FolderFacts) -> None:
    """Declared ancestors: card base_model, adapter base, GGUF source/base, config hints."""
    declared = _card_bases(builder, facts)
    explicit = _explicit_relation(builder, facts)
    adapter_base = _adapter_base(builder, facts)
    inferred = _inferred_relation(facts, len(declared), builder.identity.name)
    for ref, evidence in declared:
        if explicit is not None:
            kind = explicit
        elif adapter_base is not None and adapter_base[0] == ref:
            kind = RelationKind.ADAPTER
        else:
            kind = inferred
        builder.relate(subject_ref, ref, kind, evidence)
    if adapter_base is not None and adapter_base[0] not in {ref for ref, _ in declared}:
        builder.relate(subject_ref, adapter_base[0], RelationKind.ADAPTER, adapter_base[1])
    _gguf_lineage(builder, subject_ref, facts)
    known = {rel.dst for rel in builder.relations.values() if rel.src == subject_ref}
    for ref, evidence in _config_hints(builder, facts):
        if _in_pipeline_component(facts, evidence.location):
            # A diffusers pipeline's text encoder or safety checker names where *its* weights
            # come from: a sub-model the pipeline includes, not a base it was tuned from.
            builder.relate(subject_ref, ref, RelationKind.SUBMODEL, evidence)
        elif ref in known:
            builder.relate(subject_ref, ref, _relation_to(builder, subject_ref, ref), evidence)
        else:
            builder.relate(subject_ref, ref, inferred, evidence)
            known.add(ref)


def _in_pipeline_component(facts: FolderFacts, location: str) -> bool:
    """Whether a config lies in the subfolder of a component of the folder's diffusers pipeline."""
    index = facts.model_index
    if index is None or "/" not in location:
        return False
    folder = location.split("/", 1)[0]
    return any(component.name == folder for component in index.components)


def _relation_to(builder: InventoryBuilder, src: str, dst: str) -> RelationKind:
    for s, d, kind in builder.relations:
        if s == src and d == dst:
            return kind
    raise KeyError(dst)


def _card_bases(builder: InventoryBuilder, facts: FolderFacts) -> list[tuple[str, Evidence]]:
    card = facts.card
    if card is None:
        return []
    found = []
    for value in card.base_models:
        evidence = facts.card_evidence("base_model", value)
        found.append((builder.model_ref(value, evidence, "README.md"), evidence))
    return found


def _explicit_relation(builder: InventoryBuilder, facts: FolderFacts) -> RelationKind | None:
    card = facts.card
    if card is None or not card.base_model_relation:
        return None
    kind = _RELATION_NAMES.get(card.base_model_relation.strip().lower())
    if kind is None:
        builder.issue(
            "README.md",
            f"unknown base_model_relation {card.base_model_relation!r}; relation inferred instead",
        )
    return kind


def _adapter_base(builder: InventoryBuilder, facts: FolderFacts) -> tuple[str, Evidence] | None:
    adapter = facts.adapter
    if adapter is None:
        return None
    if not adapter.base_model_name_or_path:
        builder.issue(
            "adapter_config.json",
            "adapter declares no base_model_name_or_path; its base stays unknown",
            Severity.MEDIUM,
        )
        return None
    evidence = Evidence(
        location="adapter_config.json",
        field="base_model_name_or_path",
        value=adapter.base_model_name_or_path,
        method="adapter-config",
    )
    ref = builder.model_ref(adapter.base_model_name_or_path, evidence, "adapter_config.json")
    if adapter.revision and _COMMIT.match(adapter.revision.lower()):
        base = builder.components[ref]
        builder.components[ref] = (
            replace(
                base,
                version=adapter.revision.lower(),
                purl=f"{base.purl}@{adapter.revision.lower()}",
            )
            if base.purl and base.version is None
            else base
        )
    return ref, evidence


def _inferred_relation(facts: FolderFacts, base_count: int, name: str) -> RelationKind:
    """The Hub's own inference when the card does not say: adapter, merge, quantized, finetune.

    ``name`` is the model's own name: re-uploaders mark quantized copies in it (``…-GGUF``).
    """
    if facts.adapter is not None:
        return RelationKind.ADAPTER
    if base_count > 1:
        return RelationKind.MERGE
    config = facts.config()
    tags = {tag.lower() for tag in (facts.card.tags if facts.card else ())}
    if (
        (config is not None and config.quantization is not None)
        or facts.quantize is not None
        or _QUANTIZED_NAME.search(name)
        or facts.gguf
        or tags & _QUANTIZED_TAGS
    ):
        return RelationKind.QUANTIZED
    return RelationKind.FINETUNE


def _gguf_lineage(builder: InventoryBuilder, subject_ref: str, facts: FolderFacts) -> None:
    """A GGUF's source repo is what it was quantized from; its base models are that one's."""
    for path, meta in facts.gguf:
        location = path.as_posix()
        source_ref: str | None = None
        for field_name, value in (
            ("general.source.huggingface.repository", meta.source_hf_repository),
            ("general.source.repo_url", meta.source_repo_url),
            ("general.source.url", meta.source_url),
        ):
            hub_id = parse_hub_id(value) if value else None
            if hub_id is not None and value is not None:
                evidence = Evidence(
                    location=location, field=field_name, value=value, method="gguf-metadata"
                )
                source_ref = builder.hub_model(hub_id, evidence, Layer.WEIGHTS)
                builder.relate(subject_ref, source_ref, RelationKind.QUANTIZED, evidence)
                break
        parent = source_ref or subject_ref
        bases = meta.base_models
        for index, base in enumerate(bases):
            candidate = next((v for v in (base.repo_url, base.url) if v and parse_hub_id(v)), None)
            if candidate is None and base.organization and base.name:
                candidate = f"{base.organization}/{base.name}"
            if candidate is None:
                continue
            evidence = Evidence(
                location=location,
                field=f"general.base_model.{index}",
                value=candidate,
                method="gguf-metadata",
            )
            ref = builder.model_ref(candidate, evidence, location)
            kind = RelationKind.MERGE if len(bases) > 1 else RelationKind.FINETUNE
            if parent == subject_ref and source_ref is None:
                kind = RelationKind.MERGE if len(bases) > 1 else RelationKind.QUANTIZED
            builder.relate(parent, ref, kind, evidence)


def _config_hints(builder: InventoryBuilder, facts: FolderFacts) -> list[tuple[str, Evidence]]:
    """``_name_or_path`` values, and the ``model_name_or_path`` a quantizer read, that name
    another Hub repo: weaker lineage evidence."""
    own = builder.identity.hub_id
    hints: list[tuple[str, Evidence]] = []
    named = [
        (path, field, value)
        for path, config in facts.configs
        for field, value in _name_or_paths(config)
    ]
    if facts.quantize is not None and facts.quantize.source_model:
        named.append(
            (
                PurePosixPath("quantize_config.json"),
                "model_name_or_path",
                facts.quantize.source_model,
            )
        )
    for path, field_name, value in named:
        hub_id = parse_hub_id(value) if value else None
        if hub_id is None or (own is not None and hub_id.repo_id == own.repo_id):
            continue
        evidence = Evidence(
            location=path.as_posix(), field=field_name, value=value, method="config-hint"
        )
        hints.append((builder.hub_model(hub_id, evidence, Layer.WEIGHTS), evidence))
    return hints


def _name_or_paths(config: ModelConfig, prefix: str = "") -> list[tuple[str, str]]:
    found = [(f"{prefix}_name_or_path", config.name_or_path)] if config.name_or_path else []
    quantized_from = config.quantization.source_model if config.quantization else None
    if quantized_from:
        found.append((f"{prefix}quantization_config.model_name_or_path", quantized_from))
    for key, sub in config.sub_configs:
        found += _name_or_paths(sub, f"{prefix}{key}.")
    return found
